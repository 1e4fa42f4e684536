"""Cauchy, StudentT, HalfNormal and Geometric against torch.distributions (float64), with
gradchecks, sample statistics and validation."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.distributions import Cauchy, Geometric, HalfNormal, StudentT

from ._oracle import compare, compare_grads, leaves

R = np.random.default_rng(21)
A, B = R.uniform(0.5, 4.0, (2, 3)), R.uniform(0.5, 2.0, (2, 3))
X = R.standard_normal((2, 3))
K = R.integers(0, 6, (2, 3)).astype(float)
Q = R.uniform(0.05, 0.95, (2, 3))
# PyTorch's trigamma is accurate to about 1e-9 (test_gamma_family.py), which StudentT's entropy
# gradient goes through.
TRIGAMMA_RTOL = 1e-8

# name: (build, params, value, quantile functions both define)
CASES = {
    "Cauchy": (lambda D, p: D.Cauchy(p["a"], p["b"]), {"a": A, "b": B}, X, True),
    "StudentT": (lambda D, p: D.StudentT(p["a"], p["b"] - 1, p["b"]), {"a": A, "b": B}, X,
                 False),
    "HalfNormal": (lambda D, p: D.HalfNormal(p["b"]), {"b": B}, np.abs(X), True),
    "Geometric-probs": (lambda D, p: D.Geometric(probs=p["b"] / 2.1), {"b": B}, K, False),
    "Geometric-logits": (lambda D, p: D.Geometric(logits=p["a"] - 2), {"a": A}, K, False),
}


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("name", list(CASES))
def test_matches_pytorch_with_gradients(name):
    torch = pytest.importorskip("torch")
    build, params, value, quantiles = CASES[name]
    ours_p, theirs_p = leaves(cr, params), leaves(torch, params)
    ours, theirs = build(cr.distributions, ours_p), build(torch.distributions, theirs_p)
    lp, tlp = ours.log_prob(cr.tensor(value)), theirs.log_prob(torch.tensor(value))
    compare(lp, tlp, rtol=1e-13)
    compare_grads(lp, tlp, ours_p, theirs_p, rtol=1e-12)
    ent, tent = ours.entropy(), theirs.entropy()
    compare(ent, tent, rtol=1e-13)
    compare_grads(ent, tent, ours_p, theirs_p,
                  rtol=TRIGAMMA_RTOL if name == "StudentT" else 1e-12)
    for prop in ("mean", "mode", "variance"):
        compare(getattr(ours, prop), getattr(theirs, prop))
    if quantiles:
        compare(ours.cdf(cr.tensor(value)), theirs.cdf(torch.tensor(value)))
        compare(ours.icdf(cr.tensor(Q)), theirs.icdf(torch.tensor(Q)), rtol=1e-11)


@pytest.mark.kernel_free
def test_student_t_moments_by_degrees_of_freedom():
    d = StudentT(cr.tensor([0.5, 1.5, 4.0], dtype=cr.float64), 2.0, 3.0)
    mean, var = d.mean.numpy(), d.variance.numpy()
    assert np.isnan(mean[0]) and mean[1] == mean[2] == 2.0
    assert np.isnan(var[0]) and var[1] == np.inf and var[2] == pytest.approx(9 * 4 / 2)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", list(CASES))
def test_log_prob_gradcheck(name):
    build, params, value, _ = CASES[name]
    names = list(params)

    def log_prob(*xs):
        return build(cr.distributions, dict(zip(names, xs))).log_prob(cr.tensor(value))

    assert cr.gradcheck(log_prob, [cr.tensor(params[n], requires_grad=True) for n in names])


@pytest.mark.kernel_free
@pytest.mark.parametrize("make, mean, var", [
    (lambda: StudentT(cr.tensor(6.0, dtype=cr.float64), 1.0, 2.0), 1.0, 4 * 6 / 4),
    (lambda: HalfNormal(cr.tensor(2.0, dtype=cr.float64)), 2 * np.sqrt(2 / np.pi),
     4 * (1 - 2 / np.pi)),
    (lambda: Geometric(probs=cr.tensor(0.3, dtype=cr.float64)), 0.7 / 0.3, 0.7 / 0.09),
], ids=["StudentT", "HalfNormal", "Geometric"])
def test_sample_mean_and_variance(make, mean, var):
    n = 40000
    x = make().sample((n,), rng=np.random.default_rng(8)).numpy()
    assert abs(x.mean() - mean) < 4 * np.sqrt(var / n)
    assert abs(x.var() - var) < 0.1 * var


@pytest.mark.kernel_free
def test_cauchy_median_and_quartiles():
    x = Cauchy(cr.tensor(1.0, dtype=cr.float64), 2.0).sample((40000,),
                                                               rng=np.random.default_rng(9))
    q1, median, q3 = np.quantile(x.numpy(), [0.25, 0.5, 0.75])
    assert abs(median - 1.0) < 0.05 and abs(q1 - (-1.0)) < 0.06 and abs(q3 - 3.0) < 0.06


@pytest.mark.kernel_free
def test_student_t_rsample_carries_gradients_to_loc_and_scale():
    loc = cr.tensor([0.5, -1.0], dtype=cr.float64, requires_grad=True)
    scale = cr.tensor([2.0, 0.5], dtype=cr.float64, requires_grad=True)
    z = StudentT(cr.tensor(5.0, dtype=cr.float64), loc, scale).rsample(
        (4,), rng=np.random.default_rng(3))
    z.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [4.0, 4.0])
    np.testing.assert_allclose(scale.grad.numpy(), ((z.detach().numpy() - loc.numpy())
                                                    / scale.numpy()).sum(0), rtol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.parametrize("make, value, match", [
    (lambda: Cauchy(0.0, 0.0), None, "scale"),
    (lambda: StudentT(-1.0), None, "df"),
    (lambda: HalfNormal(-1.0), None, "scale"),
    (lambda: Geometric(probs=cr.tensor([0.0])), None, "positive"),
    (lambda: Geometric(), None, "exactly one of probs or logits"),
    (lambda: HalfNormal(1.0), cr.tensor([-0.5]), "support"),
    (lambda: Geometric(probs=cr.tensor(0.5)), cr.tensor([1.5]), "support"),
])
def test_bad_parameters_and_values_are_refused(make, value, match):
    with pytest.raises(ValueError, match=match):
        make().log_prob(value)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_student_t_variance_keeps_float32():
    # the inf/NaN branch (df <= 2) was built from Python floats and made the result float64
    torch = pytest.importorskip("torch")
    df, scale = [3.0, 1.5, 0.8], [1.2, 0.5, 2.0]
    ours = StudentT(cr.tensor(df), 0.0, cr.tensor(scale)).variance
    theirs = torch.distributions.StudentT(torch.tensor(df), 0.0, torch.tensor(scale)).variance
    assert ours.dtype == cr.float32 and theirs.dtype == torch.float32
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
