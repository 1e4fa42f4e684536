"""Pooling with PyTorch's ceil_mode=True (and avg_pool2d's divisor_override): output sizes,
values and gradients against PyTorch, second derivatives, layers, and nn.fuse keeping it."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _check(ours, theirs, x0, rng):
    x = cr.tensor(x0, requires_grad=True)
    t = torch.tensor(x0, requires_grad=True)
    y, u = ours(x), theirs(t)
    assert y.shape == tuple(u.shape)
    np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = rng.standard_normal(y.shape)
    (y * cr.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_random_2d_pools_match_pytorch(seed):
    rng = np.random.default_rng(seed)
    k = tuple(int(v) for v in rng.integers(1, 4, size=2))
    s = tuple(int(v) for v in rng.integers(1, 4, size=2))
    p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
    shape = (2, 2) + tuple(int(kk + rng.integers(0, 5)) for kk in k)
    x0 = rng.standard_normal(shape)
    if seed % 3 == 0:
        x0 = np.round(x0)  # ties: the first maximum wins in both
    _check(lambda x: F.max_pool2d(x, k, s, p, ceil_mode=True),
           lambda t: TF.max_pool2d(t, k, s, p, ceil_mode=True), x0, rng)
    _check(lambda x: F.min_pool2d(x, k, s, p, ceil_mode=True),
           lambda t: -TF.max_pool2d(-t, k, s, p, ceil_mode=True), x0, rng)
    for include in (True, False):
        _check(lambda x: F.avg_pool2d(x, k, s, p, True, include),
               lambda t: TF.avg_pool2d(t, k, s, p, True, include), x0, rng)
    d = int(rng.integers(1, 7))
    for ceil in (False, True):
        _check(lambda x: F.avg_pool2d(x, k, s, p, ceil, True, d),
               lambda t: TF.avg_pool2d(t, k, s, p, ceil, True, d), x0, rng)


@pytest.mark.parametrize("seed", range(6))
def test_random_1d_pools_and_layers_match_pytorch(seed):
    rng = np.random.default_rng(100 + seed)
    k, s = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    p = int(rng.integers(0, k // 2 + 1))
    x0 = rng.standard_normal((2, 3, k + int(rng.integers(0, 6))))
    _check(nn.MaxPool1d(k, s, p, ceil_mode=True), torch.nn.MaxPool1d(k, s, p, ceil_mode=True),
           x0, rng)
    for include in (True, False):
        _check(nn.AvgPool1d(k, s, p, True, include), torch.nn.AvgPool1d(k, s, p, True, include),
               x0, rng)
    x2 = rng.standard_normal((2, 3, k + 3, k + 2))
    _check(nn.MaxPool2d(k, s, p, ceil_mode=True), torch.nn.MaxPool2d(k, s, p, ceil_mode=True),
           x2, rng)
    _check(nn.AvgPool2d(k, s, p, True, False, None),
           torch.nn.AvgPool2d(k, s, p, True, False, None), x2, rng)


def test_min_pool_ceil_mode_pads_with_values_that_never_win():
    x = cr.tensor([[[5.0, 4.0, -3.0]]])
    np.testing.assert_array_equal(F.min_pool1d(x, 2, ceil_mode=True).numpy(), [[[4.0, -3.0]]])


def test_fused_relu_pool_keeps_ceil_mode():
    rng = np.random.default_rng(3)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True))
    fused = nn.fuse(model)
    assert "ceil_mode=True" in repr(fused)
    x = cr.tensor(rng.standard_normal((2, 1, 8, 8)).astype("float32"))
    assert fused(x).shape == model(x).shape == (2, 2, 3, 3)
    np.testing.assert_allclose(fused(x).numpy(), model(x).numpy(), rtol=1e-6, atol=1e-6)


def test_gradcheck_and_gradgradcheck(rng):
    x = cr.tensor(rng.standard_normal((1, 2, 5, 4)), requires_grad=True)
    for fn in (lambda x: F.max_pool2d(x, 2, ceil_mode=True) ** 2,
               lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False) ** 2,
               lambda x: F.avg_pool2d(x, 2, divisor_override=3) ** 2):
        assert cr.gradcheck(fn, [x])
        assert cr.gradgradcheck(fn, [x])


def test_bad_ceil_mode_and_divisor_are_refused():
    x = cr.ones(1, 1, 4, 4)
    with pytest.raises(TypeError, match="ceil_mode must be a bool, got 'yes'"):
        F.max_pool2d(x, 2, ceil_mode="yes")
    with pytest.raises(ValueError, match="divisor_override must be a positive int or None, got 0"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(TypeError, match="divisor_override"):
        nn.AvgPool1d(2, divisor_override=2)


@pytest.mark.parametrize("name, shape, args", [
    ("max_pool1d", (2, 2, 2), (3, 2)),
    ("avg_pool1d", (2, 2, 2), (3, 2)),
    ("max_pool2d", (1, 2, 2, 5), ((3, 2), 2)),
    ("avg_pool2d", (1, 2, 3, 2), (4, 3, 1)),
    ("max_pool3d", (1, 1, 2, 3, 4), (3, 2)),
])  # (PyTorch's avg_pool3d refuses any input smaller than its kernel)
def test_a_kernel_larger_than_the_input_takes_one_partial_window_as_pytorch(rng, name, shape,
                                                                            args):
    # ceil((n + 2p - k) / s) + 1 is 1 while k exceeds n + 2p by less than s: chainrule refused
    for return_indices in (False, True) if name.startswith("max") else (False,):
        kw = {"ceil_mode": True, "return_indices": True} if return_indices else {"ceil_mode": True}

        def pair(lib_f, kw=kw):
            return lambda x: (lambda y: y[0] if return_indices else y)(lib_f(x, *args, **kw))
        _check(pair(getattr(F, name)), pair(getattr(TF, name)), rng.standard_normal(shape), rng)
        if return_indices:
            x = rng.standard_normal(shape)
            np.testing.assert_array_equal(getattr(F, name)(cr.tensor(x), *args, **kw)[1].numpy(),
                                          getattr(TF, name)(torch.tensor(x), *args, **kw)[1])
    with pytest.raises(ValueError, match="is larger than the padded input"):
        getattr(F, name)(cr.zeros(*shape[:2], *(1,) * (len(shape) - 2)), 6, 1)
