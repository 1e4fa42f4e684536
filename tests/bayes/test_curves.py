"""The plausibility demo: sizes, regularizers and early stopping on noisy 1-D samples."""

import numpy as np
import pytest

from chainrule.bayes import SIZES, fit_curve, noisy_curve, true_curve


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return noisy_curve(15, rng=rng), noisy_curve(20, rng=rng)


def test_noisy_curve_is_seeded_and_shaped():
    a, b = noisy_curve(5, rng=3), noisy_curve(5, rng=3)
    assert a[0].shape == (5, 1) and np.array_equal(a[1], b[1])
    clean = noisy_curve(50, noise=0.0, rng=1)
    assert np.allclose(clean[1], true_curve(clean[0]), atol=1e-6)
    with pytest.raises(ValueError, match="n must be an int >= 1, got 0"):
        noisy_curve(0)


def test_the_big_net_fits_the_training_data_better_than_the_small_one(data):
    train, val = data
    small = fit_curve(SIZES["under"], train, val, epochs=600, rng=1)
    big = fit_curve(SIZES["over"], train, val, epochs=600, rng=1)
    assert big["train_loss"][-1] < 0.3 * small["train_loss"][-1]
    # ... and overfits: its validation loss ends above its own minimum
    assert big["val_loss"][-1] > 1.2 * min(big["val_loss"])


def test_early_stopping_stops_after_the_minimum_and_restores_it(data):
    train, val = data
    fit = fit_curve(SIZES["over"], train, val, epochs=600, early_stopping=True, patience=50,
                    rng=1)
    assert fit["stopped_epoch"] == fit["best_epoch"] + 50
    assert fit["val_loss"][fit["best_epoch"]] == min(fit["val_loss"])
    assert len(fit["val_loss"]) == fit["stopped_epoch"] + 1


def test_weight_decay_shrinks_the_weights(data):
    train, val = data
    norms = [sum(float((p._data ** 2).sum()) for p in fit_curve(
        SIZES["right"], train, val, epochs=400, weight_decay=wd, rng=1)["model"].parameters())
        for wd in (0.0, 0.1)]
    assert norms[1] < 0.8 * norms[0]
