"""Calibration bins and temperature scaling against hand references (float64).

A confidence exactly on an inner edge ``k / n_bins`` goes to the bin below it (bins ``(lo, hi]``,
as documented). The edges were ``linspace(0, 1, n_bins + 1)``, an ulp below ``k / n_bins`` for
some k (5/6, 5/7, 7/9, 5/12, ...): a confidence of exactly 5/6 (five of six votes) went to the bin
above. The edges are now ``k / n_bins`` correctly rounded.
"""

import numpy as np
import pytest

from chainrule.bayes import TemperatureScaling, expected_calibration_error, reliability


def _hand(conf, correct, n_bins):
    """Count, mean confidence, accuracy per bin (lo, hi] (the first [0, hi]), and the ECE."""
    count, ece = np.zeros(n_bins, int), 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        inside = (conf > lo) & (conf <= hi) if b else (conf <= hi)
        count[b] = inside.sum()
        if count[b]:
            ece += count[b] / len(conf) * abs(correct[inside].mean() - conf[inside].mean())
    return count, ece


@pytest.mark.parametrize("n_bins", [6, 7, 12, 15])
def test_confidences_on_the_edges_go_to_the_bin_below(n_bins):
    rng = np.random.default_rng(n_bins)
    k = rng.integers((n_bins + 1) // 2, n_bins + 1, 40)  # every confidence on an edge, >= 1/2
    conf = k / n_bins
    probs = np.stack([conf, 1 - conf], axis=1)
    labels = rng.integers(0, 2, 40)
    count, ece = _hand(conf, (probs.argmax(1) == labels).astype(float), n_bins)
    r = reliability(probs, labels, n_bins=n_bins)
    np.testing.assert_array_equal(r["count"], count)
    np.testing.assert_array_equal(r["edges"], np.arange(n_bins + 1) / n_bins)
    assert expected_calibration_error(probs, labels, n_bins=n_bins) == pytest.approx(ece, abs=1e-15)


def test_temperature_is_scipys_zero_of_the_nll_slope():
    optimize = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(0)
    logits = 4 * rng.standard_normal((60, 4))
    p = np.exp(logits / 3) / np.exp(logits / 3).sum(1, keepdims=True)  # drawn at temperature 3
    labels = (rng.random((60, 1)) > p.cumsum(1)).sum(1)

    def slope(beta):  # d/d beta of the mean NLL of softmax(beta z): E_p[z] - z_label
        q = np.exp(beta * logits - (beta * logits).max(1, keepdims=True))
        q = q / q.sum(1, keepdims=True)
        return ((q * logits).sum(1) - logits[np.arange(60), labels]).mean()

    # the NLL is flat at its minimum, so a minimizer of its values finds T to ~1e-8 only
    want = 1 / optimize.brentq(slope, 1e-3, 1e3, xtol=1e-15, rtol=1e-15)
    got = TemperatureScaling().fit(logits, labels, tol=1e-10).temperature
    assert got == pytest.approx(want, rel=1e-9)
