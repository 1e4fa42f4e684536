"""kl_divergence: closed forms against PyTorch's, gradchecks, the registry and its errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.distributions import Normal, kl_divergence, register_kl

from ._oracle import compare, compare_grads, leaves

R = np.random.default_rng(11)
A, B = R.standard_normal((2, 3)), R.standard_normal((2, 3))
S, T = R.uniform(0.5, 2, (2, 3)), R.uniform(0.5, 2, (2, 3))
P, Q = R.uniform(0.1, 0.9, (2, 3)), R.uniform(0.1, 0.9, (2, 3))

# name: (build p, build q, params)
PAIRS = {
    "Normal": (lambda D, x: D.Normal(x["a"], x["s"]), lambda D, x: D.Normal(x["b"], x["t"]),
               {"a": A, "s": S, "b": B, "t": T}),
    "Laplace": (lambda D, x: D.Laplace(x["a"], x["s"]), lambda D, x: D.Laplace(x["b"], x["t"]),
                {"a": A, "s": S, "b": B, "t": T}),
    "Exponential": (lambda D, x: D.Exponential(x["s"]), lambda D, x: D.Exponential(x["t"]),
                    {"s": S, "t": T}),
    "Uniform": (lambda D, x: D.Uniform(x["a"], x["a"] + x["s"]),
                lambda D, x: D.Uniform(x["a"] - x["t"], x["a"] + x["s"] + x["t"]),
                {"a": A, "s": S, "t": T}),
    "Bernoulli": (lambda D, x: D.Bernoulli(probs=x["p"]), lambda D, x: D.Bernoulli(logits=x["b"]),
                  {"p": P, "b": B}),
    "Categorical": (lambda D, x: D.Categorical(logits=x["a"]),
                    lambda D, x: D.Categorical(probs=x["s"]), {"a": A, "s": S}),
    "OneHotCategorical": (lambda D, x: D.OneHotCategorical(logits=x["a"]),
                          lambda D, x: D.OneHotCategorical(logits=x["b"]), {"a": A, "b": B}),
    # these four raised NotImplementedError where PyTorch has closed forms
    "Cauchy": (lambda D, x: D.Cauchy(x["a"], x["s"]), lambda D, x: D.Cauchy(x["b"], x["t"]),
               {"a": A, "s": S, "b": B, "t": T}),
    "HalfNormal": (lambda D, x: D.HalfNormal(x["s"]), lambda D, x: D.HalfNormal(x["t"]),
                   {"s": S, "t": T}),
    "Geometric": (lambda D, x: D.Geometric(probs=x["p"]), lambda D, x: D.Geometric(x["q"]),
                  {"p": P, "q": Q}),
    "LogNormal": (lambda D, x: D.LogNormal(x["a"], x["s"]),
                  lambda D, x: D.LogNormal(x["b"], x["t"]), {"a": A, "s": S, "b": B, "t": T}),
}


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("name", list(PAIRS))
def test_kl_matches_pytorch_with_gradients(name):
    torch = pytest.importorskip("torch")
    build_p, build_q, params = PAIRS[name]
    ours_x, theirs_x = leaves(cr, params), leaves(torch, params)
    ours = kl_divergence(build_p(cr.distributions, ours_x), build_q(cr.distributions, ours_x))
    theirs = torch.distributions.kl_divergence(build_p(torch.distributions, theirs_x),
                                               build_q(torch.distributions, theirs_x))
    compare(ours, theirs)
    compare_grads(ours, theirs, ours_x, theirs_x)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", list(PAIRS))
def test_kl_gradients_agree_with_finite_differences(name):
    build_p, build_q, params = PAIRS[name]
    names = list(params)

    def kl(*xs):
        x = dict(zip(names, xs))
        return kl_divergence(build_p(cr.distributions, x), build_q(cr.distributions, x))

    inputs = [cr.tensor(params[n], requires_grad=True) for n in names]
    assert cr.gradcheck(kl, inputs)
    if name in ("Normal", "Exponential", "Categorical"):
        assert cr.gradgradcheck(kl, inputs)


@pytest.mark.kernel_free
def test_kl_is_zero_from_itself_and_positive_otherwise():
    p, q = Normal(cr.tensor(A), cr.tensor(S)), Normal(cr.tensor(B), cr.tensor(T))
    np.testing.assert_allclose(kl_divergence(p, p).numpy(), 0.0, atol=1e-15)
    assert (kl_divergence(p, q).numpy() > 0).all()


@pytest.mark.kernel_free
def test_kl_outside_the_support_is_infinite():
    D = cr.distributions
    wide, narrow = D.Uniform(0.0, 2.0), D.Uniform(0.0, 1.0)
    assert kl_divergence(wide, narrow).item() == np.inf
    assert np.isfinite(kl_divergence(narrow, wide).item())
    p = D.Categorical(probs=cr.tensor([0.5, 0.5, 0.0]))
    q = D.Categorical(probs=cr.tensor([0.5, 0.0, 0.5]))
    assert kl_divergence(p, q).item() == np.inf
    uniform = D.Categorical(probs=cr.tensor([1.0, 1.0, 1.0]))
    # Two categories of probability 1/2 against 1/3 each: 2 * 0.5 * log(0.5 / (1/3)).
    np.testing.assert_allclose(kl_divergence(q, uniform).item(), np.log(1.5), rtol=1e-6)


@pytest.mark.kernel_free
def test_unregistered_pair_raises_not_implemented():
    D = cr.distributions
    # (neither has PyTorch a rule for this pair; Normal from Laplace is now registered)
    with pytest.raises(NotImplementedError, match="Normal and q type Cauchy"):
        kl_divergence(D.Normal(0.0, 1.0), D.Cauchy(0.0, 1.0))


@pytest.mark.kernel_free
def test_register_kl_dispatches_to_the_nearest_registered_pair():
    class Wide(Normal):
        pass

    class Wider(Wide):
        pass

    @register_kl(Wide, Normal)
    def _kl_wide(p, q):
        return p.loc * 0 + 42.0

    try:
        assert kl_divergence(Wider(0.0, 1.0), Normal(0.0, 1.0)).item() == 42.0
        assert kl_divergence(Normal(0.0, 1.0), Wider(0.0, 1.0)).item() == 0.0  # Normal-Normal
    finally:
        from chainrule.distributions import kl as kl_module

        del kl_module._KL_REGISTRY[Wide, Normal]
        kl_module._KL_MEMOIZE.clear()
    with pytest.raises(TypeError, match="Distribution subclass"):
        register_kl(Normal, "Normal")
