"""The optional compiled kernels (ops._jit) give exactly what the NumPy paths give."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import jit as _jit

pytest.importorskip("numba")
pytestmark = pytest.mark.skipif(not _jit.enabled(), reason="CHAINRULE_JIT=0")


@pytest.fixture
def numpy_path(monkeypatch):
    """A function that runs ``fn()`` with the compiled kernels switched off."""

    def run(fn):
        with monkeypatch.context() as m:
            for name in ("col2im", "route_to_winners", "pool", "adam", "sgd", "cross_entropy"):
                m.setattr(_jit, name, None)
            return fn()

    return run


def _pool_grads(fn, x, g):
    t = cr.tensor(x, requires_grad=True)
    y = fn(t)
    y.backward(cr.tensor(g))
    return y.numpy().copy(), t.grad.numpy().copy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind,kernel,stride,padding", [
    ("max", 2, 2, 0),   # LeNet's: disjoint windows
    ("max", 3, 2, 1),   # overlapping and padded
    ("min", 3, 1, 1),
    ("max", (2, 3), (1, 2), (1, 0)),
])
def test_compiled_pool_backward_equals_numpy(rng, numpy_path, dtype, kind, kernel, stride,
                                             padding):
    # Rounded values make ties, which must go to the first offset, as on the NumPy path.
    x = np.round(rng.standard_normal((17, 3, 9, 10)) * 2).astype(dtype)  # batch >= 16: compiled
    x[0, 0, 0, 0] = x[1, 2, 3, 4] = np.nan  # a NaN output routes to its window's first NaN
    pool = cr.F.max_pool2d if kind == "max" else cr.F.min_pool2d

    def fn(t):
        return pool(t, kernel, stride=stride, padding=padding)

    g = rng.standard_normal(fn(cr.tensor(x)).shape).astype(dtype)
    compiled = _pool_grads(fn, x, g)
    reference = numpy_path(lambda: _pool_grads(fn, x, g))
    np.testing.assert_array_equal(compiled[0], reference[0])
    if kernel == stride:
        np.testing.assert_array_equal(compiled[1], reference[1])
    else:
        # Overlapping windows add up to k = kh * kw terms into one input, in another order than
        # the NumPy path: the two sums differ by at most about k * eps * sum |terms|.
        k = np.prod(np.broadcast_to(kernel, 2))
        bound = k * np.finfo(dtype).eps * k * np.abs(g).max()
        np.testing.assert_allclose(compiled[1], reference[1], rtol=0, atol=bound)


def test_compiled_pool_backward_batch_last_and_1d(rng, numpy_path):
    memory = rng.standard_normal((6, 31, 4)).astype(np.float32)  # (C, L, N): batch-last
    x = memory.transpose(2, 0, 1)  # the (N, C, L) view
    g = rng.standard_normal((4, 6, 15)).astype(np.float32)

    def fn(t):
        return cr.F.max_pool1d(t, 3, stride=2)

    compiled = _pool_grads(fn, x, g)
    reference = numpy_path(lambda: _pool_grads(fn, x, g))
    np.testing.assert_array_equal(compiled[0], reference[0])
    np.testing.assert_allclose(compiled[1], reference[1], rtol=1e-6, atol=1e-6)  # overlaps


def _conv_grads(x, w, transpose, **kw):
    t, k = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
    y = (cr.F.conv_transpose2d if transpose else cr.F.conv2d)(t, k, **kw)
    y.backward(cr.tensor(np.cos(np.arange(y.numel())).reshape(y.shape).astype(x.dtype)))
    return y.numpy().copy(), t.grad.numpy().copy(), k.grad.numpy().copy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose,kw", [
    (False, {"padding": 2}),                                   # col2im in the input gradient
    (False, {"stride": 2, "padding": 1, "dilation": 2}),
    (True, {"stride": 2, "padding": 1, "output_padding": 1}),  # col2im in the forward
    (True, {"stride": 3, "dilation": 2, "groups": 2}),
])
def test_compiled_col2im_equals_numpy(rng, numpy_path, dtype, transpose, kw):
    x = rng.standard_normal((3, 4, 9, 8)).astype(dtype)
    groups = kw.get("groups", 1)
    w = rng.standard_normal((4, 6 // groups, 3, 3) if transpose else (6, 4, 3, 3)).astype(dtype)
    compiled = _conv_grads(x, w, transpose, **kw)
    reference = numpy_path(lambda: _conv_grads(x, w, transpose, **kw))
    for a, b in zip(compiled, reference):
        np.testing.assert_allclose(a, b, rtol=0, atol=0)


def test_compiled_kernels_are_differentiable_twice(rng):
    """Second-order gradients still pass gradcheck with the compiled first-order paths."""
    x = cr.tensor(rng.standard_normal((2, 2, 6, 6)), requires_grad=True)
    w = cr.tensor(rng.standard_normal((2, 3, 3, 3)), requires_grad=True)
    assert cr.gradgradcheck(lambda a, b: cr.F.conv_transpose2d(a, b, stride=2), (x, w))
    assert cr.gradgradcheck(lambda a: cr.F.max_pool2d(a, 2), (x,))


@pytest.mark.kernel_free
def test_chainrule_jit_0_switches_the_kernels_off():
    import subprocess
    import sys

    code = "from chainrule.backend import jit as _jit; print(_jit.enabled(), _jit.col2im)"
    env = {**__import__("os").environ, "CHAINRULE_JIT": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "None"]


@pytest.mark.kernel_free
def test_inference_never_loads_numba_and_training_does():
    """numba costs ~110 MiB once imported: a model only predicting (no_grad) must not pay it,
    fused layers included, unless the columns its skinny convolution saves are bigger
    (``kernels/convolution_skinny.py``; tests/kernels/test_convolution_skinny.py)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, chainrule as cr\n"
        "model = cr.models.LeNet5(rng=np.random.default_rng(0)).eval()\n"
        "x = cr.tensor(np.zeros((32, 1, 28, 28), np.float32))\n"
        "with cr.no_grad():\n"
        "    model(x)\n"
        "print('numba' in sys.modules)\n"
        "cr.F.cross_entropy(model.train()(x), cr.tensor(np.zeros(32, np.int64))).backward()\n"
        "print('numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "True"]


