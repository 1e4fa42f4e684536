"""Multinomial, NegativeBinomial, Chi2, Gumbel, Weibull, Pareto, Kumaraswamy, HalfCauchy and
LogisticNormal against torch.distributions (float64): values, gradients of log_prob and entropy,
moments, quantiles; then gradchecks, sample statistics, seeding and validation."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import distributions as D

from .._case_loop import each_case, grid
from ._oracle import compare, compare_grads, leaves

R = np.random.default_rng(5)
A, B = R.uniform(0.6, 3.0, (2, 3)), R.uniform(1.2, 3.0, (2, 3))
X = R.standard_normal((2, 3))
U = R.uniform(0.05, 0.95, (2, 3))
K = R.integers(0, 7, (2, 3)).astype(float)
P3 = R.dirichlet(np.ones(3), 2)
COUNTS = np.array([[2.0, 0.0, 3.0], [1.0, 1.0, 3.0]])
SIMPLEX4 = R.dirichlet(np.ones(4), 2)
# trigamma in PyTorch is accurate to about 1e-9 (test_gamma_family.py): entropies through digamma
TRIGAMMA_RTOL = 1e-8

# name: (build, params, value, quantiles: compare cdf/icdf, entropy in both libraries)
CASES = {
    "Multinomial": (lambda M, p: M.Multinomial(5, probs=p["p"]), {"p": P3}, COUNTS, False, True),
    "Multinomial-logits": (lambda M, p: M.Multinomial(5, logits=p["a"]), {"a": A}, COUNTS,
                           False, True),
    "NegativeBinomial": (lambda M, p: M.NegativeBinomial(p["a"], probs=p["u"]),
                         {"a": A, "u": U}, K, False, False),
    "NegativeBinomial-logits": (lambda M, p: M.NegativeBinomial(p["a"], logits=p["x"]),
                                {"a": A, "x": X}, K, False, False),
    "Chi2": (lambda M, p: M.Chi2(p["a"]), {"a": A}, 2 * U, False, True),
    "Gumbel": (lambda M, p: M.Gumbel(p["x"], p["b"]), {"x": X, "b": B}, X[::-1].copy(), True, True),
    "Weibull": (lambda M, p: M.Weibull(p["b"], p["a"]), {"a": A, "b": B}, 2 * U, True, True),
    "Pareto": (lambda M, p: M.Pareto(p["u"], p["a"]), {"a": A, "u": U}, 1 + U, True, True),
    "Kumaraswamy": (lambda M, p: M.Kumaraswamy(p["a"], p["b"]), {"a": A, "b": B}, U, False,
                    True),
    "HalfCauchy": (lambda M, p: M.HalfCauchy(p["b"]), {"b": B}, 2 * U, True, True),
    "InverseGamma": (lambda M, p: M.InverseGamma(p["a"], p["b"]), {"a": A, "b": B}, 2 * U, False,
                     True),
    "LogisticNormal": (lambda M, p: M.LogisticNormal(p["x"], p["b"]), {"x": X, "b": B},
                       SIMPLEX4, False, False),
}


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("name", list(CASES))
def test_matches_pytorch_with_gradients(name):
    torch = pytest.importorskip("torch")
    build, params, value, quantiles, entropy = CASES[name]
    ours_p, theirs_p = leaves(cr, params), leaves(torch, params)
    ours, theirs = build(D, ours_p), build(torch.distributions, theirs_p)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    lp, tlp = ours.log_prob(cr.tensor(value)), theirs.log_prob(torch.tensor(value))
    compare(lp, tlp, rtol=1e-12)
    compare_grads(lp, tlp, ours_p, theirs_p, rtol=1e-11)
    if entropy:
        ent, tent = ours.entropy(), theirs.entropy()
        if name.startswith("Multinomial"):
            # PyTorch takes lgamma(total_count + 1) of an integer tensor, in float32.
            exact = torch.lgamma(torch.tensor(6.0, dtype=torch.float64))
            tent = tent + torch.lgamma(torch.tensor(6)).double() - exact
        compare(ent, tent, rtol=1e-12)
        # (and to about 1e-10 absolute where the gradient is near 0)
        compare_grads(ent, tent, ours_p, theirs_p, rtol=TRIGAMMA_RTOL, atol=1e-10)
    for prop in ("mean", "variance", "mode"):
        try:
            expected = getattr(theirs, prop)
        except NotImplementedError:
            continue
        if name == "Kumaraswamy" and prop == "mode":
            continue  # PyTorch's is wrong (test_kumaraswamy_mode_is_the_density_maximum)
        compare(getattr(ours, prop), expected, rtol=1e-12)
    if quantiles:
        compare(ours.cdf(cr.tensor(value)), theirs.cdf(torch.tensor(value)), rtol=1e-12)
        compare(ours.icdf(cr.tensor(U)), theirs.icdf(torch.tensor(U)), rtol=1e-11)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", [n for n in CASES if not n.startswith("Multinomial")])
def test_log_prob_gradcheck(name):
    build, params, value, _, _ = CASES[name]
    names = list(params)

    def log_prob(*xs):
        return build(D, dict(zip(names, xs))).log_prob(cr.tensor(value))

    assert cr.gradcheck(log_prob, [cr.tensor(params[n], requires_grad=True) for n in names])


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("name", ["Gumbel", "Weibull", "Pareto", "Kumaraswamy"])
def test_rsample_gradients_match_pytorch_through_the_same_noise(name):
    """Both libraries push the same base draw through their transforms."""
    torch = pytest.importorskip("torch")
    build, params, _, _, _ = CASES[name]
    ours_p, theirs_p = leaves(cr, params), leaves(torch, params)
    ours, theirs = build(D, ours_p), build(torch.distributions, theirs_p)
    base = ours.base_dist.sample((2,), rng=np.random.default_rng(4))
    x, tx = cr.tensor(base.numpy()), torch.tensor(base.numpy())
    for t in ours.transforms:
        x = t(x)
    for t in theirs.transforms:
        tx = t(tx)
    compare(x, tx, rtol=1e-12)
    compare_grads(x, tx, ours_p, theirs_p, rtol=1e-11)


@pytest.mark.kernel_free
@pytest.mark.parametrize("make", [
    lambda s: D.HalfCauchy(s),
    lambda s: D.LogisticNormal(s - 1.0, s),
], ids=["HalfCauchy", "LogisticNormal"])
def test_rsample_gradcheck(make):
    def draw(s):
        return make(s).rsample((3,), rng=np.random.default_rng(6))

    assert cr.gradcheck(draw, [cr.tensor(B, requires_grad=True)])


@pytest.mark.kernel_free
def test_chi2_rsample_gradient_is_the_implicit_gamma_one():
    special = pytest.importorskip("scipy.special")
    df = cr.tensor(A, requires_grad=True)
    x = D.Chi2(df).rsample((2,), rng=np.random.default_rng(1))
    (grad,) = cr.grad(x.sum(), [df])
    # x = 2 Z, P(df / 2, Z) = u fixed: dx/d(df) = dZ/da = -(dP/da) / (dP/dz) at a = df / 2
    a, z, h = np.broadcast_to(A / 2, (2, 2, 3)), x.detach().numpy() / 2, 1e-6
    dp_da = (special.gammainc(a + h, z) - special.gammainc(a - h, z)) / (2 * h)
    density = np.exp((a - 1) * np.log(z) - z - special.gammaln(a))
    np.testing.assert_allclose(grad.numpy(), (-dp_da / density).sum(0), rtol=1e-6)


@pytest.mark.kernel_free
@pytest.mark.parametrize("make, mean, var", [
    (lambda: D.Gumbel(cr.tensor(1.0, dtype=cr.float64), 2.0), 1 + 2 * 0.5772156649,
     (np.pi * 2) ** 2 / 6),
    (lambda: D.Weibull(cr.tensor(2.0, dtype=cr.float64), 1.5), None, None),
    (lambda: D.Pareto(cr.tensor(1.0, dtype=cr.float64), 5.0), 1.25, 5 / 48),
    (lambda: D.Kumaraswamy(cr.tensor(2.0, dtype=cr.float64), 3.0), None, None),
    (lambda: D.Chi2(cr.tensor(3.0, dtype=cr.float64)), 3.0, 6.0),
    (lambda: D.NegativeBinomial(cr.tensor(3.0, dtype=cr.float64), probs=0.4), 2.0, 2 / 0.6),
], ids=["Gumbel", "Weibull", "Pareto", "Kumaraswamy", "Chi2", "NegativeBinomial"])
def test_sample_mean_and_variance(make, mean, var):
    d, n = make(), 20000
    mean = d.mean.item() if mean is None else mean
    var = d.variance.item() if var is None else var
    x = d.sample((n,), rng=np.random.default_rng(8)).numpy()
    assert abs(x.mean() - mean) < 4 * np.sqrt(var / n)
    assert abs(x.var() - var) < 0.15 * var


@pytest.mark.kernel_free
def test_multinomial_samples_are_counts_with_the_right_means():
    probs = cr.tensor([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]], dtype=cr.float64)
    x = D.Multinomial(7, probs=probs).sample((5000,), rng=np.random.default_rng(2)).numpy()
    assert x.shape == (5000, 2, 3) and (x.sum(-1) == 7).all() and (x >= 0).all()
    stderr = np.sqrt(7 * probs.numpy() * (1 - probs.numpy()) / 5000)
    assert (np.abs(x.mean(0) - 7 * probs.numpy()) < 4 * stderr).all()


@pytest.mark.kernel_free
def test_logistic_normal_samples_lie_on_the_simplex_and_invert():
    d = D.LogisticNormal(cr.tensor(X, dtype=cr.float64), cr.tensor(B, dtype=cr.float64))
    y = d.sample((4,))
    assert tuple(y.shape) == (4, 2, 4)
    np.testing.assert_allclose(y.numpy().sum(-1), 1.0, rtol=1e-12)
    t = D.StickBreakingTransform()
    x = cr.tensor(R.standard_normal((3, 5)))
    np.testing.assert_allclose(t.inv(t(x)).numpy(), x.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", ["Gumbel", "Weibull", "Multinomial", "NegativeBinomial",
                                  "LogisticNormal", "Kumaraswamy"])
def test_manual_seed_repeats_draws(name):
    build, params, _, _, _ = CASES[name]
    d = build(D, {k: cr.tensor(v) for k, v in params.items()})
    cr.manual_seed(11)
    first = d.sample((3,)).numpy()
    cr.manual_seed(11)
    np.testing.assert_array_equal(d.sample((3,)).numpy(), first)


@pytest.mark.kernel_free
def test_kumaraswamy_mode_is_the_density_maximum():
    # PyTorch's Kumaraswamy.mode returns NaN where a, b > 1 (it takes log1p(-b)).
    d = D.Kumaraswamy(cr.tensor([2.0, 3.5, 1.0], dtype=cr.float64), cr.tensor([3.0, 1.5, 2.0]))
    grid = np.linspace(1e-6, 1 - 1e-6, 200001)
    density = d.log_prob(cr.tensor(np.repeat(grid[:, None], 3, 1))).numpy()
    np.testing.assert_allclose(d.mode.numpy(), grid[density.argmax(0)], atol=1e-5)
    assert np.isnan(D.Kumaraswamy(cr.tensor(0.5), 2.0).mode.item())


@pytest.mark.kernel_free
def test_expand_broadcasts_the_parameters_too():
    for d in (D.Gumbel(cr.tensor([0.0, 1.0]), 2.0), D.Weibull(cr.tensor([1.0, 2.0]), 1.5),
              D.Pareto(cr.tensor([1.0, 2.0]), 3.0), D.NegativeBinomial(2.0, cr.tensor([.3, .6])),
              D.Chi2(cr.tensor([1.0, 2.0])), D.HalfCauchy(cr.tensor([1.0, 2.0]))):
        e = d.expand((4, 2))
        assert tuple(e.batch_shape) == (4, 2) and tuple(e.mean.shape) == (4, 2)
        assert tuple(e.sample().shape) == (4, 2)
        assert tuple(e.log_prob(e.sample()).shape) == (4, 2)
    m = D.Multinomial(3, probs=cr.tensor([0.2, 0.8])).expand((5,))
    assert tuple(m.sample().shape) == (5, 2)


_BAD_PARAMETERS_AND_VALUES_ARE_REFUSED = [
    (lambda: D.Gumbel(0.0, -1.0), None, "scale"),
    (lambda: D.Weibull(1.0, 0.0), None, "concentration"),
    (lambda: D.Pareto(1.0, -2.0), None, "alpha"),
    (lambda: D.Kumaraswamy(-1.0, 1.0), None, "concentration1"),
    (lambda: D.HalfCauchy(0.0), None, "scale"),
    (lambda: D.Chi2(-3.0), None, "df"),
    (lambda: D.NegativeBinomial(-1.0, probs=0.5), None, "total_count"),
    (lambda: D.NegativeBinomial(2.0, probs=1.0), None, "probs"),
    (lambda: D.NegativeBinomial(2.0), None, "exactly one of probs or logits"),
    (lambda: D.Multinomial(3, probs=cr.tensor([0.5, -0.2])), None, "probs"),
    (lambda: D.Multinomial(-1, probs=cr.tensor([0.5, 0.5])), None, "total_count"),
    (lambda: D.LogisticNormal(cr.tensor([0.0]), -1.0), None, "scale"),
    (lambda: D.Pareto(2.0, 1.0), cr.tensor([1.5]), "support"),
    (lambda: D.Kumaraswamy(2.0, 1.0), cr.tensor([1.5]), "support"),
    (lambda: D.HalfCauchy(1.0), cr.tensor([-0.5]), "support"),
    (lambda: D.NegativeBinomial(2.0, probs=0.5), cr.tensor([1.5]), "support"),
    (lambda: D.Multinomial(3, probs=cr.tensor([0.5, 0.5])), cr.tensor([3.0, 1.0]), "support"),
]


def _bad_parameters_and_values_are_refused_case(make, value, match):
    with pytest.raises(ValueError, match=match):
        make().log_prob(value)


@pytest.mark.kernel_free
def test_bad_parameters_and_values_are_refused():
    each_case(_bad_parameters_and_values_are_refused_case, grid(
        ("make, value, match", _BAD_PARAMETERS_AND_VALUES_ARE_REFUSED),
    ))


@pytest.mark.kernel_free
def test_multinomial_needs_an_int_total_count():
    with pytest.raises(NotImplementedError, match="total_count"):
        D.Multinomial(cr.tensor([2.0, 3.0]), probs=cr.tensor([0.5, 0.5]))


@pytest.mark.kernel_free
@pytest.mark.torch
def test_inverse_gamma_cdf_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours = D.InverseGamma(cr.tensor(A), cr.tensor(B)).cdf(cr.tensor(2 * U))
    theirs = torch.distributions.InverseGamma(torch.tensor(A), torch.tensor(B)).cdf(
        torch.tensor(2 * U))
    compare(ours, theirs, rtol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_one_hot_straight_through_rsample_carries_the_probs_gradient():
    torch = pytest.importorskip("torch")
    logits = R.standard_normal((2, 4))
    ours_p, theirs_p = leaves(cr, {"l": logits}), leaves(torch, {"l": logits})
    d = D.OneHotCategoricalStraightThrough(logits=ours_p["l"])
    td = torch.distributions.OneHotCategoricalStraightThrough(logits=theirs_p["l"])
    x = d.rsample((3,), rng=np.random.default_rng(0))
    np.testing.assert_array_equal(x.detach().numpy().sum(-1), 1.0)
    assert set(np.unique(x.detach().numpy())) <= {0.0, 1.0}
    # the gradient is that of probs whatever the draw: the same for PyTorch's draw
    compare_grads(x, td.rsample((3,)), ours_p, theirs_p, rtol=1e-12)
