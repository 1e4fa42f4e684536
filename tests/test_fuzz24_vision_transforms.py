"""Twenty-fourth fuzz wave, chainrule.vision.transforms: ToPILImage over every dtype, channel
count and mode, read back and compared with the values it was given (torchvision's rules: floats
times 255 and truncated, or kept for mode "F"); Pillow reinterpreted two of them silently."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision import transforms


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_to_pil_image_mode_f_keeps_the_values_of_any_float_dtype(dtype):
    pytest.importorskip("PIL")
    # a float64 Tensor with mode="F" came back as Pillow's reading of its bytes: 5.6e27, 1.18...
    x = np.random.default_rng(0).random((1, 3, 4)).astype(dtype)
    out = transforms.ToPILImage("F")(cr.tensor(x))
    assert out.mode == "F" and out.size == (4, 3)
    np.testing.assert_array_equal(np.asarray(out), x[0].astype(np.float32))


def test_to_pil_image_mode_1_of_bools_keeps_them():
    pytest.importorskip("PIL")
    # mode="1" of a bool Tensor gave all-False (its bytes read as packed bits)
    x = np.random.default_rng(1).random((1, 5, 6)) > 0.5
    for mode in (None, "1"):
        out = transforms.ToPILImage(mode)(cr.tensor(x))
        assert out.mode == "1"
        np.testing.assert_array_equal(np.asarray(out), x[0])


def test_to_pil_image_refuses_more_than_four_channels_by_name():
    pytest.importorskip("PIL")
    with pytest.raises(ValueError, match="should not have > 4 channels, got 5"):
        transforms.ToPILImage()(cr.rand(5, 3, 4))
    with pytest.raises(ValueError, match="should not have > 4 channels, got 32"):
        transforms.ToPILImage()(np.zeros((3, 32, 32), np.uint8))  # a (C, H, W) array
