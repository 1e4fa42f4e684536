"""ContinuousBernoulli, FisherSnedecor, VonMises and LowRankMultivariateNormal against
torch.distributions and scipy (float64), with gradchecks, sample statistics and validation."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import distributions as D

from ._oracle import compare, compare_grads, leaves

R = np.random.default_rng(17)
A, B = R.uniform(0.6, 3.0, (2, 3)), R.uniform(4.5, 9.0, (2, 3))
U = R.uniform(0.05, 0.95, (2, 3))
# probabilities on both sides of 0.5, and inside PyTorch's Taylor window (0.499, 0.501]
P = np.array([[0.1, 0.4995, 0.5], [0.5008, 0.7, 0.97]])
X = R.standard_normal((2, 3))
N, RANK = 4, 2
LOC, W, DIAG = R.standard_normal((2, N)), R.standard_normal((2, N, RANK)), R.uniform(0.5, 2, N)
V4 = R.standard_normal((3, 2, N))

CASES = {
    "ContinuousBernoulli": (lambda M, p: M.ContinuousBernoulli(probs=p["p"]), {"p": P}, U, True),
    "ContinuousBernoulli-logits": (lambda M, p: M.ContinuousBernoulli(logits=p["x"]), {"x": X},
                                   U, True),
    "FisherSnedecor": (lambda M, p: M.FisherSnedecor(p["a"], p["b"]), {"a": A, "b": B}, 2 * U,
                       False),
    "LowRankMultivariateNormal": (lambda M, p: M.LowRankMultivariateNormal(p["m"], p["w"],
                                                                           p["d"]),
                                  {"m": LOC, "w": W, "d": DIAG}, V4, False),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", list(CASES))
def test_matches_pytorch_with_gradients(name):
    torch = pytest.importorskip("torch")
    build, params, value, quantiles = CASES[name]
    ours_p, theirs_p = leaves(cr, params), leaves(torch, params)
    ours, theirs = build(D, ours_p), build(torch.distributions, theirs_p)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    lp, tlp = ours.log_prob(cr.tensor(value)), theirs.log_prob(torch.tensor(value))
    compare(lp, tlp, rtol=1e-12)
    compare_grads(lp, tlp, ours_p, theirs_p, rtol=1e-10)
    if name != "FisherSnedecor":  # PyTorch has no entropy for it
        ent, tent = ours.entropy(), theirs.entropy()
        compare(ent, tent, rtol=1e-12)
        compare_grads(ent, tent, ours_p, theirs_p, rtol=1e-10)
    props = ["mean", "mode", "variance"]
    if name.startswith("LowRank"):
        props += ["covariance_matrix", "precision_matrix", "scale_tril"]
    for prop in props:
        try:
            expected = getattr(theirs, prop)
        except NotImplementedError:
            continue
        compare(getattr(ours, prop), expected, rtol=1e-11)
    if quantiles:
        # PyTorch's cdf and icdf are Uniform(0, 1)'s inside (0.499, 0.501] (chainrule's are exact
        # there: test_continuous_bernoulli_density_integrates_to_one_and_matches_its_cdf)
        p = theirs.probs.detach().numpy()
        stable = (p <= 0.499) | (p > 0.501)
        cdf, tcdf = ours.cdf(cr.tensor(value)), theirs.cdf(torch.tensor(value))
        np.testing.assert_allclose(cdf.numpy()[stable], tcdf.detach().numpy()[stable], rtol=1e-12)
        icdf, ticdf = ours.icdf(cr.tensor(U)), theirs.icdf(torch.tensor(U))
        np.testing.assert_allclose(icdf.numpy()[stable], ticdf.detach().numpy()[stable],
                                   rtol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_log_prob_gradcheck(name):
    build, params, value, _ = CASES[name]
    names = list(params)

    def log_prob(*xs):
        return build(D, dict(zip(names, xs))).log_prob(cr.tensor(value))

    assert cr.gradcheck(log_prob, [cr.tensor(params[n], requires_grad=True) for n in names])


@pytest.mark.parametrize("name", ["ContinuousBernoulli-logits", "LowRankMultivariateNormal"])
def test_rsample_gradcheck(name):
    """rsample at fixed noise is a smooth function of the parameters."""
    build, params, _, _ = CASES[name]
    names = list(params)

    def draw(*xs):
        return build(D, dict(zip(names, xs))).rsample((2,), rng=np.random.default_rng(3))

    assert cr.gradcheck(draw, [cr.tensor(params[n], requires_grad=True) for n in names])


def test_continuous_bernoulli_density_integrates_to_one_and_matches_its_cdf():
    d = D.ContinuousBernoulli(probs=cr.tensor(P.reshape(-1)))
    grid = np.linspace(0, 1, 20001)
    density = np.exp(d.log_prob(cr.tensor(np.repeat(grid[:, None], 6, 1))).numpy())
    np.testing.assert_allclose(np.trapezoid(density, grid, axis=0), 1.0, rtol=1e-7)
    half = np.trapezoid(density[:10001], grid[:10001], axis=0)
    np.testing.assert_allclose(d.cdf(cr.tensor(np.full(6, 0.5))).numpy(), half, rtol=1e-7)
    q = cr.tensor(R.uniform(0.05, 0.95, 6))
    np.testing.assert_allclose(d.cdf(d.icdf(q)).numpy(), q.numpy(), rtol=1e-12)


def test_von_mises_matches_scipy_with_gradients():
    stats = pytest.importorskip("scipy.stats")
    loc, kappa = cr.tensor(X, requires_grad=True), cr.tensor(A * 3, requires_grad=True)
    value = R.uniform(-np.pi, np.pi, (2, 3))
    d = D.VonMises(loc, kappa)
    np.testing.assert_allclose(d.log_prob(cr.tensor(value)).numpy(),
                               stats.vonmises.logpdf(value, A * 3, loc=X), rtol=1e-12)
    special = pytest.importorskip("scipy.special")
    np.testing.assert_allclose(d.variance.numpy(),
                               1 - special.i1(A * 3) / special.i0(A * 3), rtol=1e-12)

    def log_prob(a, k):
        return D.VonMises(a, k).log_prob(cr.tensor(value))

    assert cr.gradcheck(log_prob, [loc, kappa])


@pytest.mark.torch
def test_von_mises_log_prob_is_pytorchs_up_to_its_bessel_approximation():
    # PyTorch's log I0 is a polynomial fit (Abramowitz and Stegun 9.8.1-2), good to about 1e-7.
    torch = pytest.importorskip("torch")
    value = R.uniform(-np.pi, np.pi, (2, 3))
    ours = D.VonMises(cr.tensor(X), cr.tensor(A)).log_prob(cr.tensor(value)).numpy()
    theirs = torch.distributions.VonMises(torch.tensor(X), torch.tensor(A)).log_prob(
        torch.tensor(value)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("kappa", [1e-6, 0.5, 4.0, 60.0])
def test_von_mises_samples_have_the_circular_mean_and_variance(kappa):
    d = D.VonMises(cr.tensor([2.5], dtype=cr.float64), cr.tensor([kappa], dtype=cr.float64))
    n = 20000
    x = d.sample((n,), rng=np.random.default_rng(4)).numpy()[:, 0]
    assert x.min() >= -np.pi and x.max() < np.pi
    resultant = np.exp(1j * x).mean()
    variance = d.variance.item()
    assert abs((1 - abs(resultant)) - variance) < 4 * np.sqrt(1 / n) + 1e-3 * (kappa > 50)
    if kappa > 0.1:
        assert abs(np.angle(resultant) - 2.5) < 4 / np.sqrt(n * (1 - variance) * kappa)


def test_fisher_snedecor_and_continuous_bernoulli_sample_statistics():
    n = 20000
    f = D.FisherSnedecor(cr.tensor(6.0, dtype=cr.float64), cr.tensor(12.0, dtype=cr.float64))
    x = f.sample((n,), rng=np.random.default_rng(5)).numpy()
    assert abs(x.mean() - f.mean.item()) < 4 * np.sqrt(f.variance.item() / n)
    c = D.ContinuousBernoulli(probs=cr.tensor([0.2, 0.5, 0.9], dtype=cr.float64))
    y = c.sample((n,), rng=np.random.default_rng(6)).numpy()
    assert (np.abs(y.mean(0) - c.mean.numpy()) < 4 * np.sqrt(c.variance.numpy() / n)).all()


def test_low_rank_samples_have_the_covariance():
    d = D.LowRankMultivariateNormal(cr.tensor(LOC[0]), cr.tensor(W[0]), cr.tensor(DIAG))
    x = d.sample((40000,), rng=np.random.default_rng(7)).numpy()
    np.testing.assert_allclose(np.cov(x.T), d.covariance_matrix.numpy(), atol=0.12)
    np.testing.assert_allclose(x.mean(0), LOC[0], atol=0.05)


@pytest.mark.parametrize("name", ["ContinuousBernoulli", "FisherSnedecor", "VonMises",
                                  "LowRankMultivariateNormal"])
def test_manual_seed_repeats_draws_and_expand_keeps_shapes(name):
    d = {"ContinuousBernoulli": lambda: D.ContinuousBernoulli(cr.tensor([0.3, 0.8])),
         "FisherSnedecor": lambda: D.FisherSnedecor(cr.tensor([3.0, 5.0]), 4.0),
         "VonMises": lambda: D.VonMises(cr.tensor([0.0, 1.0]), 2.0),
         "LowRankMultivariateNormal": lambda: D.LowRankMultivariateNormal(
             cr.zeros(2, 3), cr.ones(2, 3, 1), cr.ones(3))}[name]()
    cr.manual_seed(3)
    first = d.sample((2,)).numpy()
    cr.manual_seed(3)
    np.testing.assert_array_equal(d.sample((2,)).numpy(), first)
    e = d.expand((4, 2))
    assert tuple(e.sample().shape) == (4, 2) + tuple(d.event_shape)
    assert tuple(e.log_prob(e.sample()).shape) == (4, 2)


@pytest.mark.parametrize("make, value, match", [
    (lambda: D.ContinuousBernoulli(probs=cr.tensor([1.5])), None, "probs"),
    (lambda: D.ContinuousBernoulli(), None, "exactly one of probs or logits"),
    (lambda: D.ContinuousBernoulli(cr.tensor([0.3])), cr.tensor([1.2]), "support"),
    (lambda: D.FisherSnedecor(-1.0, 2.0), None, "df1"),
    (lambda: D.FisherSnedecor(2.0, 2.0), cr.tensor([-1.0]), "support"),
    (lambda: D.VonMises(0.0, 0.0), None, "concentration"),
    (lambda: D.LowRankMultivariateNormal(cr.zeros(3), cr.ones(3, 1), -cr.ones(3)), None,
     "cov_diag"),
    (lambda: D.LowRankMultivariateNormal(cr.zeros(3), cr.ones(2, 1), cr.ones(3)), None,
     r"cov_factor of shape \(2, 1\) for loc of shape \(3,\)"),
    (lambda: D.LowRankMultivariateNormal(cr.zeros(3), cr.ones(3, 1), cr.ones(2)), None,
     r"cov_diag of shape \(2,\)"),
    (lambda: D.LowRankMultivariateNormal(cr.zeros(3), cr.ones(3), cr.ones(3)), None,
     "cov_factor must be a Tensor of at least 2 dimensions"),
])
def test_bad_parameters_and_values_are_refused(make, value, match):
    with pytest.raises(ValueError, match=match):
        make().log_prob(value)
