"""Wave 21: the autoencoders' corruptions take images in [0, 1] only, and seeds as well as
Generators.

0..255 images (uint8 MNIST) became all ones under clipped Gaussian noise, got colours far outside
[0, 1] from ``colorize_digits`` and an invisible watermark; [-1, 1] images lost their negative half.
An int seed failed with AttributeError, and ``texts="CR"`` stamped the single letters C and R.
"""

import numpy as np
import pytest

from chainrule.data.corruptions import (
    colorization_pair,
    colorize_digits,
    corrupt,
    denoising_pair,
    stamp_watermark,
    to_grayscale,
    watermark_pair,
)

CALLS = {
    "gaussian": lambda x, rng: corrupt(x, "gaussian:0.3", rng=rng),
    "mask": lambda x, rng: corrupt(x, "mask:0.5", rng=rng),
    "denoising": lambda x, rng: denoising_pair(x, rng, "gaussian:0.1")[0],
    "colorize": lambda x, rng: colorize_digits(x, rng=rng),
    "colorization": lambda x, rng: colorization_pair(x, rng)[1],
    "watermark": lambda x, rng: stamp_watermark(x, rng=rng),
    "watermark_pair": lambda x, rng: watermark_pair(x, rng)[0],
}


@pytest.fixture
def images():
    return np.random.default_rng(0).random((3, 1, 8, 8)).astype(np.float64)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_images_outside_the_unit_range_raise(images, name):
    call = CALLS[name]
    for bad in ((images * 255).astype(np.uint8), images * 2 - 1, np.where(images > 0.5, np.nan, 0)):
        with pytest.raises(ValueError, match=r"images must have values in \[0, 1\]"):
            call(bad, np.random.default_rng(1))
    out = call(images, np.random.default_rng(1))
    assert out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    # an int seed is the Generator it seeds
    np.testing.assert_array_equal(call(images, 1), out)


def test_colorization_grey_is_bt601_luminance_of_the_colour(images):
    grey, colour = colorization_pair(images, np.random.default_rng(2))
    np.testing.assert_array_equal(grey, to_grayscale(colour))
    c = colour.astype(np.float64)
    want = 0.299 * c[:, 0] + 0.587 * c[:, 1] + 0.114 * c[:, 2]
    np.testing.assert_allclose(grey[:, 0], want, rtol=1e-6, atol=1e-7)
    # the strokes keep their shape: the tint is affine in the grey input, per image and channel
    x = images[:, 0].astype(np.float32)
    for i in range(len(images)):
        a, b = np.polyfit(x[i].ravel(), colour[i, 0].ravel(), 1)
        np.testing.assert_allclose(a * x[i] + b, colour[i, 0], atol=1e-5)


def test_watermark_texts_must_be_a_sequence_of_strings(images):
    with pytest.raises(TypeError, match="texts must be a sequence of strings"):
        stamp_watermark(images, rng=0, texts="CR")
    assert stamp_watermark(images, rng=0, texts=("CR",)).shape == images.shape
