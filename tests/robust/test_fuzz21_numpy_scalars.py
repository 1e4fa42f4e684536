"""Twenty-first fuzz wave, robust: settings given as NumPy scalars.

Before, ``eps=np.float32(8 / 255)``, ``steps=np.int64(10)``, ``tpr=np.float32(0.95)`` or
``area=np.float32(0.1)`` (a value taken from an array) were refused as "not a number" / "not an
int"; they are now taken as the Python number they hold (bools are still refused).
"""

import numpy as np
import pytest

from chainrule import nn, robust


def test_numpy_scalars_are_the_python_numbers_they_hold():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 4, rng=rng))
    x = rng.uniform(size=(3, 1, 4, 4)).astype(np.float32)
    y = np.array([0, 1, 2])
    plain = robust.pgd(model, x, y, eps=0.03, steps=3, alpha=0.01, rng=0).adversarial
    from_numpy = robust.pgd(
        model, x, y, eps=np.float32(0.03), steps=np.int64(3), alpha=np.float64(0.01), rng=0
    ).adversarial
    np.testing.assert_array_equal(from_numpy, plain)
    assert robust.apgd(
        model, x, y, eps=np.float32(0.03), steps=np.int32(4), rng=0
    ).norms.max() <= np.float32(0.03)
    scores = rng.normal(size=10), rng.normal(size=7)
    assert robust.fpr_at_tpr(*scores, tpr=np.float32(0.5)) == robust.fpr_at_tpr(*scores, tpr=0.5)
    assert robust.patch_side(np.float32(0.09), 28) == robust.patch_side(0.09, 28)
    for bad in (np.bool_(True), True):
        with pytest.raises(ValueError, match="steps must be an int"):
            robust.pgd(model, x, y, eps=0.03, steps=bad)
