"""atan2's gradient at the origin: 0, as PyTorch's (it was 0/0 = nan, flagged by anomaly mode)."""

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free


def test_gradient_at_origin_is_zero_and_finite_elsewhere():
    y = cr.tensor([0.0, 0.0, 1.0, -2.0], dtype="float64", requires_grad=True)
    x = cr.tensor([0.0, -0.0, 0.0, 3.0], dtype="float64", requires_grad=True)
    cr.atan2(y, x).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy()[:2], 0.0)
    np.testing.assert_array_equal(x.grad.numpy()[:2], 0.0)
    np.testing.assert_allclose(y.grad.numpy()[2:], [0.0, 3.0 / 13.0])
    np.testing.assert_allclose(x.grad.numpy()[2:], [-1.0, 2.0 / 13.0])


def test_broadcast_origin_and_gradcheck_away_from_it():
    y = cr.tensor([[0.0], [1.0]], dtype="float64", requires_grad=True)
    x = cr.tensor([0.0, 2.0, -1.0], dtype="float64", requires_grad=True)
    gy, gx = cr.autograd.grad(cr.atan2(y, x).sum(), (y, x))
    assert np.isfinite(gy.numpy()).all() and np.isfinite(gx.numpy()).all()
    rng = np.random.default_rng(0)
    a = cr.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    b = cr.tensor(rng.normal(size=(4,)), requires_grad=True)
    assert cr.gradcheck(cr.atan2, (a, b))
    assert cr.gradgradcheck(cr.atan2, (a, b))


def test_matches_pytorch_at_and_near_origin():
    torch = pytest.importorskip("torch")
    yv = np.array([[0.0, 0.0, 1e-3, -0.5], [0.0, 2.0, 0.0, 0.0]])
    xv = np.array([0.0, 1.0, -1e-3, 0.0])
    y, x = (cr.tensor(v, requires_grad=True) for v in (yv, xv))
    ty, tx = (torch.tensor(v, requires_grad=True) for v in (yv, xv))
    w = np.arange(8.0).reshape(2, 4) - 3
    (cr.atan2(y, x) * cr.tensor(w)).sum().backward()
    (torch.atan2(ty, tx) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=0)