@pytest.mark.kernel_free
def test_a_broken_numba_gives_a_clear_error(monkeypatch):
    def broken():
        raise ImportError("libllvmlite.so: cannot open shared object file")

    monkeypatch.setattr(_jit, "_kernels", {})
    monkeypatch.setattr(_jit, "_build", broken)
    with pytest.raises(ImportError, match="numba is installed but does not import.*JIT=0"):
        _jit.col2im(np.zeros((1, 1, 1, 1, 1, 1)), np.zeros((1, 1, 1, 1)), 1, 1, 1, 1)


# The optimizer kernels are held equal to the rules of optim/ in tests/optim/test_fused.py.


def test_float16_takes_the_numpy_paths(rng):
    """numba has no float16: such arrays must not reach a kernel (it would fail to compile)."""
    x = cr.tensor(rng.random((32, 3, 8, 8)).astype(np.float16), requires_grad=True)
    y = cr.F.max_pool2d(x, 2)
    y.sum().backward()
    assert x.grad.dtype == np.float16 and float(x.grad.numpy().sum()) == 32 * 3 * 16
    w = cr.tensor(rng.random((3, 2, 3, 3)).astype(np.float16), requires_grad=True)
    out = cr.F.conv_transpose2d(x, w, stride=2)  # col2im in the forward
    assert out.dtype == np.float16
    out.sum().backward()
    assert w.grad.dtype == np.float16
    p = cr.tensor(rng.random(40).astype(np.float16), requires_grad=True)
    for opt in (cr.optim.Adam([p], lr=0.1), cr.optim.SGD([p], lr=0.1, momentum=0.9)):
        p.grad = cr.tensor(np.ones(40, np.float16))
        opt.step()
    assert p.dtype == np.float16


