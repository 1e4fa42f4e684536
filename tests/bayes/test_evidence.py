"""MacKay's evidence: the network formula against the closed form, recovery of known precisions,
and the weight decay it chooses against the closed-form optimum."""

import numpy as np
import pytest

from chainrule import nn
from chainrule.bayes import (
    choose_weight_decay,
    evidence_fixed_point,
    fit_map,
    linear_evidence,
    log_evidence,
)
from chainrule.models import MLP


def linear_gaussian(rng, n, m, alpha, beta):
    phi = rng.standard_normal((n, m))
    w = rng.standard_normal(m) / np.sqrt(alpha)
    return phi, phi @ w + rng.standard_normal(n) / np.sqrt(beta)


def test_fixed_point_recovers_the_generating_precisions():
    rng = np.random.default_rng(0)
    phi, t = linear_gaussian(rng, 2000, 80, alpha=4.0, beta=25.0)
    fit = evidence_fixed_point(phi, t)
    assert fit["alpha"] == pytest.approx(4.0, rel=0.25)
    assert fit["beta"] == pytest.approx(25.0, rel=0.1)
    assert fit["iters"] < 200 and fit["gamma"] <= 80
    # the fixed point is a maximum of the closed-form evidence in both directions
    best = fit["log_evidence"]
    for a, b in ((fit["alpha"] * 1.1, fit["beta"]), (fit["alpha"] / 1.1, fit["beta"]),
                 (fit["alpha"], fit["beta"] * 1.05), (fit["alpha"], fit["beta"] / 1.05)):
        assert linear_evidence(phi, t, a, b)["log_evidence"] < best


def test_linear_evidence_is_the_normalized_marginal_likelihood(rng):
    # p(t) = N(0, phi phi^T / alpha + I / beta), evaluated directly
    phi, t = linear_gaussian(rng, 12, 3, alpha=2.0, beta=5.0)
    cov = phi @ phi.T / 2.0 + np.eye(12) / 5.0
    _, logdet = np.linalg.slogdet(cov)
    direct = -0.5 * (t @ np.linalg.solve(cov, t) + logdet + 12 * np.log(2 * np.pi))
    assert linear_evidence(phi, t, 2.0, 5.0)["log_evidence"] == pytest.approx(direct)


def test_network_evidence_of_a_linear_net_is_the_closed_form(rng):
    phi, t = linear_gaussian(rng, 60, 4, alpha=2.0, beta=16.0)
    net = nn.Linear(4, 1, bias=False, rng=np.random.default_rng(0)).to(dtype="float64")
    fit_map(net, phi, t, alpha=2.0, beta=16.0, steps=700, lr=0.02)  # converged to rounding
    closed = linear_evidence(phi, t, 2.0, 16.0)
    assert np.allclose(net.weight._data[0], closed["mean"], atol=1e-6)
    ours = log_evidence(net, phi, t, alpha=2.0, beta=16.0)
    assert ours["log_evidence"] == pytest.approx(closed["log_evidence"], rel=1e-8)
    assert ours["gamma"] == pytest.approx(closed["gamma"])


def test_choose_weight_decay_finds_the_closed_form_optimum(rng):
    phi, t = linear_gaussian(rng, 40, 5, alpha=3.0, beta=10.0)
    alphas = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0]
    closed = [linear_evidence(phi, t, a, 10.0)["log_evidence"] for a in alphas]
    chosen = choose_weight_decay(lambda: nn.Linear(5, 1, bias=False, rng=np.random.default_rng(0))
                                 .to(dtype="float64"),
                                 phi, t, alphas, beta=10.0, steps=500, lr=0.03)
    # Adam has converged to rounding by then: the largest relative error is 3e-16 after 400 steps
    assert np.allclose(chosen["log_evidence"], closed, rtol=1e-6)
    assert chosen["best_alpha"] == alphas[int(np.argmax(closed))]
    assert chosen["weight_decay"] == pytest.approx(2 * chosen["best_alpha"] / (10.0 * 40))


def test_evidence_of_a_small_network_peaks_inside_the_grid():
    # A 1-8-1 tanh net on noisy sin: the evidence rises from a too-weak prior and falls for a
    # prior that forbids the fit.
    rng = np.random.default_rng(3)
    x = rng.uniform(-2, 2, (30, 1))
    y = np.sin(2 * x) + 0.1 * rng.standard_normal((30, 1))
    alphas = [1e-3, 0.1, 100.0]
    chosen = choose_weight_decay(
        lambda: MLP((1, 8, 1), activation="tanh", rng=np.random.default_rng(0)).to(
            dtype="float64"), x, y, alphas, beta=100.0, steps=1500, lr=0.02)
    ev = chosen["log_evidence"]
    assert ev[1] > ev[0] and ev[1] > ev[2]
    assert chosen["best_alpha"] == 0.1


def test_bad_precisions_are_refused(rng):
    with pytest.raises(ValueError, match="alpha must be a finite number > 0, got -1"):
        linear_evidence(np.ones((3, 2)), np.ones(3), -1, 1.0)
