"""Sixth fuzz wave, vision transforms: Resize's nearest rule against PyTorch's interpolate."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision import transforms


@pytest.mark.torch
@pytest.mark.parametrize("width", [7, 26, 31])
def test_nearest_resize_of_float32_picks_pytorchs_pixels(width):
    torch = pytest.importorskip("torch")
    # PyTorch's kernel computes i * width / out in float32: for 26 -> 46, column 23 reads
    # input column 13 (float64 gives 12.999999999999998, floored to 12)
    x = np.random.default_rng(0).random((1, 3, width), dtype=np.float32)
    nearest = transforms.InterpolationMode.NEAREST
    for out in range(1, 4 * width + 3):
        ours = transforms.Resize((3, out), interpolation=nearest)(cr.tensor(x)).numpy()
        theirs = torch.nn.functional.interpolate(torch.tensor(x)[None], size=(3, out),
                                                 mode="nearest")[0].numpy()
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{width} -> {out}")
