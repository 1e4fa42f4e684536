"""Every distribution's shapes against PyTorch's: batch and event shapes, ``sample`` shapes,
``expand`` to a larger batch, and ``log_prob`` of the expanded one on PyTorch's draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

_A = np.random.default_rng(0).uniform(0.5, 2.0, 3)
_M = np.outer(_A, _A)
_L = np.linalg.cholesky(2 * np.eye(2) + 0.3)

BUILD = {
    "Normal": lambda M, t: M.Normal(t(_A), t(_A)),
    "Laplace": lambda M, t: M.Laplace(t(_A), t(_A)),
    "Exponential": lambda M, t: M.Exponential(t(_A)),
    "Uniform": lambda M, t: M.Uniform(t(_A - 3), t(_A)),
    "Bernoulli": lambda M, t: M.Bernoulli(probs=t(_A / 3)),
    "Categorical": lambda M, t: M.Categorical(probs=t(_M)),
    "OneHotCategorical": lambda M, t: M.OneHotCategorical(logits=t(_M)),
    "MultivariateNormal": lambda M, t: M.MultivariateNormal(t(np.zeros((3, 2))),
                                                            scale_tril=t(_L)),
    "Independent": lambda M, t: M.Independent(M.Normal(t(_M), 1.0), 1),
    "LogNormal": lambda M, t: M.LogNormal(t(_A), t(_A)),
    "MixtureSameFamily": lambda M, t: M.MixtureSameFamily(M.Categorical(logits=t(_M)),
                                                          M.Normal(t(_M), t(_M))),
    "RelaxedBernoulli": lambda M, t: M.RelaxedBernoulli(t(0.5), probs=t(_A / 3)),
    "RelaxedOneHotCategorical": lambda M, t: M.RelaxedOneHotCategorical(t(0.5), logits=t(_M)),
    "Gamma": lambda M, t: M.Gamma(t(_A), t(_A)),
    "Beta": lambda M, t: M.Beta(t(_A), t(_A)),
    "Dirichlet": lambda M, t: M.Dirichlet(t(_M)),
    "Poisson": lambda M, t: M.Poisson(t(_A)),
    "Binomial": lambda M, t: M.Binomial(5, probs=t(_A / 3)),
    "Cauchy": lambda M, t: M.Cauchy(t(_A), t(_A)),
    "StudentT": lambda M, t: M.StudentT(t(_A), t(_A), t(_A)),
    "HalfNormal": lambda M, t: M.HalfNormal(t(_A)),
    "Geometric": lambda M, t: M.Geometric(probs=t(_A / 3)),
}


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", list(BUILD))
def test_shapes_expand_and_log_prob_match_pytorch(name):
    torch.manual_seed(0)
    ours = BUILD[name](cr.distributions, lambda x: cr.tensor(np.asarray(x, dtype=np.float64)))
    theirs = BUILD[name](torch.distributions,
                         lambda x: torch.tensor(np.asarray(x, dtype=np.float64)))
    for shape in ((), (2,), (2, 5)):
        assert tuple(ours.sample(shape).shape) == tuple(theirs.sample(shape).shape)
    big, their_big = ours.expand((4, 3)), theirs.expand((4, 3))
    assert tuple(big.batch_shape) == tuple(their_big.batch_shape) == (4, 3)
    assert tuple(big.event_shape) == tuple(their_big.event_shape)
    assert tuple(big.sample((2,)).shape) == tuple(their_big.sample((2,)).shape)
    value = their_big.sample((2,))
    np.testing.assert_allclose(big.log_prob(cr.tensor(value.numpy())).numpy(),
                               their_big.log_prob(value).numpy(), rtol=1e-12, atol=1e-12)
