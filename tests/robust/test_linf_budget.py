"""The L-infinity budget holds exactly: every attack's inputs end at most eps from the clean ones,
measured in float64. In float32, ``x + clip(delta, -eps, eps)`` rounds, and before, FGSM, PGD and
APGD returned inputs one unit in the last place past eps (0.020000001 at eps 0.02) on about one
input in a few hundred; project() now steps them back towards x (robust.within_linf)."""

import numpy as np
import pytest

from chainrule import nn, robust
from chainrule.robust.attacks import project, within_linf

EPS = 0.02


def _setup():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(64, 32, rng=rng), nn.ReLU(), nn.Linear(32, 5, rng=rng))
    x = rng.uniform(size=(40, 64)).astype(np.float32)
    return model, x, rng.integers(0, 5, 40)


def _excess(adv, x):
    return float(np.max(np.abs(adv.astype(np.float64) - x.astype(np.float64)))) - EPS


def test_project_rounds_inside_the_ball():
    rng = np.random.default_rng(1)
    x = rng.uniform(0.1, 0.9, size=(200, 50)).astype(np.float32)
    far = x + rng.choice([-1.0, 1.0], size=x.shape).astype(np.float32)
    naive = np.clip(x + np.clip(far - x, -EPS, EPS), 0, 1)
    assert _excess(naive, x) > 0  # the rounding this guards against happens on these inputs
    adv = project(far, x, EPS, "linf", (0.0, 1.0))
    assert _excess(adv, x) <= 0
    assert adv.dtype == np.float32 and adv.min() >= 0 and adv.max() <= 1
    # only the inputs past eps moved, and by one unit in the last place
    moved = adv != naive
    np.testing.assert_array_equal(adv[moved], np.nextafter(naive[moved], x[moved]))
    # at most eps away in the input's own arithmetic too
    assert float(np.abs(adv - x).max()) <= EPS


def test_within_linf_leaves_points_inside_alone():
    x = np.linspace(0, 1, 30, dtype=np.float32).reshape(3, 10)
    adv = x + np.float32(0.01)
    np.testing.assert_array_equal(within_linf(adv, x, EPS), adv)


@pytest.mark.parametrize("method, kwargs", [
    ("fgsm", {"random_start": True}),
    ("pgd", {"steps": 3, "random_start": True}),
    ("apgd", {"steps": 3}),
])
def test_every_linf_attack_keeps_the_budget(method, kwargs):
    model, x, y = _setup()
    attack = getattr(robust, method)
    res = attack(model, x, y, eps=EPS, rng=0, **kwargs)
    adv = np.asarray(res.adversarial)
    assert _excess(adv, x) <= 0, method
    assert adv.min() >= 0 and adv.max() <= 1


@pytest.mark.parametrize("x0, adv0, eps", [
    (0.3125, 0.012499988, 0.3),   # FGSM on the digits: 4 ulp steps of adv left it past eps
    (0.3, 0.0, 0.3),              # float32(0.3) > 0.3: adv must leave 0, where an ulp is 1e-45
    (200.0, 192.0, 8.0 - 1e-7),   # a 0..255 image: eps between two float32 values
])
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_rounding_past_eps_is_undone_by_both_measures(x0, adv0, eps, norm):
    """Before, within_linf gave up after four one-ulp steps (and within_l2 after eight) and
    returned the input still past eps without a word; now the step back grows until both the
    float32 distance and the exact one are within eps."""
    x = np.full((2, 3), x0, np.float32)
    adv = x.copy()
    adv[0, 1] = adv0
    back = within_linf(adv, x, eps) if norm == "linf" else project(adv, x, eps, "l2", (0, 255))
    d32 = np.abs(back - x).astype(np.float64)
    d64 = np.abs(back.astype(np.float64) - x.astype(np.float64))
    assert d32.max() <= eps and d64.max() <= eps
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back[1], x[1])                  # inside: untouched
    assert np.abs(back[0, 1] - x0) < np.abs(adv0 - x0)            # moved towards x
    ulp = np.spacing(np.float32(max(x0, adv0)))
    assert d64.max() >= eps - 4 * ulp                              # by a few ulps, not more