def _ce_run(z, labels, reduction="mean", **opts):
    x = cr.tensor(z, requires_grad=True)
    loss = cr.F.cross_entropy(x, labels, reduction=reduction, **opts)
    u = np.linspace(0.5, 1.5, loss.numpy().size).reshape(loss.shape).astype(z.dtype)
    loss.backward(cr.tensor(u), retain_graph=True)
    first = x.grad.numpy().copy()
    x.grad = None
    loss.backward(cr.tensor(u))  # the second backward recomputes what the first used up
    np.testing.assert_array_equal(x.grad.numpy(), first)
    with cr.no_grad():
        np.testing.assert_array_equal(
            cr.F.cross_entropy(cr.tensor(z), labels, reduction=reduction, **opts).numpy(),
            loss.numpy())
    return loss.numpy().copy(), first


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 2e-6), (np.float64, 1e-13)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_compiled_cross_entropy_matches_numpy(numpy_path, dtype, rtol, reduction):
    rng = np.random.default_rng(2)
    z = (rng.standard_normal((64, 10)) * 4).astype(dtype)
    z[3, 4], z[5] = -np.inf, 1e4  # a class ruled out; a row of huge equal logits
    labels = rng.integers(0, 10, 64)
    labels[3] = 0
    compiled = _ce_run(z, labels, reduction)
    for a, b in zip(compiled, numpy_path(lambda: _ce_run(z, labels, reduction))):
        # atol: p - 1 for p near 1 cancels, in both paths
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 0.1)


@pytest.mark.parametrize("opts", [dict(ignore_index=3), dict(ignore_index=-1)])
def test_compiled_cross_entropy_leaves_ignored_labels_to_numpy(numpy_path, opts):
    rng = np.random.default_rng(3)
    z = rng.standard_normal((8, 5))
    labels = rng.integers(0, 5, 8)
    labels[[2, 6]] = opts["ignore_index"]
    compiled = _ce_run(z, labels, **opts)
    for a, b in zip(compiled, numpy_path(lambda: _ce_run(z, labels, **opts))):
        np.testing.assert_array_equal(a, b)
    assert compiled[1][2].tolist() == [0.0] * 5


@pytest.mark.fast_kernels
def test_compiled_cross_entropy_nan_and_fallbacks(numpy_path):
    z = np.array([[0.0, np.nan, 1.0], [np.inf, 0.0, 1.0], [1.0, 2.0, 3.0]])
    compiled = _ce_run(z, np.array([0, 1, 2]), "none")
    with np.errstate(invalid="ignore"):  # NumPy warns of inf - inf, the kernel does not
        reference = numpy_path(lambda: _ce_run(z, np.array([0, 1, 2]), "none"))
    for a, b in zip(compiled, reference):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    np.testing.assert_array_equal(np.isnan(compiled[1]), [[1] * 3, [1] * 3, [0] * 3])
    # A Linear's logits are batch-last (F-order): the kernel takes them, and its gradient keeps
    # their memory order. float16 takes the NumPy path.
    zt = np.random.default_rng(4).standard_normal((3, 6)).T
    for z in (zt, zt[::2]):
        labels = np.arange(len(z)) % 3
        a, b = _ce_run(z, labels), numpy_path(lambda: _ce_run(z, labels))
        np.testing.assert_allclose(a[1], b[1], rtol=1e-14, atol=1e-16)
        np.testing.assert_allclose(a[0], b[0], rtol=1e-14)
    x = cr.tensor(zt, requires_grad=True)
    cr.F.cross_entropy(x, np.arange(6) % 3).backward()
    assert x.grad.numpy().flags.f_contiguous
    loss, grad = _ce_run(zt.astype(np.float16), np.arange(6) % 3)
    assert loss.dtype == grad.dtype == np.float16


def test_compiled_cross_entropy_gradgradcheck():
    rng = np.random.default_rng(5)
    z = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    labels = np.array([0, 2, 1, 2])
    assert cr.gradcheck(lambda x: cr.F.cross_entropy(x, labels), [z])
    assert cr.gradgradcheck(lambda x: cr.F.cross_entropy(x, labels, reduction="sum"), [z])
