"""Nineteenth fuzz wave, robust: the patch's arguments that gave a number where they should not.

patch_success scored a patch outside the images' range [0, 1] (a patch of 5s pasted images no
input could be) or holding NaN (success 0.0), and a patch larger than the images (success 1.0:
it covers them whole); a float64 patch on float32 images stopped in matmul, an empty one in a
reshape. train_patch and patch_success took a negative or NaN max_rotation and a reversed or
zero scale range to NumPy's uniform ('high - low < 0') or divided by a zero scale. Each is now
refused with a message naming the argument.
"""

import numpy as np
import pytest

from chainrule import nn
from chainrule.robust import patch_success, train_patch


def _setup():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3, rng=rng))
    x = rng.uniform(0, 1, (10, 1, 8, 8)).astype(np.float32)
    return model, x, rng.integers(0, 3, 10)


@pytest.mark.parametrize(
    "patch, message",
    [
        (np.full((1, 3, 3), 5.0, np.float32), r"finite values in \[0, 1\].*from 5 to 5"),
        (np.full((1, 3, 3), -0.5, np.float32), r"finite values in \[0, 1\]"),
        (np.full((1, 3, 3), np.nan, np.float32), r"finite values in \[0, 1\]"),
        (np.full((1, 12, 12), 0.5, np.float32), r"1 <= s <= 8 .*\(1, 12, 12\)"),
        (np.zeros((1, 0, 0), np.float32), r"1 <= s <= 8"),
    ],
)
def test_patch_success_refuses_patches_no_image_could_hold(patch, message):
    model, x, y = _setup()
    with pytest.raises(ValueError, match=message):
        patch_success(model, x, y, patch, 1, rng=0)


def test_a_float64_patch_on_float32_images_is_scored_as_the_same_patch_in_float32():
    model, x, y = _setup()
    patch = np.random.default_rng(1).uniform(0, 1, (1, 3, 3))
    got = patch_success(model, x, y, patch, 1, rng=0)
    assert got == patch_success(model, x, y, patch.astype(np.float32), 1, rng=0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_rotation": -5.0}, r"max_rotation must be a finite number >= 0 \(degrees\)"),
        ({"max_rotation": float("nan")}, "max_rotation must be"),
        ({"scale": (1.1, 0.9)}, r"scale must be a range \(low, high\)"),
        ({"scale": (0.0, 0.0)}, "scale must be"),
        ({"scale": (0.9, 1.0, 1.1)}, "scale must be"),
    ],
)
def test_placement_ranges_are_checked(kwargs, message):
    model, x, y = _setup()
    with pytest.raises(ValueError, match=message):
        train_patch(model, x, 1, rng=0, **kwargs)
    with pytest.raises(ValueError, match=message):
        patch_success(model, x, y, np.full((1, 3, 3), 0.5, np.float32), 1, rng=0, **kwargs)
