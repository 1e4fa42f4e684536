"""MacKay's evidence against independent computations: scikit-learn's BayesianRidge (the same
fixed point), and fit_map on a model whose output is 1-D (N,), which must fit y as given."""

import numpy as np
import pytest

from chainrule import nn
from chainrule.autograd import Tensor, grad
from chainrule.bayes import (
    choose_weight_decay,
    evidence_fixed_point,
    fit_map,
    linear_evidence,
    log_evidence,
)
from chainrule.ops import mse_loss


def regression(seed, n=40, m=5):
    rng = np.random.default_rng(seed)
    phi = rng.standard_normal((n, m))
    return phi, phi @ rng.standard_normal(m) + 0.3 * rng.standard_normal(n)


def test_fixed_point_is_scikit_learns_bayesian_ridge():
    linear_model = pytest.importorskip("sklearn.linear_model")
    phi, t = regression(0)
    # zero hyper-priors: BayesianRidge's updates are then exactly MacKay's fixed point
    ridge = linear_model.BayesianRidge(fit_intercept=False, alpha_1=0, alpha_2=0, lambda_1=0,
                                       lambda_2=0, tol=1e-12, max_iter=10000,
                                       compute_score=True).fit(phi, t)
    ours = evidence_fixed_point(phi, t, tol=1e-13)
    assert ours["alpha"] == pytest.approx(ridge.lambda_, rel=1e-9)
    assert ours["beta"] == pytest.approx(ridge.alpha_, rel=1e-9)
    assert ours["log_evidence"] == pytest.approx(ridge.scores_[-1], rel=1e-10)
    post = linear_evidence(phi, t, ours["alpha"], ours["beta"])
    np.testing.assert_allclose(post["mean"], ridge.coef_, rtol=1e-8)
    np.testing.assert_allclose(post["covariance"], ridge.sigma_, rtol=1e-8)


class Flat(nn.Module):
    """A linear model whose output is 1-D, (N,), as a regression net's squeezed output is."""

    def __init__(self, m):
        super().__init__()
        self.lin = nn.Linear(m, 1, bias=False, dtype="float64", rng=np.random.default_rng(0))

    def forward(self, x):
        return self.lin(x).reshape(-1)


@pytest.mark.parametrize("shape", [(-1,), (-1, 1)])
def test_fit_map_of_a_flat_output_is_the_closed_form_posterior_mean(shape):
    # fit_map compared (N,) outputs with (N, 1) targets: broadcast to (N, N), it fitted every
    # output to every target (weights near 0 here) and log_evidence was off by thousands.
    phi, t = regression(1, n=20, m=3)
    closed = linear_evidence(phi, t, 1.0, 100.0)
    model = fit_map(Flat(3), phi, t.reshape(shape), alpha=1.0, beta=100.0, steps=1500, lr=0.05)
    np.testing.assert_allclose(model.lin.weight._data[0], closed["mean"], rtol=1e-5)
    ev = log_evidence(model, phi, t, alpha=1.0, beta=100.0)["log_evidence"]
    assert ev == pytest.approx(closed["log_evidence"], abs=1e-6)


def test_fit_map_refuses_targets_of_another_size():
    phi, t = regression(2, n=10, m=3)
    with pytest.raises(ValueError, match=r"fit_map: y must hold one target per output \(10"):
        fit_map(Flat(3), phi, t[:7], alpha=1.0, beta=1.0, steps=1)
    with pytest.raises(ValueError, match=r"y must hold .*got shape \(20,\)"):
        fit_map(nn.Linear(3, 1, dtype="float64"), phi, np.concatenate([t, t]), alpha=1.0,
                beta=1.0, steps=1)


def test_the_weight_decay_of_two_outputs_makes_mse_loss_stationary_at_the_map():
    # weight_decay was 2 alpha / (beta N) with N the examples; mse_loss averages over examples
    # times outputs, so for two outputs it was twice the equivalent decay.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((12, 3))
    y = x @ rng.standard_normal((3, 2)) + 0.1 * rng.standard_normal((12, 2))
    out = choose_weight_decay(
        lambda: nn.Linear(3, 2, bias=False, dtype="float64", rng=np.random.default_rng(0)),
        x, y, [2.0], beta=10.0, steps=1500, lr=0.05)
    assert out["weight_decay"] == pytest.approx(2 * 2.0 / (10.0 * 24))
    w = out["models"][0].weight
    (g,) = grad(mse_loss(out["models"][0](Tensor(x)), Tensor(y)), [w])
    np.testing.assert_allclose(g._data + out["weight_decay"] * w._data, 0, atol=1e-10)
