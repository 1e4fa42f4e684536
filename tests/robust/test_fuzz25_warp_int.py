"""robust.warp of integer images (raw 0..255 pixels): the bilinear values were truncated by the
cast back to the images' dtype (a half-pixel shift of 0, 255 gave 127, everything darkened by
half a level on average); they are rounded now, as torchvision's rotate rounds (half to even)."""

import numpy as np

from chainrule.robust import warp


def test_integer_images_are_rounded():
    x = np.array([[[[0, 255, 0, 255, 7]]]], dtype="uint8")
    exact = warp(x.astype("float64"), shift=(0.0, 0.5))
    np.testing.assert_array_equal(exact, [[[[0.0, 127.5, 127.5, 127.5, 131.0]]]])
    got = warp(x, shift=(0.0, 0.5))
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, [[[[0, 128, 128, 128, 131]]]])
    ints = np.array([[[[0, 3, 0, 3]]]], dtype="int64")
    np.testing.assert_array_equal(warp(ints, shift=(0.0, 0.5)), [[[[0, 2, 2, 2]]]])
