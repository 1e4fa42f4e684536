"""Gamma, Beta, Dirichlet, Poisson, Binomial and the log-gamma/digamma they rest on (chainrule's
own, ops/special_fns.py), against scipy.special and torch.distributions (float64)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import digamma, lgamma, polygamma
from chainrule.distributions import Beta, Binomial, Dirichlet, Gamma, Poisson, kl_divergence

from .._case_loop import each_case, grid
from ._oracle import compare, compare_grads, leaves

R = np.random.default_rng(3)
A, B = R.uniform(0.3, 4.0, (2, 3)), R.uniform(0.3, 4.0, (2, 3))
UNIT = R.uniform(0.05, 0.95, (2, 3))
COUNTS = R.integers(0, 8, (2, 3)).astype(float)
SIMPLEX = R.dirichlet(np.ones(3), 2)
# Gradients of entropies and KLs go through digamma's derivative, trigamma. PyTorch's float64
# trigamma is accurate to about 1e-9 (a short asymptotic series; chainrule's agrees with
# scipy.special.polygamma to 1e-14, test_lgamma_and_polygamma_match_scipy), so those gradients
# are compared to PyTorch's at that accuracy; the rest at 1e-12.
TRIGAMMA_RTOL = 1e-8


@pytest.mark.kernel_free
def test_lgamma_and_polygamma_match_scipy():
    special = pytest.importorskip("scipy.special")
    x = np.concatenate([np.geomspace(1e-6, 1e5, 400), np.linspace(0.4, 3.0, 300)])
    ours = lgamma(cr.tensor(x)).numpy()
    np.testing.assert_allclose(ours, special.gammaln(x), rtol=1e-14, atol=1e-14)
    negative = -np.linspace(0.05, 4.95, 40) - 0.013
    np.testing.assert_allclose(lgamma(cr.tensor(negative)).numpy(), special.gammaln(negative),
                               rtol=1e-13, atol=1e-13)
    for n in range(4):
        np.testing.assert_allclose(polygamma(n, cr.tensor(x)).numpy(), special.polygamma(n, x),
                                   rtol=1e-14, atol=1e-14)
    assert digamma(cr.tensor([0.0])).item() == -np.inf  # PyTorch's value at the pole
    below_zero = cr.tensor([-1.5], dtype=cr.float64)
    np.testing.assert_allclose(digamma(below_zero).numpy(), special.digamma([-1.5]), rtol=1e-14)
    assert (lgamma(cr.tensor([0.0, -1.0, -2.0])).numpy() == np.inf).all()


@pytest.mark.kernel_free
def test_lgamma_and_digamma_gradients():
    x = cr.tensor([0.3, 1.0, 2.5, 7.0, 40.0], dtype=cr.float64, requires_grad=True)
    assert cr.gradcheck(lgamma, [x])
    assert cr.gradgradcheck(lgamma, [x])
    assert cr.gradcheck(digamma, [x])
    assert cr.gradgradcheck(digamma, [x])


CASES = {
    "Gamma": (lambda D, p: D.Gamma(p["a"], p["b"]), {"a": A, "b": B}, 3 * UNIT, True),
    "Beta": (lambda D, p: D.Beta(p["a"], p["b"]), {"a": A, "b": B}, UNIT, True),
    "Dirichlet": (lambda D, p: D.Dirichlet(p["a"]), {"a": A}, SIMPLEX, True),
    "Poisson": (lambda D, p: D.Poisson(p["a"]), {"a": A}, COUNTS, False),
    "Binomial-probs": (lambda D, p: D.Binomial(9, probs=p["u"]), {"u": UNIT}, COUNTS, False),
    "Binomial-logits": (lambda D, p: D.Binomial(9, logits=p["a"] - 2), {"a": A}, COUNTS, False),
}


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("name", list(CASES))
def test_matches_pytorch_with_gradients(name):
    torch = pytest.importorskip("torch")
    build, params, value, has_entropy = CASES[name]
    ours_p, theirs_p = leaves(cr, params), leaves(torch, params)
    ours, theirs = build(cr.distributions, ours_p), build(torch.distributions, theirs_p)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    lp = ours.log_prob(cr.tensor(value))
    tlp = theirs.log_prob(torch.tensor(value))
    compare(lp, tlp, rtol=1e-13)
    compare_grads(lp, tlp, ours_p, theirs_p, rtol=1e-12)
    if has_entropy:
        compare(ours.entropy(), theirs.entropy(), rtol=1e-13)
        compare_grads(ours.entropy(), theirs.entropy(), ours_p, theirs_p, rtol=TRIGAMMA_RTOL)
    for prop in ("mean", "mode", "variance"):
        compare(getattr(ours, prop), getattr(theirs, prop))


PAIRS = {
    "Gamma": lambda D, p: (D.Gamma(p["a"], p["b"]), D.Gamma(p["b"], p["a"])),
    "Beta": lambda D, p: (D.Beta(p["a"], p["b"]), D.Beta(p["b"], p["a"])),
    "Dirichlet": lambda D, p: (D.Dirichlet(p["a"]), D.Dirichlet(p["b"])),
    "Poisson": lambda D, p: (D.Poisson(p["a"]), D.Poisson(p["b"])),
    "Binomial": lambda D, p: (D.Binomial(7, probs=p["a"] / 5), D.Binomial(7, logits=p["b"])),
}


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("name", list(PAIRS))
def test_kl_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    params = {"a": A, "b": B}
    ours_p, theirs_p = leaves(cr, params), leaves(torch, params)
    ours = kl_divergence(*PAIRS[name](cr.distributions, ours_p))
    theirs = torch.distributions.kl_divergence(*PAIRS[name](torch.distributions, theirs_p))
    compare(ours, theirs, rtol=1e-13)
    compare_grads(ours, theirs, ours_p, theirs_p,
                  rtol=1e-12 if name in ("Poisson", "Binomial") else TRIGAMMA_RTOL)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", list(PAIRS))
def test_kl_and_log_prob_gradcheck(name):
    def kl(a, b):
        return kl_divergence(*PAIRS[name](cr.distributions, {"a": a, "b": b}))

    inputs = [cr.tensor(A, requires_grad=True), cr.tensor(B, requires_grad=True)]
    assert cr.gradcheck(kl, inputs)
    build, params, value, _ = CASES[name if name != "Binomial" else "Binomial-probs"]
    names = list(params)

    def log_prob(*xs):
        return build(cr.distributions, dict(zip(names, xs))).log_prob(cr.tensor(value))

    assert cr.gradcheck(log_prob, [cr.tensor(params[n], requires_grad=True) for n in names])


@pytest.mark.kernel_free
@pytest.mark.parametrize("make, mean, var", [
    (lambda: Gamma(cr.tensor(2.5, dtype=cr.float64), 2.0), 1.25, 0.625),
    (lambda: Beta(cr.tensor(2.0, dtype=cr.float64), 3.0), 0.4, 0.04),
    (lambda: Poisson(cr.tensor(3.5, dtype=cr.float64)), 3.5, 3.5),
    (lambda: Binomial(10, probs=cr.tensor(0.3, dtype=cr.float64)), 3.0, 2.1),
], ids=["Gamma", "Beta", "Poisson", "Binomial"])
def test_sample_mean_and_variance(make, mean, var):
    n = 40000
    x = make().sample((n,), rng=np.random.default_rng(6)).numpy()
    assert abs(x.mean() - mean) < 4 * np.sqrt(var / n)
    assert abs(x.var() - var) < 0.05 * var


@pytest.mark.kernel_free
def test_dirichlet_samples_lie_on_the_simplex_with_the_mean():
    d = Dirichlet(cr.tensor([1.0, 2.0, 5.0], dtype=cr.float64))
    x = d.sample((20000,), rng=np.random.default_rng(2)).numpy()
    np.testing.assert_allclose(x.sum(-1), 1.0, rtol=1e-12)
    sd = np.sqrt(d.variance.numpy() / 20000)
    assert np.all(np.abs(x.mean(0) - d.mean.numpy()) < 4 * sd)


_BAD_PARAMETERS_AND_VALUES_ARE_REFUSED = [
    (lambda: Gamma(1.0, -1.0), None, "rate .* GreaterThan"),
    (lambda: Beta(0.0, 1.0), None, "concentration1"),
    (lambda: Dirichlet(cr.tensor([1.0, -1.0])), None, "concentration"),
    (lambda: Dirichlet(cr.tensor(1.0)), None, "at least one-dimensional"),
    (lambda: Binomial(3), None, "exactly one of probs or logits"),
    (lambda: Binomial(2.5, probs=cr.tensor(0.5)), None, "total_count"),
    (lambda: Poisson(2.0), cr.tensor([1.5]), "support"),
    (lambda: Binomial(3, probs=cr.tensor(0.5)), cr.tensor([4.0]), "support"),
    (lambda: Beta(1.0, 1.0), cr.tensor([1.5]), "support"),
    (lambda: Dirichlet(cr.tensor([1.0, 1.0])), cr.tensor([0.3, 0.3]), "support"),
]


def _bad_parameters_and_values_are_refused_case(make, value, match):
    with pytest.raises(ValueError, match=match):
        d = make()
        d.log_prob(value)


@pytest.mark.kernel_free
def test_bad_parameters_and_values_are_refused():
    each_case(_bad_parameters_and_values_are_refused_case, grid(
        ("make, value, match", _BAD_PARAMETERS_AND_VALUES_ARE_REFUSED),
    ))


@pytest.mark.kernel_free
def test_binomial_kl_of_different_counts():
    p, q = Binomial(3, probs=cr.tensor(0.5)), Binomial(4, probs=cr.tensor(0.5))
    with pytest.raises(NotImplementedError, match="q.total_count > p.total_count"):
        kl_divergence(p, q)
    assert kl_divergence(q, p).item() == np.inf


@pytest.mark.kernel_free
@pytest.mark.torch
def test_binomial_entropy_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours_p, theirs_p = leaves(cr, {"u": UNIT}), leaves(torch, {"u": UNIT})
    ours = Binomial(6, probs=ours_p["u"]).entropy()
    theirs = torch.distributions.Binomial(6, probs=theirs_p["u"]).entropy()
    compare(ours, theirs, rtol=1e-13)
    compare_grads(ours, theirs, ours_p, theirs_p, rtol=1e-11)
    with pytest.raises(NotImplementedError, match="Inhomogeneous"):
        Binomial(cr.tensor([2.0, 3.0]), probs=cr.tensor([0.5, 0.5])).entropy()


@pytest.mark.kernel_free
@pytest.mark.parametrize("a", [0.3, 1.0, 2.5, 10.0, 200.0])
def test_gamma_reparameterisation_gradient_is_the_quantiles_derivative(a):
    """dz/da at fixed CDF level u: against central differences of scipy's gammaincinv."""
    special = pytest.importorskip("scipy.special")
    from chainrule.distributions._special import standard_gamma_grad_array

    u = np.linspace(0.01, 0.99, 25)
    z = special.gammaincinv(a, u)
    h = a * 1e-5
    numerical = (special.gammaincinv(a + h, u) - special.gammaincinv(a - h, u)) / (2 * h)
    np.testing.assert_allclose(standard_gamma_grad_array(z, np.full_like(z, a)), numerical,
                               rtol=1e-6)


