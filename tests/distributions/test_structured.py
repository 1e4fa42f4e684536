"""MultivariateNormal, Independent, transformed, relaxed and mixture distributions against
``torch.distributions`` (float64), with gradchecks and sample statistics."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.distributions import (
    Independent,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
    TransformedDistribution,
    kl_divergence,
)
from chainrule.distributions.transforms import AffineTransform, TanhTransform

from ._oracle import compare, compare_grads, leaves

R = np.random.default_rng(5)
_A = R.standard_normal((2, 3, 3))
COV = _A @ _A.transpose(0, 2, 1) + np.eye(3)
TRIL = np.linalg.cholesky(COV)
MU = R.standard_normal((2, 3))
X3 = R.standard_normal((4, 2, 3))
LOC, SCALE = R.standard_normal((2, 3)), R.uniform(0.5, 2.0, (2, 3))
POS = R.uniform(0.2, 3.0, (2, 3))
UNIT = R.uniform(0.05, 0.95, (2, 3))
SIMPLEX = R.dirichlet(np.ones(4), (2,))
W = R.standard_normal((2, 3))


def _t(lib, x):
    return lib.tensor(np.asarray(x, dtype=np.float64))


def _mvn(kind):
    def build(D, p):
        m = p["m"]
        if kind == "precision_matrix":
            return D.MultivariateNormal(p["mu"], precision_matrix=m @ m.transpose(-1, -2))
        if kind == "covariance_matrix":
            return D.MultivariateNormal(p["mu"], covariance_matrix=m @ m.transpose(-1, -2))
        return D.MultivariateNormal(p["mu"], scale_tril=m)
    return build


def _transforms(M):
    return [M.transforms.TanhTransform(), M.transforms.AffineTransform(0.5, -2.0)]


# name: (build(D, params), params, value, compare entropy)
CASES = {
    "MVN-scale_tril": (_mvn("scale_tril"), {"mu": MU, "m": TRIL}, X3, True),
    "MVN-covariance": (_mvn("covariance_matrix"), {"mu": MU, "m": TRIL}, X3, True),
    "MVN-precision": (_mvn("precision_matrix"), {"mu": MU, "m": TRIL}, X3, True),
    "MVN-broadcast": (_mvn("scale_tril"), {"mu": MU[:1], "m": TRIL[0]}, X3[:, :1], True),
    "Independent": (lambda D, p: D.Independent(D.Normal(p["l"], p["s"]), 1),
                    {"l": LOC, "s": SCALE}, R.standard_normal((5, 2, 3)), True),
    "LogNormal": (lambda D, p: D.LogNormal(p["l"], p["s"]), {"l": LOC, "s": SCALE}, POS, True),
    "TanhAffineNormal": (lambda D, p: D.TransformedDistribution(
        D.Normal(p["l"], p["s"]), _transforms(D)), {"l": LOC, "s": SCALE},
        0.5 - 2.0 * np.tanh(R.standard_normal((2, 3))), False),
    "SigmoidNormal": (lambda D, p: D.TransformedDistribution(
        D.Normal(p["l"], p["s"]), D.transforms.SigmoidTransform()), {"l": LOC, "s": SCALE},
        UNIT, False),
    "RelaxedBernoulli": (lambda D, p: D.RelaxedBernoulli(p["t"], logits=p["l"]),
                         {"t": 0.7, "l": LOC}, UNIT, False),
    "RelaxedOneHotCategorical": (lambda D, p: D.RelaxedOneHotCategorical(p["t"], probs=p["p"]),
                                 {"t": 0.4, "p": SIMPLEX + 0.1}, SIMPLEX, False),
    "MixtureSameFamily": (lambda D, p: D.MixtureSameFamily(
        D.Categorical(logits=p["w"]), D.Normal(p["l"], p["s"])),
        {"w": W, "l": LOC, "s": SCALE}, R.standard_normal((4, 2)), False),
    "MixtureOfIndependent": (lambda D, p: D.MixtureSameFamily(
        D.Categorical(logits=p["w"][0]), D.Independent(D.Normal(p["l"], p["s"]), 1)),
        {"w": W, "l": LOC.T, "s": SCALE.T}, R.standard_normal((4, 2)), False),
}


def _pair(name):
    torch = pytest.importorskip("torch")
    build, params, value, _ = CASES[name]
    ours_p, theirs_p = leaves(cr, params), leaves(torch, params)
    return build(cr.distributions, ours_p), build(torch.distributions, theirs_p), ours_p, \
        theirs_p, value


@pytest.mark.torch
@pytest.mark.parametrize("name", list(CASES))
def test_log_prob_and_moments_match_pytorch_with_gradients(name):
    torch = pytest.importorskip("torch")
    ours, theirs, ours_p, theirs_p, value = _pair(name)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    assert ours.has_rsample == theirs.has_rsample
    lp, tlp = ours.log_prob(_t(cr, value)), theirs.log_prob(_t(torch, value))
    compare(lp, tlp, rtol=1e-11)
    compare_grads(lp, tlp, ours_p, theirs_p, rtol=1e-9)
    if CASES[name][3]:
        compare(ours.entropy(), theirs.entropy(), rtol=1e-11)
        compare_grads(ours.entropy(), theirs.entropy(), ours_p, theirs_p, rtol=1e-9)
    if name.startswith(("MVN", "Independent", "LogNormal", "Mixture")):
        for prop in ("mean", "variance"):
            compare(getattr(ours, prop), getattr(theirs, prop), rtol=1e-11)
    if name.startswith("MVN"):
        for prop in ("scale_tril", "covariance_matrix", "precision_matrix"):
            compare(getattr(ours, prop), getattr(theirs, prop), rtol=1e-10, atol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("name", ["LogNormal", "TanhAffineNormal", "SigmoidNormal",
                                  "MixtureSameFamily"])
def test_cdf_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    ours, theirs, _, _, value = _pair(name)
    compare(ours.cdf(_t(cr, value)), theirs.cdf(_t(torch, value)), atol=1e-15)
    if name != "MixtureSameFamily":
        q = R.uniform(0.05, 0.95, value.shape)
        compare(ours.icdf(_t(cr, q)), theirs.icdf(_t(torch, q)), rtol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize("pair", ["mvn", "independent"])
def test_kl_matches_pytorch(pair):
    torch = pytest.importorskip("torch")
    params = {"mu": MU, "nu": MU[::-1], "a": TRIL, "b": TRIL[::-1] * 1.3}

    def build(D, p):
        if pair == "mvn":
            return (D.MultivariateNormal(p["mu"], scale_tril=p["a"]),
                    D.MultivariateNormal(p["nu"][0], covariance_matrix=p["b"][0] @ p["b"][0].T))
        return (D.Independent(D.Normal(p["mu"], p["a"][:, 0].exp()), 1),
                D.Independent(D.Normal(p["nu"], p["b"][:, 1].exp()), 1))

    ours_p, theirs_p = leaves(cr, params), leaves(torch, params)
    ours = kl_divergence(*build(cr.distributions, ours_p))
    theirs = torch.distributions.kl_divergence(*build(torch.distributions, theirs_p))
    compare(ours, theirs, rtol=1e-11)
    compare_grads(ours, theirs, ours_p, theirs_p, rtol=1e-9)


@pytest.mark.kernel_free
def test_mvn_log_prob_and_kl_gradcheck():
    mu = cr.tensor(MU, requires_grad=True)
    low = cr.tensor(TRIL, requires_grad=True)
    x = cr.tensor(X3)

    def log_prob(m, s):
        return MultivariateNormal(m, scale_tril=s.tril()).log_prob(x)

    def kl(m, s):
        p = MultivariateNormal(m, scale_tril=s.tril())
        return kl_divergence(p, MultivariateNormal(m[::-1] * 0.5, covariance_matrix=cr.tensor(COV)))

    assert cr.gradcheck(log_prob, [mu, low])
    assert cr.gradgradcheck(log_prob, [mu, low])
    assert cr.gradcheck(kl, [mu, low])


@pytest.mark.kernel_free
def test_mvn_samples_have_the_covariance():
    d = MultivariateNormal(cr.tensor(MU[0]), covariance_matrix=cr.tensor(COV[0]))
    x = d.sample((40000,), rng=np.random.default_rng(2)).numpy()
    assert x.shape == (40000, 3)
    se = np.sqrt(np.diag(COV[0]) / 40000)
    assert np.all(np.abs(x.mean(0) - MU[0]) < 4 * se)
    np.testing.assert_allclose(np.cov(x.T), COV[0], atol=0.05 * np.abs(COV[0]).max())


@pytest.mark.kernel_free
def test_mixture_samples_follow_the_mixture():
    d = MixtureSameFamily(cr.distributions.Categorical(probs=cr.tensor([0.3, 0.7])),
                          Normal(cr.tensor([-5.0, 5.0]), cr.tensor([1.0, 1.0])))
    x = d.sample((20000,), rng=np.random.default_rng(3)).numpy()
    frac = (x > 0).mean()
    assert abs(frac - 0.7) < 4 * np.sqrt(0.21 / 20000)
    assert abs(x.mean() - d.mean.item()) < 4 * np.sqrt(d.variance.item() / 20000)


@pytest.mark.kernel_free
def test_tanh_squashed_rsample_and_its_log_prob_are_differentiable():
    loc = cr.tensor([0.3, -0.4], dtype=cr.float64, requires_grad=True)
    log_std = cr.tensor([-0.5, 0.2], dtype=cr.float64, requires_grad=True)

    def fn(m, s):
        d = TransformedDistribution(Normal(m, s.exp()), [TanhTransform(cache_size=1),
                                                          AffineTransform(0.0, 2.0)])
        a = d.rsample((3,), rng=np.random.default_rng(8))
        return d.log_prob(a) + a

    assert cr.gradcheck(fn, [loc, log_std])
    d = TransformedDistribution(Normal(loc, log_std.exp()), TanhTransform(cache_size=1))
    a = d.rsample((1000,), rng=np.random.default_rng(1))
    assert np.all(np.abs(a.numpy()) < 1) and np.isfinite(d.log_prob(a).numpy()).all()


@pytest.mark.kernel_free
def test_relaxed_one_hot_samples_lie_on_the_simplex_and_carry_gradients():
    logits = cr.tensor(W, requires_grad=True)
    d = cr.distributions.RelaxedOneHotCategorical(cr.tensor(0.5, dtype=cr.float64),
                                                  logits=logits)
    y = d.rsample((5,), rng=np.random.default_rng(0))
    assert y.shape == (5, 2, 3)
    np.testing.assert_allclose(y.numpy().sum(-1), 1.0, rtol=1e-12)
    assert cr.gradcheck(lambda z: cr.distributions.RelaxedOneHotCategorical(
        0.5, logits=z).rsample((2,), rng=np.random.default_rng(4)), [logits])


@pytest.mark.kernel_free
@pytest.mark.parametrize("make, match", [
    (lambda: MultivariateNormal(cr.zeros(2)), "exactly one of"),
    (lambda: MultivariateNormal(cr.zeros(2), cr.eye(3)), "square matrices"),
    (lambda: MultivariateNormal(cr.zeros(2), scale_tril=cr.tensor([[1.0, 1.0], [0.0, 1.0]])),
     "LowerCholesky"),
    (lambda: MultivariateNormal(cr.zeros(2), cr.tensor([[1.0, 2.0], [2.0, 1.0]])),
     "PositiveDefinite"),
    (lambda: Independent(Normal(cr.zeros(2), 1.0), 2), "reinterpreted_batch_ndims"),
    (lambda: MixtureSameFamily(Normal(0.0, 1.0), Normal(cr.zeros(2), 1.0)), "Categorical"),
    (lambda: MixtureSameFamily(cr.distributions.Categorical(logits=cr.zeros(3)),
                               Normal(cr.zeros(2), 1.0)), "does not equal"),
    (lambda: TransformedDistribution(Normal(0.0, 1.0), "exp"), "Transform"),
])
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.kernel_free
def test_transformed_values_outside_the_support_are_refused():
    d = cr.distributions.LogNormal(0.0, 1.0)
    with pytest.raises(ValueError, match="support"):
        d.log_prob(cr.tensor([-1.0]))
