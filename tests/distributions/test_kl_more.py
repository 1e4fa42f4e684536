"""Every KL divergence PyTorch registers between the families here (and both sides' types in
chainrule) against torch.distributions.kl_divergence, values and gradients, float64."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import distributions as D
from chainrule.distributions import kl_divergence

from ._oracle import compare, compare_grads, leaves

R = np.random.default_rng(29)
A, B = R.uniform(0.6, 3.0, (2, 3)), R.uniform(0.6, 3.0, (2, 3))
X, U = R.standard_normal((2, 3)), R.uniform(0.05, 0.95, (2, 3))

# name: (build from a dict of parameters, parameters)
FAMILIES = {
    "Normal": (lambda M, p: M.Normal(p["x"], p["b"]), {"x": X, "b": B}),
    "Laplace": (lambda M, p: M.Laplace(p["x"], p["b"]), {"x": X[::-1].copy(), "b": A}),
    "Exponential": (lambda M, p: M.Exponential(p["b"]), {"b": B}),
    "Gamma": (lambda M, p: M.Gamma(p["a"], p["b"]), {"a": A, "b": B}),
    "Beta": (lambda M, p: M.Beta(p["a"], p["b"]), {"a": A, "b": B[::-1].copy()}),
    # inside [0, 1] and above the Pareto's scale, so that most pairs are finite
    "Uniform": (lambda M, p: M.Uniform(p["l"], p["h"]), {"l": 0.15 + 0.1 * U, "h": 0.6 + 0.3 * U}),
    "Gumbel": (lambda M, p: M.Gumbel(p["x"], p["b"]), {"x": X.T.reshape(2, 3).copy(), "b": A}),
    "Pareto": (lambda M, p: M.Pareto(p["s"], p["a"]), {"s": 0.05 + 0.05 * U, "a": 2.5 + A}),
    "ContinuousBernoulli": (lambda M, p: M.ContinuousBernoulli(p["u"]), {"u": U}),
    "Bernoulli": (lambda M, p: M.Bernoulli(p["u"]), {"u": U[::-1].copy()}),
    "Poisson": (lambda M, p: M.Poisson(p["b"]), {"b": B}),
    "Binomial": (lambda M, p: M.Binomial(5, p["u"]), {"u": U}),
}


def _torch_pairs():
    torch = pytest.importorskip("torch")
    registry = torch.distributions.kl._KL_REGISTRY
    return sorted((p.__name__, q.__name__) for p, q in registry
                  if p.__name__ in FAMILIES and q.__name__ in FAMILIES)


try:
    PAIRS = _torch_pairs()
except pytest.skip.Exception:  # without torch, the test below is skipped
    PAIRS = [("Normal", "Normal")]


def _build(lib, name, prefix):
    build, params = FAMILIES[name]
    ps = leaves(lib, {prefix + k: v for k, v in params.items()})
    module = D if lib is cr else lib.distributions
    return build(module, {k[len(prefix):]: v for k, v in ps.items()}), ps


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("pair", PAIRS, ids=["-".join(p) for p in PAIRS])
def test_kl_matches_pytorch(pair):
    torch = pytest.importorskip("torch")
    p, p_leaves = _build(cr, pair[0], "p_")
    q, q_leaves = _build(cr, pair[1], "q_")
    tp, tp_leaves = _build(torch, pair[0], "p_")
    tq, tq_leaves = _build(torch, pair[1], "q_")
    ours, theirs = kl_divergence(p, q), torch.distributions.kl_divergence(tp, tq)
    compare(ours, theirs, rtol=1e-11)
    if np.isfinite(theirs.detach().numpy()).all() and theirs.requires_grad:
        # trigamma (PyTorch's to about 1e-9) enters the gradients of the digamma terms
        compare_grads(ours, theirs, {**p_leaves, **q_leaves}, {**tp_leaves, **tq_leaves},
                      rtol=1e-8, atol=1e-10)
    else:
        assert np.isinf(ours.numpy()).all()


@pytest.mark.kernel_free
def test_cross_family_pairs_cover_pytorchs():
    assert len(PAIRS) > 60 or PAIRS == [("Normal", "Normal")]


@pytest.mark.kernel_free
@pytest.mark.torch
def test_pareto_kls_are_infinite_where_moments_are():
    torch = pytest.importorskip("torch")
    alpha = np.array([0.8, 1.5, 2.5, 4.0])
    for name, params in (("Exponential", (1.3,)), ("Gamma", (2.0, 1.5)), ("Normal", (0.5, 2.0)),
                         ("Pareto", (1.5, 2.0)), ("Pareto", (0.5, 2.0))):
        q = getattr(D, name)(*(cr.tensor(v, dtype=cr.float64) for v in params))
        tq = getattr(torch.distributions, name)(*(torch.tensor(v, dtype=torch.float64)
                                                  for v in params))
        ours = kl_divergence(D.Pareto(cr.tensor(1.0, dtype=cr.float64), cr.tensor(alpha)), q)
        theirs = torch.distributions.kl_divergence(
            torch.distributions.Pareto(torch.tensor(1.0, dtype=torch.float64),
                                       torch.tensor(alpha)), tq)
        compare(ours, theirs, rtol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("kinds", [("lr", "lr"), ("lr", "mvn"), ("mvn", "lr")])
def test_low_rank_kls_match_pytorch(kinds):
    torch = pytest.importorskip("torch")
    n = 4
    params = {}
    for side in ("p", "q"):
        params[side + "m"] = R.standard_normal((2, n))
        params[side + "w"] = R.standard_normal((n, 2))
        params[side + "d"] = R.uniform(0.5, 2.0, n)
        m = R.standard_normal((n, n))
        params[side + "t"] = np.tril(m, -1) + np.diag(R.uniform(0.8, 1.5, n))

    def make(module, ps, side, kind):
        if kind == "lr":
            return module.LowRankMultivariateNormal(ps[side + "m"], ps[side + "w"],
                                                    ps[side + "d"])
        return module.MultivariateNormal(ps[side + "m"], scale_tril=ps[side + "t"])

    ours_p, theirs_p = leaves(cr, params), leaves(torch, params)
    ours = kl_divergence(make(D, ours_p, "p", kinds[0]), make(D, ours_p, "q", kinds[1]))
    theirs = torch.distributions.kl_divergence(
        make(torch.distributions, theirs_p, "p", kinds[0]),
        make(torch.distributions, theirs_p, "q", kinds[1]))
    compare(ours, theirs, rtol=1e-10)
    compare_grads(ours, theirs, ours_p, theirs_p, rtol=1e-9, atol=1e-11)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_kl_of_transformed_distributions_with_equal_transforms():
    torch = pytest.importorskip("torch")

    def build(lib, module, loc, scale):
        t = module.transforms
        transforms = [t.AffineTransform(lib.tensor(0.5, dtype=lib.float64), 2.0),
                      t.ExpTransform(), t.PowerTransform(lib.tensor(0.5, dtype=lib.float64))]
        return module.TransformedDistribution(module.Normal(loc, scale), transforms)

    ours_p, theirs_p = leaves(cr, {"x": X, "b": B}), leaves(torch, {"x": X, "b": B})
    p = build(cr, D, ours_p["x"], ours_p["b"])
    q = build(cr, D, ours_p["x"] * 0.5, 1.5)
    tp = build(torch, torch.distributions, theirs_p["x"], theirs_p["b"])
    tq = build(torch, torch.distributions, theirs_p["x"] * 0.5, 1.5)
    ours, theirs = kl_divergence(p, q), torch.distributions.kl_divergence(tp, tq)
    compare(ours, theirs, rtol=1e-12)
    compare_grads(ours, theirs, ours_p, theirs_p)
    other = D.TransformedDistribution(D.Normal(ours_p["x"], 1.0), [D.ExpTransform()])
    with pytest.raises(NotImplementedError, match="different transforms"):
        kl_divergence(p, other)
    with pytest.raises(NotImplementedError, match="different transforms"):
        kl_divergence(D.Gumbel(cr.tensor(0.0), 1.0), D.Weibull(cr.tensor(1.0), 2.0))


@pytest.mark.kernel_free
def test_transform_equality_is_pytorchs():
    T = D.transforms
    assert T.ExpTransform() == T.ExpTransform() and T.ExpTransform().inv == T.ExpTransform().inv
    assert T.ExpTransform() != T.SigmoidTransform()
    assert T.AffineTransform(0.0, 2.0) == T.AffineTransform(0.0, cr.tensor([2.0, 2.0]))
    assert T.AffineTransform(0.0, 2.0) != T.AffineTransform(0.0, 3.0)
    assert T.PowerTransform(2.0) == T.PowerTransform(2.0) != T.PowerTransform(3.0)
    assert T.ComposeTransform([T.ExpTransform()]) == T.ComposeTransform([T.ExpTransform()])
    reshape = T.ReshapeTransform((2,), (2, 1))
    assert reshape == reshape and reshape != T.ReshapeTransform((2,), (2, 1))
