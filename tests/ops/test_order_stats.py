"""quantile, nanquantile, nanmean, nanmedian, kthvalue, mode and msort (ops/order_stats.py):
forward and backward against PyTorch (float64), every interpolation mode, NaN handling, shapes
with dim/keepdim, gradcheck and gradgradcheck, and clear errors."""

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free

NAN_ROWS = np.array([[1.0, 3.0, 3.0, 2.0, np.nan], [2.0, 1.0, 1.0, 5.0, 5.0],
                     [4.0, 3.0, 2.0, 1.0, 0.0], [np.nan] * 5])


@pytest.mark.torch
@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantiles_match_pytorch_in_every_mode_and_shape(interpolation):
    torch = pytest.importorskip("torch")
    a = NAN_ROWS
    for q in (0.5, 0.0, 1.0, [0.1, 0.25, 0.9]):
        for dim, keepdim in [(None, False), (1, False), (-1, True), (0, True), (None, True)]:
            for name in ("quantile", "nanquantile"):
                qs = (cr.tensor(q, dtype=cr.float64), torch.tensor(q, dtype=torch.float64)) \
                    if isinstance(q, list) else (q, q)
                ours = getattr(cr, name)(cr.tensor(a), qs[0], dim, keepdim,
                                         interpolation=interpolation)
                theirs = getattr(torch, name)(torch.tensor(a), qs[1], dim, keepdim,
                                              interpolation=interpolation)
                assert ours.shape == tuple(theirs.shape), (name, q, dim, keepdim)
                np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-14)


CASES = {
    "quantile": lambda L, x: L.quantile(x, 0.3, dim=1),
    "quantile_q_tensor": lambda L, x: x.quantile(L.tensor([0.2, 0.55, 1.0], dtype=L.float64)),
    "quantile_midpoint": lambda L, x: L.quantile(x, 0.5, 0, True, interpolation="midpoint"),
    "nanquantile": lambda L, x: L.nanquantile(
        x + L.tensor([[np.nan, 0.0, 0.0, 0.0, 0.0]] * 3, dtype=L.float64), 0.7, 1),
    "nanmean": lambda L, x: L.nanmean(
        x + L.tensor([[np.nan, 0.0, 0.0, 0.0, np.nan]] * 3, dtype=L.float64), 1),
    "nanmean_all": lambda L, x: x.nanmean(),
    "nanmedian": lambda L, x: L.nanmedian(
        x + L.tensor([[np.nan, 0.0, 0.0, 0.0, 0.0]] * 3, dtype=L.float64), 1).values,
    "nanmedian_all": lambda L, x: L.nanmedian(x),
    "kthvalue": lambda L, x: L.kthvalue(x, 2, 1).values,
    "kthvalue_last": lambda L, x: L.kthvalue(x, 4).values + x.kthvalue(1)[0],
    "kthvalue_keepdim": lambda L, x: x.kthvalue(3, 0, True)[0],
    "mode": lambda L, x: L.mode(L.round(x), 1).values * x[:, 0],
    "mode_gradient": lambda L, x: L.mode(L.cat([x, x[:, :2]], 1), 1).values,
    "msort": lambda L, x: L.msort(x),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch_forward_and_backward(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(len(name))
    a = rng.standard_normal((3, 5))
    x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, u = CASES[name](cr, x), CASES[name](torch, t)
    assert y.shape == tuple(u.shape)
    np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-13, atol=1e-14)
    w = rng.standard_normal(y.shape)
    (y * cr.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.torch
def test_nan_slices_send_the_gradient_where_pytorch_does():
    # an all-NaN slice of nanquantile: its first NaN (it went to the last); a NaN in quantile's
    # slice: the last NaN
    torch = pytest.importorskip("torch")
    a = np.array([[np.nan, 1.0, np.nan, np.nan], [np.nan] * 4, [1.0, np.nan, 2.0, np.nan]])
    for name in ("quantile", "nanquantile"):
        for interpolation in ("linear", "lower", "higher"):
            x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
            getattr(cr, name)(x, 0.4, 1, interpolation=interpolation).sum().backward()
            getattr(torch, name)(t, 0.4, 1, interpolation=interpolation).sum().backward()
            np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("name", ["quantile", "quantile_q_tensor", "nanquantile", "nanmean",
                                  "kthvalue", "msort"])
def test_gradcheck_and_gradgradcheck(name):
    x = cr.tensor(np.random.default_rng(2).standard_normal((3, 5)), requires_grad=True)
    assert cr.gradcheck(lambda t: CASES[name](cr, t), [x])
    assert cr.gradgradcheck(lambda t: CASES[name](cr, t), [x])


@pytest.mark.torch
def test_indices_and_nan_slices_match_pytorch():
    torch = pytest.importorskip("torch")
    a = NAN_ROWS
    for name in ("nanmedian", "mode"):
        ours, theirs = getattr(cr, name)(cr.tensor(a), 1), getattr(torch, name)(torch.tensor(a), 1)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy()[:3], theirs.indices.numpy()[:3])
    np.testing.assert_array_equal(cr.nanmean(cr.tensor(a), 1).numpy(),
                                  torch.nanmean(torch.tensor(a), 1).numpy())
    np.testing.assert_array_equal(cr.nanmedian(cr.tensor(a)).numpy(),
                                  torch.nanmedian(torch.tensor(a)).numpy())
    ints = np.array([[3, 1, 3, 1, 2], [7, 7, 0, 0, 0]])
    ours, theirs = cr.mode(cr.tensor(ints)), torch.mode(torch.tensor(ints))
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())  # ties: smallest
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())  # last seen
    k = cr.kthvalue(cr.tensor(a[:3]), 4, 1)
    np.testing.assert_array_equal(k.values.numpy(),
                                  torch.kthvalue(torch.tensor(a[:3]), 4, 1).values.numpy())
    np.testing.assert_array_equal(np.take_along_axis(a[:3], k.indices.numpy()[:, None], 1)[:, 0],
                                  k.values.numpy())  # the index names an entry of that value
    s = cr.kthvalue(cr.tensor(5.0, dtype=cr.float64), 1)
    assert s.values.shape == () and int(s.indices) == 0


def test_bad_arguments_are_refused_clearly():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=cr.float64)
    with pytest.raises(ValueError, match=r"quantile: q values must be in the range \[0, 1\]"):
        cr.quantile(x, 1.5)
    with pytest.raises(ValueError, match="quantile: interpolation must be one of linear"):
        cr.quantile(x, 0.5, interpolation="cubic")
    with pytest.raises(TypeError, match="quantile: input must be a floating-point tensor"):
        cr.quantile(cr.tensor([1, 2]), 0.5)
    with pytest.raises(TypeError, match="nanquantile: q must have the input's dtype float64"):
        cr.nanquantile(x, cr.tensor([0.5], dtype=cr.float32))
    with pytest.raises(ValueError, match=r"quantile: q must be a scalar or a 1-D tensor"):
        cr.quantile(x, cr.tensor([[0.5]], dtype=cr.float64))
    with pytest.raises(ValueError, match=r"quantile: input is empty along dim 0"):
        cr.quantile(cr.zeros(0, 3, dtype=cr.float64), 0.5, 0)
    with pytest.raises(ValueError, match=r"kthvalue: k must be an int in \[1, 2\]"):
        cr.kthvalue(x, 3)
    with pytest.raises(TypeError, match="mode: expected a Tensor, got list"):
        cr.mode([1, 2])
    with pytest.raises(TypeError, match="nanmean: input must be a floating-point tensor"):
        cr.nanmean(cr.tensor([1, 2]))
