"""Twenty-fourth fuzz wave, chainrule.vision.transforms: ToPILImage over every dtype, channel
count and mode, read back and compared with the values it was given (torchvision's rules: floats
times 255 and truncated, or kept for mode "F"); Pillow reinterpreted two of them silently."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision import transforms
from chainrule.vision.transforms import functional as F  # noqa: N812 - torchvision's spelling
from chainrule.vision.transforms import v2


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


@pytest.mark.parametrize("target", [np.uint8, np.int16])
def test_float16_images_scale_to_integers_as_float32_ones_do(target):
    # 255.999 rounds to 256 in float16: white (1.0) became 0, black (torchvision's own result,
    # deliberately not followed), and 0.5 became 128 where float32 gives 127
    x = np.concatenate([[1.0, 0.5, 0.0], np.random.default_rng(2).random(29)]).astype(np.float16)
    image = x.reshape(2, 4, 4)
    expected = F.convert_image_dtype(cr.tensor(image.astype(np.float32)), target).numpy()
    assert expected[0, 0, :3].tolist() == [np.iinfo(target).max, np.iinfo(target).max // 2, 0]
    for ours in (
        F.convert_image_dtype(cr.tensor(image), target),
        v2.ToDtype(target, scale=True)(cr.tensor(image)),
    ):
        assert ours.dtype == target
        np.testing.assert_array_equal(ours.numpy(), expected)
    if target == np.uint8:  # v2's equalize goes through uint8 the same way: the same levels
        ours = v2.functional.equalize(cr.tensor(image)).numpy().astype(np.float32)
        theirs = v2.functional.equalize(cr.tensor(image.astype(np.float32))).numpy()
        np.testing.assert_array_equal(np.rint(ours * 255), np.rint(theirs * 255))
