"""Sixth fuzz wave, resizing: the nearest rule of transforms.Resize and F.interpolate (2-D)
against PyTorch's interpolate, pixel for pixel."""

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


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_interpolate_2d_nearest_picks_pytorchs_pixels(dtype, mode):
    torch = pytest.importorskip("torch")
    import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling

    # the 2-D kernel's positions were computed in float32 whatever the dtype: a float64 image
    # of width 4 resized to 164 read column 0 at output 41, PyTorch column 1 (41 * (4 / 164));
    # float32 nearest-exact of 2 -> 141 missed the fused rounding of the 1-D kernel
    for width, out in [(4, 164), (7, 287), (2, 141), (2, 159)]:
        x = np.arange(width, dtype=dtype).reshape(1, 1, 1, width)
        ours = F.interpolate(cr.tensor(x), size=(1, out), mode=mode).numpy()
        theirs = torch.nn.functional.interpolate(torch.tensor(x), size=(1, out),
                                                 mode=mode).numpy()
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{width} -> {out}")
        if mode == "nearest":
            resized = transforms.Resize((1, out), interpolation="nearest")(cr.tensor(x[0]))
            np.testing.assert_array_equal(resized.numpy(), theirs[0])
