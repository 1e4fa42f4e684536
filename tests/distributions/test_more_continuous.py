"""ContinuousBernoulli, FisherSnedecor, VonMises and LowRankMultivariateNormal against
torch.distributions and scipy (float64), with gradchecks, sample statistics and validation."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import distributions as D

from .._case_loop import each_case, grid
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


@pytest.mark.kernel_free
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


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", list(CASES))
def test_log_prob_gradcheck(name):
    build, params, value, _ = CASES[name]
    names = list(params)

    def log_prob(*xs):
        return build(D, dict(zip(names, xs))).log_prob(cr.tensor(value))

    assert cr.gradcheck(log_prob, [cr.tensor(params[n], requires_grad=True) for n in names])


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", ["ContinuousBernoulli-logits", "LowRankMultivariateNormal"])
def test_rsample_gradcheck(name):
    """rsample at fixed noise is a smooth function of the parameters."""
    build, params, _, _ = CASES[name]
    names = list(params)

    def draw(*xs):
        return build(D, dict(zip(names, xs))).rsample((2,), rng=np.random.default_rng(3))

    assert cr.gradcheck(draw, [cr.tensor(params[n], requires_grad=True) for n in names])


@pytest.mark.kernel_free
def test_continuous_bernoulli_density_integrates_to_one_and_matches_its_cdf():
    d = D.ContinuousBernoulli(probs=cr.tensor(P.reshape(-1)))
    grid = np.linspace(0, 1, 20001)
    density = np.exp(d.log_prob(cr.tensor(np.repeat(grid[:, None], 6, 1))).numpy())
    np.testing.assert_allclose(np.trapezoid(density, grid, axis=0), 1.0, rtol=1e-7)
    half = np.trapezoid(density[:10001], grid[:10001], axis=0)
    np.testing.assert_allclose(d.cdf(cr.tensor(np.full(6, 0.5))).numpy(), half, rtol=1e-7)
    q = cr.tensor(R.uniform(0.05, 0.95, 6))
    np.testing.assert_allclose(d.cdf(d.icdf(q)).numpy(), q.numpy(), rtol=1e-12)


@pytest.mark.kernel_free
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


@pytest.mark.kernel_free
@pytest.mark.torch
def test_von_mises_log_prob_is_pytorchs_up_to_its_bessel_approximation():
    # PyTorch's log I0 is a polynomial fit (Abramowitz and Stegun 9.8.1-2), good to about 1e-7.
    torch = pytest.importorskip("torch")
    value = R.uniform(-np.pi, np.pi, (2, 3))
    ours = D.VonMises(cr.tensor(X), cr.tensor(A)).log_prob(cr.tensor(value)).numpy()
    theirs = torch.distributions.VonMises(torch.tensor(X), torch.tensor(A)).log_prob(
        torch.tensor(value)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.kernel_free
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


@pytest.mark.kernel_free
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


@pytest.mark.kernel_free
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


_BAD_PARAMETERS_AND_VALUES_ARE_REFUSED = [
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
]


def _bad_parameters_and_values_are_refused_case(make, value, match):
    with pytest.raises(ValueError, match=match):
        make().log_prob(value)


@pytest.mark.kernel_free
def test_bad_parameters_and_values_are_refused():
    each_case(_bad_parameters_and_values_are_refused_case, grid(
        ("make, value, match", _BAD_PARAMETERS_AND_VALUES_ARE_REFUSED),
    ))


GP_C = np.array([[-0.5, 0.0, 0.3], [-1.0, 2e-9, 0.8]])
GP_V = np.array([[0.5, 1.0, 2.0], [0.7, 3.0, 0.4]])


@pytest.mark.kernel_free
def test_generalized_pareto_matches_scipy():
    # (PyTorch's GeneralizedPareto.log_prob fails on float64 parameters: it compares them with a
    # float32 zero, so scipy is the float64 oracle here)
    stats = pytest.importorskip("scipy.stats")
    d = D.GeneralizedPareto(cr.tensor(0.1, dtype=cr.float64), cr.tensor(1.5, dtype=cr.float64),
                            cr.tensor(GP_C))
    ref = stats.genpareto(np.where(np.abs(GP_C) <= 1e-8, 0.0, GP_C), loc=0.1, scale=1.5)
    np.testing.assert_allclose(d.log_prob(cr.tensor(GP_V)).numpy(), ref.logpdf(GP_V),
                               rtol=1e-12)
    np.testing.assert_allclose(d.cdf(cr.tensor(GP_V)).numpy(), ref.cdf(GP_V), rtol=1e-12)
    np.testing.assert_allclose(d.icdf(cr.tensor(U)).numpy(), ref.ppf(U), rtol=1e-12)
    # the moments and entropy take the concentration as it is
    exact = stats.genpareto(GP_C, loc=0.1, scale=1.5)
    np.testing.assert_allclose(d.entropy().numpy(), exact.entropy(), rtol=1e-12)
    mean, var = exact.stats("mv")
    np.testing.assert_allclose(d.mean.numpy(), np.where(GP_C < 1, mean, np.nan), rtol=1e-12)
    np.testing.assert_allclose(d.variance.numpy(), np.where(GP_C < 0.5, var, np.nan),
                               rtol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_generalized_pareto_quantiles_and_moments_match_pytorch():
    torch = pytest.importorskip("torch")
    args = (0.1, 1.5, GP_C)
    ours = D.GeneralizedPareto(*(cr.tensor(a, dtype=cr.float64) for a in args))
    theirs = torch.distributions.GeneralizedPareto(
        *(torch.tensor(a, dtype=torch.float64) for a in args))
    compare(ours.icdf(cr.tensor(U)), theirs.icdf(torch.tensor(U)), rtol=1e-12)
    for prop in ("mean", "variance", "mode"):
        compare(getattr(ours, prop), getattr(theirs, prop), rtol=1e-12)
    compare(ours.entropy(), theirs.entropy(), rtol=1e-12)
    upper = ours.support.upper_bound.numpy()
    np.testing.assert_allclose(upper, theirs.support.upper_bound.numpy(), rtol=1e-12)


@pytest.mark.kernel_free
def test_generalized_pareto_gradients_and_samples():
    def log_prob(loc, scale, c):
        return D.GeneralizedPareto(loc, scale, c).log_prob(cr.tensor(GP_V))

    c = cr.tensor([[-0.3, 0.2, 0.3], [-0.2, 0.1, 0.8]], dtype=cr.float64, requires_grad=True)
    params = [cr.tensor(0.1, dtype=cr.float64, requires_grad=True),
              cr.tensor(1.5, dtype=cr.float64, requires_grad=True), c]
    assert cr.gradcheck(log_prob, params)

    def draw(loc, scale, c):
        return D.GeneralizedPareto(loc, scale, c).rsample((2,), rng=np.random.default_rng(8))

    assert cr.gradcheck(draw, params)
    d = D.GeneralizedPareto(cr.tensor(0.0, dtype=cr.float64), 1.0, 0.2)
    x = d.sample((20000,), rng=np.random.default_rng(9)).numpy()
    assert abs(x.mean() - d.mean.item()) < 4 * np.sqrt(d.variance.item() / 20000)
    with pytest.raises(ValueError, match="support"):
        D.GeneralizedPareto(0.0, 1.0, -0.5).log_prob(cr.tensor([2.5]))
    with pytest.raises(ValueError, match="scale"):
        D.GeneralizedPareto(0.0, -1.0, 0.5)
