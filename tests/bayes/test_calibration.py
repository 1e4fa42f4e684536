"""Calibration metrics against hand computations; temperature scaling; MC dropout."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.bayes import (
    TemperatureScaling,
    brier,
    expected_calibration_error,
    mc_dropout_predict,
    mutual_information,
    nll,
    predictive_entropy,
    reliability,
    softmax_probs,
)
from chainrule.models import MLP

PROBS = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.45, 0.55], [0.6, 0.4]])
LABELS = np.array([0, 1, 1, 0, 0])


def test_ece_matches_a_hand_computation():
    # Confidences 0.9, 0.8, 0.7, 0.55, 0.6; correct: yes, no, yes, no, yes.
    # Two bins [0, 0.5], (0.5, 1]: all five in the second, mean confidence 0.71, accuracy 0.6.
    assert expected_calibration_error(PROBS, LABELS, n_bins=2) == pytest.approx(0.11)
    # Five bins of width 0.2: (0.4, 0.6] holds 0.55 (wrong) and 0.6 (right): |0.5 - 0.575|;
    # (0.6, 0.8] holds 0.7 (right) and 0.8 (wrong): |0.5 - 0.75|; (0.8, 1] holds 0.9 (right).
    expected = (2 * 0.075 + 2 * 0.25 + 1 * 0.1) / 5
    assert expected_calibration_error(PROBS, LABELS, n_bins=5) == pytest.approx(expected)
    r = reliability(PROBS, LABELS, n_bins=5)
    assert r["count"].tolist() == [0, 0, 2, 2, 1]
    assert np.isnan(r["accuracy"][0]) and r["accuracy"][2:].tolist() == [0.5, 0.5, 1.0]


def test_nll_and_brier_match_hand_computations():
    p_true = np.array([0.9, 0.2, 0.7, 0.45, 0.6])
    assert nll(PROBS, LABELS) == pytest.approx(-np.log(p_true).mean())
    assert brier(PROBS, LABELS) == pytest.approx((2 * (1 - p_true) ** 2).mean())


def test_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="labels must have shape \\(5,\\)"):
        nll(PROBS, LABELS[:3])
    with pytest.raises(ValueError, match="rows summing to 1"):
        brier(PROBS * 2, LABELS)
    with pytest.raises(ValueError, match="n_bins must be an int >= 1, got 0"):
        expected_calibration_error(PROBS, LABELS, n_bins=0)


def overconfident(rng, n=2000, c=5, scale=4.0):
    """Labels drawn from softmax(z); the model reports scale * z: over-confident by T = scale."""
    z = rng.standard_normal((n, c)) * 1.5
    p = softmax_probs(z)
    y = np.array([rng.choice(c, p=row) for row in p])
    return z * scale, y


def test_temperature_scaling_recovers_the_temperature_and_lowers_nll(rng):
    logits, y = overconfident(rng)
    before_nll = nll(softmax_probs(logits), y)
    before_ece = expected_calibration_error(softmax_probs(logits), y)
    ts = TemperatureScaling().fit(logits, y)
    after = ts.probs(logits)
    assert 3.4 < ts.temperature < 4.6
    assert nll(after, y) < before_nll - 0.3
    assert expected_calibration_error(after, y) < 0.04 < before_ece
    assert (after.argmax(1) == logits.argmax(1)).all()
    # the fitted T is the minimizer: moving it either way raises the NLL
    for t in (ts.temperature * 0.97, ts.temperature * 1.03):
        assert nll(softmax_probs(logits / t), y) > nll(after, y)


def test_temperature_scaling_leaves_a_calibrated_model_near_one(rng):
    logits, y = overconfident(rng, n=4000, scale=1.0)
    assert TemperatureScaling().fit(logits, y).temperature == pytest.approx(1.0, abs=0.1)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0, got -1"):
        TemperatureScaling(-1)


def test_entropy_and_mutual_information():
    uniform = np.full((3, 4), 0.25)
    assert np.allclose(predictive_entropy(uniform), math.log(4))
    same = np.stack([PROBS] * 3)
    assert np.allclose(mutual_information(same), 0.0)
    disagree = np.stack([np.eye(2)[[0, 1]], np.eye(2)[[1, 0]]])  # confident, opposite answers
    assert np.allclose(mutual_information(disagree), math.log(2))


def test_mc_dropout_samples_differ_and_repeat_with_a_seed():
    x = np.random.default_rng(0).standard_normal((7, 6)).astype(np.float32)

    def run():
        model = MLP((6, 32, 3), dropout=0.5, rng=np.random.default_rng(5))
        return model, mc_dropout_predict(model, x, samples=4)
    model, s = run()
    assert s.shape == (4, 7, 3) and np.allclose(s.sum(-1), 1.0, atol=1e-5)
    assert not np.allclose(s[0], s[1])
    assert np.array_equal(s, run()[1])
    assert model.training  # the mode is restored
    with pytest.raises(ValueError, match="no dropout layer"):
        mc_dropout_predict(MLP((6, 3)), x)
    with cr.no_grad():
        mean_net = softmax_probs(model.eval()(cr.Tensor(x))._data)
    assert np.abs(mc_dropout_predict(model, x, samples=400).mean(0) - mean_net).max() < 0.15


def test_float32_probabilities_with_exact_zeros_give_finite_entropy_and_nll():
    # softmax of float32 logits more than ~104 apart underflows to an exact 0; 1e-300 is 0 in
    # float32 too, so the logarithm's floor must be float32's own smallest normal number.
    p32 = softmax_probs(np.array([[0.0, -200.0, 1.0], [3.0, 2.0, 1.0]], dtype=np.float32))
    assert p32.dtype == np.float32 and p32[0, 1] == 0
    h = predictive_entropy(p32)
    assert np.isfinite(h).all()
    np.testing.assert_allclose(h, predictive_entropy(p32.astype(np.float64)), rtol=1e-6)
    assert nll(p32, np.array([1, 0])) == pytest.approx(
        (-np.log(np.finfo(np.float32).tiny) - np.log(p32[1, 0])) / 2, rel=1e-6)
