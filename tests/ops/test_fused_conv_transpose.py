"""``conv_transpose1d_relu`` / ``conv_transpose2d_relu`` and ``nn.fuse`` of ConvTranspose + ReLU.

The fused op must give exactly what ``relu(conv_transpose(...))`` gives, forward and backward,
with numba's col2im sweep (bias and ReLU in it) and with the NumPy kernels, in both modes; its
gradients pass the float64 finite-difference checks and agree with PyTorch.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import F, nn
from chainrule.backend import jit as _jit


def _numpy_kernels(monkeypatch):
    for name in ("col2im_crop", "col2im", "bias_relu", "relu_grad"):
        monkeypatch.setattr(_jit, name, None)


def _data(rng, nd, n, c, o, size, dtype, *, groups=1, bias=True):
    x = rng.standard_normal((n, c) + (size,) * nd).astype(dtype)
    w = (rng.standard_normal((c, o // groups) + (3,) * nd) / np.sqrt(3 * c)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    return x, w, b


def _fused(nd, **kw):
    op = F.conv_transpose1d_relu if nd == 1 else F.conv_transpose2d_relu
    return lambda x, w, b=None: op(x, w, b, **kw)


def _unfused(nd, **kw):
    op = F.conv_transpose1d if nd == 1 else F.conv_transpose2d
    return lambda x, w, b=None: F.relu(op(x, w, b, **kw))


def _run(fn, x, w, b, g):
    leaves = [cr.tensor(a, requires_grad=True) for a in (x, w, b) if a is not None]
    y = fn(*leaves)
    y.backward(cr.tensor(g))
    return [y.numpy().copy()] + [t.grad.numpy().copy() for t in leaves]


@pytest.mark.parametrize("reference", [False, True])
@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1, "output_padding": 1},
                                {"groups": 2, "dilation": 2}])
def test_fused_equals_conv_transpose_then_relu_exactly(rng, monkeypatch, reference, compiled,
                                                       dtype, nd, bias, kw):
    if not compiled:
        _numpy_kernels(monkeypatch)
    x, w, b = _data(rng, nd, 5, 4, 6, 7, dtype, groups=kw.get("groups", 1), bias=bias)
    with cr.reference_mode(reference):
        shape = _fused(nd, **kw)(*(cr.tensor(a) for a in (x, w, b) if a is not None)).shape
        g = rng.standard_normal(shape).astype(dtype)
        fused = _run(_fused(nd, **kw), x, w, b, g)
        plain = _run(_unfused(nd, **kw), x, w, b, g)
    assert fused[0].dtype == dtype
    assert (fused[0] == 0).any() and (fused[0] > 0).any()
    for a, r in zip(fused, plain, strict=True):
        np.testing.assert_array_equal(a, r)


def test_fused_modes_agree(rng):
    x, w, b = _data(rng, 2, 16, 8, 6, 7, np.float32)
    g = rng.standard_normal((16, 6, 14, 14)).astype(np.float32)
    kw = {"stride": 2, "padding": 1, "output_padding": 1}
    fast = _run(_fused(2, **kw), x, w, b, g)
    with cr.reference_mode():
        ref = _run(_fused(2, **kw), x, w, b, g)
    for a, r in zip(fast, ref, strict=True):
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(_jit.col2im_crop is None, reason="numba not installed or CHAINRULE_JIT=0")
def test_compiled_sweep_equals_numpy_path_with_nan_and_signed_zero(rng, monkeypatch):
    x, w, b = _data(rng, 2, 4, 3, 5, 6, np.float32)
    x[1, 2, 3, 3] = np.nan  # NaN pre-activations stay NaN
    b[0] = 0.0
    w[:, 0] = 0.0  # channel 0 is b[0] = 0 everywhere: +0, never -0
    g = rng.standard_normal((4, 5, 8, 8)).astype(np.float32)
    compiled = _run(_fused(2), x, w, b, g)
    _numpy_kernels(monkeypatch)
    with np.errstate(invalid="ignore"):
        numpy_path = _run(_fused(2), x, w, b, g)
    assert np.isnan(compiled[0]).any()
    for a, r in zip(compiled, numpy_path, strict=True):
        np.testing.assert_array_equal(a, r)
    assert not np.signbit(compiled[0]).any()


@pytest.mark.parametrize("reference", [False, True])
@pytest.mark.parametrize("nd", [1, 2])
def test_gradcheck_and_gradgradcheck(rng, reference, nd):
    x, w, b = _data(rng, nd, 2, 2, 3, 4, np.float64)
    kw = {"stride": 2, "padding": 1}
    plain = (F.conv_transpose1d if nd == 1 else F.conv_transpose2d)
    pre = plain(cr.tensor(x), cr.tensor(w), cr.tensor(b), **kw).numpy()
    while np.abs(pre).min() < 0.05:  # keep pre-activations away from the kink at 0
        b = b + 0.02 * rng.standard_normal(b.shape)
        pre = plain(cr.tensor(x), cr.tensor(w), cr.tensor(b), **kw).numpy()
    inputs = [cr.tensor(a, requires_grad=True) for a in (x, w, b)]
    with cr.reference_mode(reference):
        assert cr.gradcheck(_fused(nd, **kw), inputs)
        assert cr.gradgradcheck(_fused(nd, **kw), inputs)


@pytest.mark.kernel_free
def test_checks_its_arguments():
    with pytest.raises(ValueError, match="conv_transpose2d_relu: "):
        F.conv_transpose2d_relu(cr.tensor(np.zeros((2, 3, 5, 5))),
                                cr.tensor(np.zeros((4, 2, 3, 3))))


@pytest.mark.parametrize("nd", [1, 2])
def test_matches_pytorch(rng, nd):
    torch = pytest.importorskip("torch")
    x, w, b = _data(rng, nd, 8, 4, 6, 9, np.float32)
    kw = {"stride": 2, "padding": 1, "output_padding": 1}
    g = rng.standard_normal((8, 6) + (18,) * nd).astype(np.float32)
    ours = _run(_fused(nd, **kw), x, w, b, g)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    op = torch.nn.functional.conv_transpose1d if nd == 1 else torch.nn.functional.conv_transpose2d
    ty = torch.relu(op(tx, tw, tb, **kw))
    ty.backward(torch.tensor(g))
    theirs = [ty.detach().numpy()] + [t.grad.numpy() for t in (tx, tw, tb)]
    for a, r in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-5)


def _decoder(rng):
    return nn.Sequential(nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1,
                                            rng=rng), nn.ReLU(),
                         nn.Identity(),
                         nn.ConvTranspose2d(3, 1, 3, stride=2, padding=1, output_padding=1,
                                            rng=rng), nn.Sigmoid())


def test_fuse_replaces_the_pair_visibly_and_unfuse_restores_it(rng):
    model = _decoder(rng)
    plain = copy.deepcopy(model)
    keys = list(model.state_dict())
    nn.fuse(model)
    assert [type(m).__name__ for m in model] == [
        "ConvTranspose2dReLU", "Identity", "Identity", "ConvTranspose2d", "Sigmoid"]
    assert "(0): ConvTranspose2dReLU(4, 3, kernel_size=(3, 3)" in repr(model)
    assert isinstance(model[0], nn.ConvTranspose2d) and list(model.state_dict()) == keys
    x = rng.standard_normal((3, 4, 5, 5)).astype(np.float32)
    outs = []
    for m in (model, plain):
        y = m(cr.tensor(x))
        (y * y).sum().backward()
        outs.append([y.numpy()] + [p.grad.numpy() for p in m.parameters()])
    for a, r in zip(*outs, strict=True):
        np.testing.assert_array_equal(a, r)
    nn.unfuse(model)
    assert [type(m).__name__ for m in model] == [type(m).__name__ for m in plain]


def test_fuse_1d_pair(rng):
    model = nn.fuse(nn.Sequential(nn.ConvTranspose1d(3, 2, 3, rng=rng), nn.ReLU()))
    assert type(model[0]) is nn.ConvTranspose1dReLU
    x = cr.tensor(rng.standard_normal((2, 3, 6)).astype(np.float32))
    fused = model(x).numpy()
    assert type(nn.unfuse(model)[1]) is nn.ReLU
    np.testing.assert_array_equal(fused, model(x).numpy())


def test_a_trace_of_the_fused_decoder_gives_its_outputs(rng):
    model = nn.fuse(_decoder(rng)).eval()
    x = cr.tensor(rng.standard_normal((2, 4, 5, 5)).astype(np.float32))
    traced = cr.trace(model, x)
    assert "ConvTransposeReLUNd" in traced.code
    other = cr.tensor(rng.standard_normal((2, 4, 5, 5)).astype(np.float32))
    with cr.no_grad():
        np.testing.assert_array_equal(traced(other).numpy(), model(other).numpy())