@pytest.mark.kernel_free
@pytest.mark.parametrize("a", [0.05, 2.5, 100.0])
def test_gamma_reparameterisation_gradient_against_mpmath(a):
    mp = pytest.importorskip("mpmath")
    special = pytest.importorskip("scipy.special")
    from chainrule.distributions._special import standard_gamma_grad_array

    mp.mp.dps = 30
    for q in (1e-4, 0.5, 0.9999):
        z = float(special.gammaincinv(a, q))
        d_cdf = mp.diff(lambda s, z=z: mp.gammainc(s, 0, z, regularized=True), a)
        density = mp.mpf(z) ** (a - 1) * mp.exp(-z) / mp.gamma(a)
        exact = float(-d_cdf / density)
        ours = standard_gamma_grad_array(np.array([z]), np.array([a]))[0]
        assert abs(ours - exact) <= 1e-8 * abs(exact), (a, q, ours, exact)


@pytest.mark.kernel_free
def test_gamma_rsample_backward_uses_the_implicit_gradient():
    from chainrule.distributions._special import standard_gamma_grad_array

    a = cr.tensor([0.7, 3.0], dtype=cr.float64, requires_grad=True)
    b = cr.tensor([2.0, 0.5], dtype=cr.float64, requires_grad=True)
    z = Gamma(a, b).rsample((3,), rng=np.random.default_rng(1))
    z.sum().backward()
    raw = z.detach().numpy() * b.numpy()
    np.testing.assert_allclose(a.grad.numpy(), (standard_gamma_grad_array(
        raw, np.broadcast_to(a.numpy(), raw.shape)) / b.numpy()).sum(0), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), (-raw / b.numpy() ** 2).sum(0), rtol=1e-12)
    assert not Gamma(a, b).sample().requires_grad


