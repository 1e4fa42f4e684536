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


@pytest.mark.kernel_free
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


@pytest.mark.kernel_free
def test_geometric_entropy_gradient_from_probs():
    p = cr.tensor([1e-4, 0.3, 0.9], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda x: D.Geometric(probs=x).entropy(), (p,))
    tp = torch.tensor([1e-4, 0.3, 0.9], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(TD.Geometric(probs=tp).entropy().sum(), tp)
    (ours,) = cr.grad(D.Geometric(probs=p).entropy().sum(), [p])
    np.testing.assert_allclose(ours.numpy()[1:], g.numpy()[1:], rtol=1e-10)


@pytest.mark.kernel_free
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


# ---- batches of zero elements ----------------------------------------------------------------
# Sums and checks over the event dimensions reshaped to (..., -1), which a batch of zero elements
# leaves undetermined: AffineTransform(event_dim=1).log_abs_det_jacobian of an empty batch raised
# (PyTorch's returns an empty tensor), and so did Independent's log_prob and entropy and the
# validation of an empty batch of vectors (PyTorch's raise there too: see docs/pytorch.md).


@pytest.mark.kernel_free
@pytest.mark.parametrize("batch", [(0,), (2, 0)])
def test_affine_log_abs_det_jacobian_of_an_empty_batch(batch):
    x = np.zeros(batch + (3,))
    scale = np.array([2.0, -1.0, 0.5])
    ours = D.AffineTransform(1.0, cr.tensor(scale), event_dim=1)
    theirs = TD.AffineTransform(1.0, torch.tensor(scale), event_dim=1)
    got = ours.log_abs_det_jacobian(cr.tensor(x), ours(cr.tensor(x)))
    want = theirs.log_abs_det_jacobian(torch.tensor(x), theirs(torch.tensor(x)))
    assert tuple(got.shape) == tuple(want.shape) == batch
    assert str(got.dtype) == "float64"


@pytest.mark.kernel_free
def test_independent_and_multivariate_over_an_empty_batch():
    base = D.Normal(cr.zeros(0, 3), cr.ones(0, 3))
    d = D.Independent(base, 1)
    assert tuple(d.log_prob(cr.zeros(0, 3)).shape) == (0,)
    assert tuple(d.log_prob(cr.zeros(4, 0, 3)).shape) == (4, 0)
    assert tuple(d.entropy().shape) == (0,)
    mvn = D.MultivariateNormal(cr.zeros(0, 3), cr.eye(3))
    assert tuple(mvn.log_prob(cr.zeros(0, 3)).shape) == (0,)
    assert D.constraints.independent(D.constraints.real, 1).check(cr.zeros(0, 3)).shape == (0,)
    # the same distributions over a batch of one element give the values the empty batch lacks
    one = D.Independent(D.Normal(cr.zeros(1, 3), cr.ones(1, 3)), 1)
    np.testing.assert_allclose(
        one.log_prob(cr.zeros(1, 3)).numpy(), [-1.5 * np.log(2 * np.pi)], rtol=1e-6
    )


# ---- integer parameters ----------------------------------------------------------------------
# A continuous draw was cast to the parameters' dtype: Normal(int loc).sample() returned zeros,
# Uniform and Dirichlet truncated theirs, Gamma divided truncated draws. PyTorch refuses those
# draws (NotImplementedError, RuntimeError or TypeError), and draws VonMises(int loc) truncated.

_INT = {
    "Normal": dict(loc=[0, 1], scale=[1, 2]),
    "Uniform": dict(low=[0, 1], high=[3, 4]),
    "Exponential": dict(rate=[1, 2]),
    "Laplace": dict(loc=[0, 1], scale=[1, 2]),
    "Gamma": dict(concentration=[1, 2], rate=[1, 2]),
    "Dirichlet": dict(concentration=[1, 2, 3]),
    "Beta": dict(concentration1=[1, 2], concentration0=[1, 2]),
    "VonMises": dict(loc=[0, 1], concentration=[1.0, 2.0]),
}


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", sorted(_INT))
def test_continuous_draws_of_integer_parameters_are_refused(name):
    params = {k: cr.tensor(v) for k, v in _INT[name].items()}
    d = getattr(D, name)(**params, validate_args=False)
    with pytest.raises(TypeError, match="floating-point"):
        d.sample((3,))
    # the densities of the same distribution are PyTorch's
    tparams = {k: torch.tensor(v) for k, v in _INT[name].items()}
    t = getattr(TD, name)(**tparams, validate_args=False)
    np.testing.assert_allclose(d.mean.numpy(), t.mean.numpy(), rtol=1e-6)
    f = getattr(D, name)(**{k: v.double() for k, v in params.items()})
    assert f.sample((3,)).dtype == cr.float64


@pytest.mark.kernel_free
def test_categorical_undefined_moments_carry_no_gradient():
    """Categorical's mean and variance (undefined: NaN) were probs[..., 0] * nan, whose gradient
    is NaN: a loss that took them, even through nan_to_num, filled the probs' gradient with NaN.
    PyTorch's are full(nan) tensors without a gradient."""
    p = cr.tensor([[0.2, 0.8]], requires_grad=True)
    d = D.Categorical(probs=p)
    assert not d.mean.requires_grad and not d.variance.requires_grad
    assert tuple(d.mean.shape) == tuple(TD.Categorical(probs=torch.tensor([[0.2, 0.8]])).mean.shape)
    loss = D.Normal(p, 1.0).mean.sum() + d.mean.nan_to_num().sum() + d.variance.nan_to_num().sum()
    loss.backward()
    np.testing.assert_array_equal(p.grad.numpy(), [[1.0, 1.0]])
