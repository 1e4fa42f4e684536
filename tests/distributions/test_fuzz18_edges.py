"""Fuzz wave 18: distributions at the edges of their parameters, against PyTorch 2.13.

``Geometric(probs).entropy`` took the logits of probs clamped into ``[eps, 1 - eps]``: at probs
``1e-30`` it was ``2e14`` (float64; ``1e23`` in float32) where the entropy is ``1 - log(probs)``,
near 70 (PyTorch's: 0). ``ContinuousBernoulli(logits=...)`` drew, and took ``cdf``/``icdf``, from
the given logits while its ``mean``, ``variance`` and normaliser (and all of PyTorch's) take the
clamped probs: beyond ``|logits|`` 15.9 in float32 (36.7 in float64) the draws followed another
law than ``.mean``, and past 88 (709) ``expm1`` overflowed and draws were inf or NaN.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
import chainrule.distributions as D  # noqa: E402

TD = torch.distributions


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_geometric_entropy_of_tiny_probs(dtype):
    p = np.array([1e-30, 1e-10, 0.3, 0.5, 0.9, 1.0], dtype=dtype)
    ours = D.Geometric(probs=cr.tensor(p)).entropy().numpy()
    q = p.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = np.where(q == 1, 0.0, -np.log(q) - (1 - q) / q * np.log1p(-q))
    tol = 1e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(ours, exact, rtol=tol, atol=tol)
    assert str(ours.dtype) == dtype
    theirs = TD.Geometric(probs=torch.tensor(p[2:5])).entropy().numpy()
    np.testing.assert_allclose(ours[2:5], theirs, rtol=tol)


def test_geometric_entropy_gradient_from_probs():
    p = cr.tensor([1e-4, 0.3, 0.9], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda x: D.Geometric(probs=x).entropy(), (p,))
    tp = torch.tensor([1e-4, 0.3, 0.9], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(TD.Geometric(probs=tp).entropy().sum(), tp)
    (ours,) = cr.grad(D.Geometric(probs=p).entropy().sum(), [p])
    np.testing.assert_allclose(ours.numpy()[1:], g.numpy()[1:], rtol=1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("lam", [-1e4, -100.0, -20.0, 20.0, 100.0, 1e4, np.inf, -np.inf])
def test_continuous_bernoulli_large_logits_follow_the_clamped_probs(dtype, lam):
    u = np.array([1e-3, 0.3, 0.7, 0.999], dtype=dtype)
    logits = np.full(4, lam, dtype=dtype)
    ours = D.ContinuousBernoulli(logits=cr.tensor(logits))
    theirs = TD.ContinuousBernoulli(logits=torch.tensor(logits))
    x = ours.icdf(cr.tensor(u)).numpy()
    assert np.isfinite(x).all() and str(x.dtype) == dtype
    # PyTorch's float32 icdf cancels in log1p(-p + u (2p - 1)): compared in float64 only
    if dtype == "float64":
        np.testing.assert_allclose(x, theirs.icdf(torch.tensor(u)).numpy(), rtol=1e-7)
        np.testing.assert_allclose(
            ours.cdf(cr.tensor(u)).numpy(),
            theirs.cdf(torch.tensor(u)).numpy(),
            rtol=1e-7,
            atol=1e-12,
        )
    np.testing.assert_allclose(
        ours.cdf(cr.tensor(x)).numpy(), u, rtol=1e-4 if dtype == "float32" else 1e-10
    )
    # the draws' law is the one .mean describes: the same as the clamped probs' distribution
    via_probs = D.ContinuousBernoulli(probs=ours.probs)
    np.testing.assert_allclose(x, via_probs.icdf(cr.tensor(u)).numpy(), rtol=1e-5)
    draws = ours.rsample((5,)).numpy()
    assert np.isfinite(draws).all() and ((draws >= 0) & (draws <= 1)).all()