@pytest.mark.kernel_free
@pytest.mark.parametrize("make, grad_of_mean", [
    (lambda a: Gamma(a, 2.0), lambda a: np.full_like(a, 0.5)),
    (lambda a: Beta(a, cr.tensor(2.0, dtype=cr.float64)), lambda a: 2.0 / (a + 2.0) ** 2),
    (lambda a: Dirichlet(cr.stack([a, a * 0 + 1.5], -1)),
     lambda a: 1.5 / (a + 1.5) ** 2),
], ids=["Gamma", "Beta", "Dirichlet"])
def test_rsample_gradients_are_unbiased(make, grad_of_mean):
    """The mean over draws of d(draw)/da estimates dE[draw]/da (within four standard errors)."""
    n = 20000
    a = np.array([0.6, 2.5])
    # One concentration per draw, so that each draw's own gradient can be read.
    a_each = cr.tensor(np.tile(a, (n, 1)), requires_grad=True)
    draws = make(a_each).rsample(rng=np.random.default_rng(5))
    first = draws[..., 0] if draws.ndim == 3 else draws
    (g,) = cr.grad(first.sum(), [a_each])
    g = g.numpy()
    error = np.abs(g.mean(0) - grad_of_mean(a))
    assert np.all(error < 4 * g.std(0) / np.sqrt(n)), (g.mean(0), grad_of_mean(a))


