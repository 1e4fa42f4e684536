"""The fused ``linear_relu`` op and the Linear + ReLU fusion inside ``nn.Sequential``.

The fused op must give exactly what ``relu(linear(...))`` gives, forward and backward, with and
without the compiled kernels, and agree with PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import F, nn
from chainrule.backend import jit as _jit
from chainrule.kernels import gemm
from chainrule.kernels import relu as relu_kernel


def _numpy_kernels(monkeypatch):
    for name in ("bias_relu", "relu_grad"):
        monkeypatch.setattr(_jit, name, None)


def _data(rng, n, n_in, n_out, dtype, *, batch_last=False, bias=True):
    x = rng.standard_normal((n, n_in)).astype(dtype)
    if batch_last:  # a Linear's output: (in, N) in memory behind the (N, in) view
        x = np.ascontiguousarray(x.T).T
    w = (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(dtype)
    b = rng.standard_normal(n_out).astype(dtype) if bias else None
    return x, w, b


def _run(fn, x, w, b, g):
    """Output and input/weight/bias gradients of ``fn`` for the upstream gradient ``g``."""
    leaves = [cr.tensor(a, requires_grad=True) for a in (x, w, b) if a is not None]
    y = fn(*leaves)
    y.backward(cr.tensor(g))
    return [y.numpy().copy()] + [t.grad.numpy().copy() for t in leaves]


def _unfused(x, w, b=None):
    return F.relu(F.linear(x, w, b))


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_last", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("n", [5, 128])  # 128 x 96 goes through the recycled-array paths
def test_linear_relu_equals_linear_then_relu_exactly(rng, monkeypatch, compiled, dtype,
                                                     batch_last, bias, n):
    if not compiled:
        _numpy_kernels(monkeypatch)
    x, w, b = _data(rng, n, 40, 96, dtype, batch_last=batch_last, bias=bias)
    g = rng.standard_normal((n, 96)).astype(dtype)
    g = np.ascontiguousarray(g.T).T if batch_last else g
    fused = _run(F.linear_relu, x, w, b, g)
    reference = _run(_unfused, x, w, b, g)
    assert fused[0].dtype == dtype
    assert (fused[0] == 0).any() and (fused[0] > 0).any()
    for a, r in zip(fused, reference, strict=True):
        np.testing.assert_array_equal(a, r)


@pytest.mark.skipif(_jit.bias_relu is None, reason="numba not installed or CHAINRULE_JIT=0")
@pytest.mark.fast_kernels
def test_compiled_kernels_equal_numpy_path_with_nan_and_inf(rng, monkeypatch):
    x, w, b = _data(rng, 64, 30, 50, np.float32, batch_last=True)
    x[3, 4] = np.nan  # NaN pre-activations stay NaN, as np.maximum keeps them
    g = np.ascontiguousarray(rng.standard_normal((50, 64)).astype(np.float32)).T
    g[0, 0] = np.inf  # masked where y <= 0: 0 there, on both paths
    compiled = _run(F.linear_relu, x, w, b, g)
    _numpy_kernels(monkeypatch)
    with np.errstate(invalid="ignore"):
        reference = _run(F.linear_relu, x, w, b, g)
    assert np.isnan(compiled[0]).any()
    for a, r in zip(compiled, reference, strict=True):
        np.testing.assert_array_equal(a, r)


def test_linear_relu_on_batched_input(rng):
    x, w, b = _data(rng, 6, 8, 5, np.float64)
    x3 = x.reshape(2, 3, 8)
    g = rng.standard_normal((2, 3, 5))
    fused = _run(F.linear_relu, x3, w, b, g)
    reference = _run(_unfused, x3, w, b, g)
    for a, r in zip(fused, reference, strict=True):
        np.testing.assert_array_equal(a, r)


def test_linear_relu_forward_values(rng):
    x, w, b = _data(rng, 7, 4, 3, np.float64)
    out = F.linear_relu(cr.tensor(x), cr.tensor(w), cr.tensor(b))
    np.testing.assert_allclose(out.numpy(), np.maximum(x @ w.T + b, 0), rtol=1e-12)


@pytest.mark.kernel_free
def test_linear_relu_checks_shapes():
    with pytest.raises(ValueError, match="linear_relu: input has 3 features"):
        F.linear_relu(cr.tensor(np.zeros((2, 3))), cr.tensor(np.zeros((4, 5))))
    with pytest.raises(ValueError, match="linear_relu: bias must have shape"):
        F.linear_relu(cr.tensor(np.zeros((2, 5))), cr.tensor(np.zeros((4, 5))),
                      cr.tensor(np.zeros(3)))


@pytest.mark.parametrize("bias", [True, False])
def test_linear_relu_gradcheck_and_gradgradcheck(rng, bias):
    x, w, b = _data(rng, 5, 4, 6, np.float64, bias=bias)
    # keep pre-activations away from the kink at 0
    pre = x @ w.T + (0 if b is None else b)
    if b is not None:
        b = b + np.where(np.abs(pre) < 0.05, 0.2, 0.0).max(axis=0)
    inputs = [cr.tensor(a, requires_grad=True) for a in (x, w, b) if a is not None]
    assert np.abs(F.linear(*inputs).numpy()).min() > 1e-3
    assert cr.gradcheck(F.linear_relu, inputs)
    assert cr.gradgradcheck(F.linear_relu, inputs)


def test_linear_relu_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    x, w, b = _data(rng, 32, 20, 16, np.float32, batch_last=True)
    g = rng.standard_normal((32, 16)).astype(np.float32)
    ours = _run(F.linear_relu, x, w, b, g)
    tx, tw, tb = (torch.tensor(np.ascontiguousarray(a), requires_grad=True) for a in (x, w, b))
    ty = torch.relu(torch.nn.functional.linear(tx, tw, tb))
    ty.backward(torch.tensor(g))
    theirs = [ty.detach().numpy()] + [t.grad.numpy() for t in (tx, tw, tb)]
    for a, r in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-5)


def _mlp(rng):
    return nn.Sequential(nn.Linear(12, 16, rng=rng), nn.ReLU(), nn.Linear(16, 16, rng=rng),
                         nn.ReLU(), nn.Linear(16, 3, rng=rng))


def _grads(model, x, t):
    for p in model.parameters():
        p.grad = None
    out = model(cr.tensor(x))
    F.cross_entropy(out, cr.tensor(t)).backward()
    return [out.numpy().copy()] + [p.grad.numpy().copy() for p in model.parameters()]


def test_column_sums_is_the_column_sum(rng):
    for shape, dtype in [((128, 96), np.float32), ((300, 7), np.float64), ((3, 4), np.float32)]:
        a = rng.standard_normal(shape).astype(dtype)
        for view in (a, np.ascontiguousarray(a.T).T):
            s = gemm.column_sums(view)
            assert s.dtype == dtype and s.shape == (shape[1],)
            np.testing.assert_allclose(s, a.sum(axis=0, dtype=np.float64), rtol=1e-5, atol=1e-4)


def _conv_data(rng, nd, n, c, o, size, dtype, *, groups=1, bias=True, batch_last=False):
    x = rng.standard_normal((n, c) + (size,) * nd).astype(dtype)
    if batch_last:  # a convolution's or pooling's output: (C, *spatial, N) in memory
        x = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 0, -1)), -1, 0)
    w = (rng.standard_normal((o, c // groups) + (3,) * nd) / np.sqrt(3 * c)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    return x, w, b


def _unfused_conv(nd, **kw):
    conv = F.conv1d if nd == 1 else F.conv2d
    return lambda x, w, b=None: F.relu(conv(x, w, b, **kw))


def _fused_conv(nd, **kw):
    conv = F.conv1d_relu if nd == 1 else F.conv2d_relu
    return lambda x, w, b=None: conv(x, w, b, **kw)


def _upstream(rng, shape, dtype, batch_last):
    g = rng.standard_normal(shape).astype(dtype)
    return np.moveaxis(np.ascontiguousarray(np.moveaxis(g, 0, -1)), -1, 0) if batch_last else g


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("n, kw", [(3, {}), (2, {"stride": 2, "padding": 1}), (2, {"groups": 2}),
                                   (64, {"padding": 1})])  # 64: the recycled-array paths
def test_conv_relu_equals_conv_then_relu_exactly(rng, monkeypatch, compiled, dtype, nd, bias, n,
                                                 kw):
    if not compiled:
        _numpy_kernels(monkeypatch)
    x, w, b = _conv_data(rng, nd, n, 4, 6, 12, dtype, groups=kw.get("groups", 1), bias=bias,
                         batch_last=n > 3)
    shape = _fused_conv(nd, **kw)(*(cr.tensor(a) for a in (x, w, b) if a is not None)).shape
    for batch_last in (False, True):  # a gradient from pooling is batch-last, a loss's is not
        g = _upstream(rng, shape, dtype, batch_last)
        fused = _run(_fused_conv(nd, **kw), x, w, b, g)
        reference = _run(_unfused_conv(nd, **kw), x, w, b, g)
        assert fused[0].dtype == dtype
        assert (fused[0] == 0).any() and (fused[0] > 0).any()
        for a, r in zip(fused, reference, strict=True):
            np.testing.assert_array_equal(a, r)


def test_conv_relu_equals_conv_then_relu_in_row_blocks(rng):
    # LeNet-5's C1 at batch 64: big skinny columns, built and multiplied a few rows at a time
    x, w, b = _conv_data(rng, 2, 64, 1, 6, 28, np.float32)
    w = np.repeat(w, 2, axis=-1)[..., :5].repeat(2, axis=-2)[..., :5, :]  # 5 x 5 filters
    g = _upstream(rng, (64, 6, 28, 28), np.float32, True)
    fused = _run(_fused_conv(2, padding=2), x, w, b, g)
    reference = _run(_unfused_conv(2, padding=2), x, w, b, g)
    for a, r in zip(fused, reference, strict=True):
        np.testing.assert_array_equal(a, r)


@pytest.mark.skipif(_jit.bias_relu is None, reason="numba not installed or CHAINRULE_JIT=0")
def test_conv_relu_compiled_equals_numpy_path_with_nan_and_inf(rng, monkeypatch):
    x, w, b = _conv_data(rng, 2, 16, 3, 5, 9, np.float32, batch_last=True)
    x[2, 1, 4, 4] = np.nan  # NaN pre-activations stay NaN
    g = _upstream(rng, (16, 5, 7, 7), np.float32, True)
    g[0, 0, 0, 0] = np.inf
    compiled = _run(_fused_conv(2), x, w, b, g)
    _numpy_kernels(monkeypatch)
    with np.errstate(invalid="ignore"):
        reference = _run(_fused_conv(2), x, w, b, g)
    assert np.isnan(compiled[0]).any()
    for a, r in zip(compiled, reference, strict=True):
        np.testing.assert_array_equal(a, r)


@pytest.mark.parametrize("nd", [1, 2])
def test_conv_relu_gradcheck_and_gradgradcheck(rng, nd):
    x, w, b = _conv_data(rng, nd, 2, 2, 3, 5, np.float64)
    conv = F.conv1d if nd == 1 else F.conv2d
    # keep pre-activations away from the kink at 0
    pre = conv(cr.tensor(x), cr.tensor(w), cr.tensor(b)).numpy()
    while np.abs(pre).min() < 0.05:
        x = x + 0.01 * rng.standard_normal(x.shape)
        pre = conv(cr.tensor(x), cr.tensor(w), cr.tensor(b)).numpy()
    inputs = [cr.tensor(a, requires_grad=True) for a in (x, w, b)]
    fused = _fused_conv(nd)
    assert cr.gradcheck(fused, inputs)
    assert cr.gradgradcheck(fused, inputs)


@pytest.mark.kernel_free
def test_conv_relu_checks_its_arguments():
    with pytest.raises(ValueError, match="conv2d_relu: "):
        F.conv2d_relu(cr.tensor(np.zeros((2, 3, 5, 5))), cr.tensor(np.zeros((4, 2, 3, 3))))


@pytest.mark.parametrize("nd", [1, 2])
def test_conv_relu_matches_pytorch(rng, nd):
    torch = pytest.importorskip("torch")
    x, w, b = _conv_data(rng, nd, 8, 4, 6, 10, np.float32, batch_last=True)
    shape = (8, 6) + (10,) * nd
    g = rng.standard_normal(shape).astype(np.float32)
    ours = _run(_fused_conv(nd, padding=1), x, w, b, g)
    tx, tw, tb = (torch.tensor(np.ascontiguousarray(a), requires_grad=True) for a in (x, w, b))
    conv = torch.nn.functional.conv1d if nd == 1 else torch.nn.functional.conv2d
    ty = torch.relu(conv(tx, tw, tb, padding=1))
    ty.backward(torch.tensor(g))
    theirs = [ty.detach().numpy()] + [t.grad.numpy() for t in (tx, tw, tb)]
    for a, r in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-5)


def _cnn(rng):
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 5, 3, rng=rng), nn.ReLU(), nn.Flatten(),
                         nn.Linear(5 * 2 * 2, 3, rng=rng))


@pytest.mark.skipif(_jit.relu_grad is None, reason="numba not installed or CHAINRULE_JIT=0")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(128, 256), (5, 3)])  # recycled and small arrays
def test_relu_mask_batch_last_shortcut_equals_the_mask_product(rng, monkeypatch, dtype, shape):
    """A Linear's batch-last gradient and output take relu_mask's 2-D shortcut, which must give
    ``g`` with 0 where ``y <= 0`` bit for bit (NaN and inf included) in the same batch-last
    memory order."""
    from chainrule.ops.activation import relu_mask

    def no_general_path(*args):  # the general path sorts axes and takes flat views
        raise AssertionError("relu_mask took the general path")

    y = np.ascontiguousarray(rng.standard_normal(shape[::-1]).astype(dtype)).T
    g = np.ascontiguousarray(rng.standard_normal(shape[::-1]).astype(dtype)).T
    y[0, :3] = [np.nan, -0.0, 1.0]
    g[0, :3] = [1.0, np.inf, -0.0]
    g[1, 0], y[1, 0] = np.inf, -1.0  # masked: 0 (not inf * 0 = nan), as PyTorch's
    monkeypatch.setattr(relu_kernel, "dense_flat", no_general_path)
    with cr.no_grad(), np.errstate(invalid="ignore"):
        expected = np.where(y <= 0, np.zeros((), dtype), g)
        out = relu_mask(cr.tensor(g), y).numpy()
    np.testing.assert_array_equal(out, expected)
    assert np.array_equal(np.signbit(out), np.signbit(expected))
    assert out.T.flags.c_contiguous  # batch-last, as the Linear's own arrays


def test_relu_mask_mixed_orders_take_the_general_path(rng):
    from chainrule.ops.activation import relu_mask

    y = np.ascontiguousarray(rng.standard_normal((96, 64)).astype(np.float32)).T  # batch-last
    g = rng.standard_normal((64, 96)).astype(np.float32)  # row-major
    with cr.no_grad():
        out = relu_mask(cr.tensor(g), y).numpy()
    np.testing.assert_array_equal(out, g * (y > 0))