@pytest.mark.kernel_free
def test_incomplete_gamma_matches_scipy():
    special = pytest.importorskip("scipy.special")
    from chainrule.distributions._special import gammainc_array

    a = np.geomspace(0.01, 200.0, 40)[:, None]
    x = np.concatenate([[0.0], np.geomspace(1e-6, 500.0, 60)])[None, :]
    np.testing.assert_allclose(gammainc_array(a, x), special.gammainc(a, x), rtol=1e-11,
                               atol=1e-13)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_gamma_cdf_matches_pytorch_and_its_gradients_are_right():
    torch = pytest.importorskip("torch")
    params = {"a": A, "b": B}
    ours_p, theirs_p = leaves(cr, params), leaves(torch, params)
    value = 3 * UNIT
    ours = Gamma(ours_p["a"], ours_p["b"]).cdf(cr.tensor(value))
    theirs = torch.distributions.Gamma(theirs_p["a"], theirs_p["b"]).cdf(torch.tensor(value))
    compare(ours, theirs, rtol=1e-12)
    # PyTorch's igamma has no gradient in its first argument: compare the rate's only, and
    # check the concentration's by finite differences.
    (ours_rate,) = cr.grad(ours.sum(), [ours_p["b"]])
    (theirs_rate,) = torch.autograd.grad(theirs.sum(), [theirs_p["b"]])
    compare(ours_rate, theirs_rate, rtol=1e-12)
    v = cr.tensor(value)
    assert cr.gradcheck(lambda a, b: Gamma(a, b).cdf(v), [cr.tensor(A, requires_grad=True),
                                                         cr.tensor(B, requires_grad=True)])


@pytest.mark.kernel_free
@pytest.mark.torch
def test_beta_mode_with_both_concentrations_below_one_is_pytorchs():
    # Both below 1 the density is infinite at 0 and 1; PyTorch returns 1 (the first corner of
    # Dirichlet((a, b))) whichever is smaller. chainrule gave 0 where a < b, silently.
    torch = pytest.importorskip("torch")
    a, b = [0.4, 0.8, 0.5, 2.0, 0.5], [0.8, 0.4, 0.5, 3.0, 2.0]
    ours = Beta(cr.tensor(a, dtype=cr.float64), cr.tensor(b, dtype=cr.float64)).mode
    theirs = torch.distributions.Beta(torch.tensor(a, dtype=torch.float64),
                                      torch.tensor(b, dtype=torch.float64)).mode
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
