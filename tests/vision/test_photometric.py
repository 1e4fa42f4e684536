"""Colour and pixel operations (functional and Random* transforms), conversions, containers.

Hand-computed expectations and SciPy's Gaussian filter; torchvision's functions where installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.vision.transforms.functional as F  # noqa: N812 - torchvision's spelling
from chainrule.vision import transforms


@pytest.fixture
def u8():
    return (np.random.default_rng(0).random((3, 8, 10)) * 255).astype(np.uint8)


def test_blends_at_their_end_points(u8):
    t = cr.tensor(u8)
    assert not F.adjust_brightness(t, 0.0).numpy().any()
    np.testing.assert_array_equal(F.adjust_brightness(t, 1.0).numpy(), u8)
    np.testing.assert_array_equal(F.adjust_brightness(t, 2.0).numpy(),
                                  np.minimum(u8.astype(int) * 2, 255))
    grey = (0.2989 * u8[0] + 0.587 * u8[1] + 0.114 * u8[2]).astype(np.float32).astype(np.uint8)
    np.testing.assert_array_equal(F.rgb_to_grayscale(t).numpy()[0], grey)
    np.testing.assert_array_equal(F.adjust_saturation(t, 0.0).numpy(), np.stack([grey] * 3))
    flat = F.adjust_contrast(t, 0.0).numpy()
    assert np.all(flat == int(grey.astype(np.float32).mean()))
    f = u8.astype(np.float64) / 255
    np.testing.assert_allclose(F.adjust_contrast(cr.tensor(f), 0.5).numpy(),
                               np.clip(0.5 * f + 0.5 * (f[0] * 0.2989 + f[1] * 0.587
                                                        + f[2] * 0.114).mean(), 0, 1))


def test_invert_posterize_solarize_autocontrast(u8):
    t = cr.tensor(u8)
    np.testing.assert_array_equal(F.invert(t).numpy(), 255 - u8)
    np.testing.assert_array_equal(F.posterize(t, 3).numpy(), u8 & 0b11100000)
    np.testing.assert_array_equal(F.solarize(t, 128).numpy(), np.where(u8 >= 128, 255 - u8, u8))
    x = np.array([[[50, 100], [150, 60]]], np.uint8)  # one channel from 50 to 150
    np.testing.assert_array_equal(F.autocontrast(cr.tensor(x)).numpy(),
                                  [[[0, 127], [255, 25]]])
    f = np.array([[[0.2, 0.4], [0.6, 0.3]]])
    np.testing.assert_allclose(F.autocontrast(cr.tensor(f)).numpy(), [[[0, 0.5], [1, 0.25]]])
    with pytest.raises(TypeError, match="posterize: expected a uint8 image"):
        F.posterize(cr.tensor(f), 2)
    with pytest.raises(TypeError, match="threshold must be a number at most .* 1"):
        F.solarize(cr.tensor(f), 128)


def test_equalize_spreads_a_narrow_histogram():
    x = np.repeat(np.arange(100, 116, dtype=np.uint8), 64).reshape(1, 32, 32)
    out = F.equalize(cr.tensor(x)).numpy()
    # PIL's rule: step = (pixels less the last value's) // 255 = 960 // 255 = 3, and value
    # 100 + k maps to (64 k + step // 2) // step, clipped to 255
    expected = np.minimum((64 * np.arange(16) + 1) // 3, 255)
    np.testing.assert_array_equal(out[0, ::2, 0], expected)
    flat = np.full((1, 4, 4), 7, np.uint8)
    np.testing.assert_array_equal(F.equalize(cr.tensor(flat)).numpy(), flat)


def test_gaussian_blur_is_scipys_on_a_reflected_image():
    ndimage = pytest.importorskip("scipy.ndimage")
    x = np.random.default_rng(1).random((2, 12, 15))
    for k, sigma in [(5, 1.3), (7, 0.8), (3, 2.0)]:
        ours = F.gaussian_blur(cr.tensor(x), k, sigma).numpy()
        theirs = np.stack([ndimage.gaussian_filter(p, sigma, mode="mirror",
                                                   truncate=(k // 2) / sigma) for p in x])
        np.testing.assert_allclose(ours, theirs, atol=1e-12)
    taps = transforms.functional.gaussian_blur  # the kernel: a constant image stays constant
    np.testing.assert_allclose(taps(cr.ones(1, 6, 6), (5, 3), (0.7, 1.9)).numpy(), 1.0)
    with pytest.raises(ValueError, match="kernel_size must be odd and positive"):
        F.gaussian_blur(cr.tensor(x), 4)


def test_sharpness_keeps_the_border_and_blurs_at_zero():
    x = np.zeros((1, 5, 5))
    x[0, 2, 2] = 1.0
    soft = F.adjust_sharpness(cr.tensor(x), 0.0).numpy()[0]
    assert soft[2, 2] == pytest.approx(5 / 13) and soft[1, 1] == pytest.approx(1 / 13)
    assert soft[0].sum() == 0  # the border keeps its values
    np.testing.assert_allclose(F.adjust_sharpness(cr.tensor(x), 1.0).numpy(), x)


def test_grayscale_transforms_and_kinds(u8):
    hwc = u8.transpose(1, 2, 0).copy()
    grey = transforms.Grayscale()(hwc)
    assert grey.shape == (8, 10) and grey.dtype == np.uint8
    three = transforms.Grayscale(3)(cr.tensor(u8))
    assert three.shape == (3, 8, 10) and np.array_equal(three.numpy()[0], three.numpy()[2])
    always = transforms.RandomGrayscale(p=1.0)(hwc)
    assert always.shape == hwc.shape and np.array_equal(always[..., 0], grey)
    assert transforms.RandomGrayscale(p=0.0)(hwc) is hwc


def test_random_pixel_transforms_apply_with_probability_p():
    u8 = (np.random.default_rng(0).random((3, 32, 32)) * 100 + 50).astype(np.uint8)
    t = cr.tensor(u8)
    for cls, args in [(transforms.RandomInvert, ()), (transforms.RandomPosterize, (2,)),
                      (transforms.RandomSolarize, (100,)), (transforms.RandomAutocontrast, ()),
                      (transforms.RandomEqualize, ()), (transforms.RandomAdjustSharpness, (2.0,))]:
        assert cls(*args, p=0.0)(t) is t
        assert not np.array_equal(cls(*args, p=1.0)(t).numpy(), u8), cls.__name__
    cr.manual_seed(5)
    a = [transforms.RandomInvert()(t).numpy()[0, 0, 0] for _ in range(20)]
    cr.manual_seed(5)
    assert a == [transforms.RandomInvert()(t).numpy()[0, 0, 0] for _ in range(20)]
    assert len(set(a)) == 2
    with pytest.raises(ValueError, match="p must be a probability"):
        transforms.RandomInvert(p=1.5)


def test_gaussian_blur_transform_draws_sigma():
    blur = transforms.GaussianBlur(5, sigma=(0.5, 0.5))
    x = cr.rand(3, 9, 9)
    np.testing.assert_array_equal(blur(x).numpy(), F.gaussian_blur(x, 5, 0.5).numpy())
    sigmas = [transforms.GaussianBlur.get_params(0.1, 2.0, rng=np.random.default_rng(k))
              for k in range(20)]
    assert all(0.1 <= s <= 2.0 for s in sigmas)
    with pytest.raises(ValueError, match="sigma must be a positive number or a \\(min, max\\)"):
        transforms.GaussianBlur(3, sigma=(2.0, 1.0))


def test_random_erasing():
    x = cr.ones(3, 20, 20)
    out = transforms.RandomErasing(p=1.0, value=(0.1, 0.2, 0.3), rng=np.random.default_rng(0))(x)
    erased = out.numpy() != 1.0
    assert erased.any() and np.array_equal(erased[0], erased[2])
    rows, cols = np.nonzero(erased[0])
    box = erased[0, rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    assert box.all() and 0.02 * 400 <= box.size <= 0.33 * 400 + 40
    np.testing.assert_allclose(out.numpy()[:, rows[0], cols[0]], [0.1, 0.2, 0.3], rtol=1e-6)
    assert x.numpy().min() == 1.0  # not in place by default
    noisy = transforms.RandomErasing(p=1.0, value="random", inplace=True)(x)
    assert noisy is x and x.numpy().min() < 0.9
    assert transforms.RandomErasing(p=0.0)(x) is x
    with pytest.raises(TypeError, match="expected a Tensor image"):
        transforms.RandomErasing(p=1.0)(np.ones((4, 4)))
    with pytest.raises(ValueError, match="value as a string must be 'random'"):
        transforms.RandomErasing(value="noise")


def test_conversions():
    u = cr.tensor(np.array([[[0, 128, 255]]], np.uint8))
    f = transforms.ConvertImageDtype(cr.float32)(u)
    np.testing.assert_allclose(f.numpy(), [[[0, 128 / 255, 1]]], rtol=1e-6)
    np.testing.assert_array_equal(F.convert_image_dtype(f, cr.uint8).numpy(), [[[0, 128, 255]]])
    np.testing.assert_array_equal(F.convert_image_dtype(u, np.int16).numpy(),
                                  [[[0, 128 * 128, 255 * 128]]])
    with pytest.raises(RuntimeError, match="cannot be performed safely"):
        F.convert_image_dtype(f, cr.int64)
    a = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    t = transforms.PILToTensor()(a)
    assert t.dtype == cr.uint8 and t.shape == (3, 2, 2) and t.numpy()[2, 1, 1] == 11
    pil = pytest.importorskip("PIL.Image")
    back = transforms.ToPILImage()(cr.tensor(a.transpose(2, 0, 1).copy()))
    assert isinstance(back, pil.Image) and np.array_equal(np.asarray(back), a)
    np.testing.assert_array_equal(F.pil_to_tensor(back).numpy(), t.numpy())


def test_random_containers():
    add = transforms.Lambda(lambda x: x + 1)
    double = transforms.Lambda(lambda x: x * 2)
    assert transforms.RandomApply([add, double], p=1.0)(1) == 4
    assert transforms.RandomApply([add, double], p=0.0)(1) == 1
    rng = np.random.default_rng(0)
    picks = [transforms.RandomChoice([add, double], p=[3, 1], rng=rng)(10) for _ in range(400)]
    assert set(picks) == {11, 20} and 0.65 < picks.count(11) / 400 < 0.85
    orders = {transforms.RandomOrder([add, double], rng=rng)(1) for _ in range(50)}
    assert orders == {3, 4}  # (1 + 1) * 2 and 1 * 2 + 1
    with pytest.raises(TypeError, match="every transform must be callable"):
        transforms.RandomApply([1])


def _tv():
    pytest.importorskip("torch")
    return pytest.importorskip("torchvision.transforms.functional")


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_matches_torchvision(dtype):
    tf = _tv()
    import torch

    x = np.random.default_rng(3).random((2, 3, 9, 12))
    x = (x * 255).astype(np.uint8) if dtype == np.uint8 else x.astype(dtype)
    ours, theirs = cr.tensor(x), torch.tensor(x)
    tol = 0 if dtype == np.uint8 else 1e-6

    def same(a, b):
        np.testing.assert_allclose(a.numpy().astype(float), b.numpy().astype(float), atol=tol)

    for f in (0.3, 1.6):
        for name in ("adjust_brightness", "adjust_contrast", "adjust_saturation",
                     "adjust_sharpness"):
            same(getattr(F, name)(ours, f), getattr(tf, name)(theirs, f))
        same(F.adjust_gamma(ours, f, 0.9), tf.adjust_gamma(theirs, f, 0.9))
    for name in ("invert", "autocontrast"):
        same(getattr(F, name)(ours), getattr(tf, name)(theirs))
    same(F.gaussian_blur(ours, (5, 3), (1.2, 0.7)), tf.gaussian_blur(theirs, [5, 3], [1.2, 0.7]))
    same(F.rgb_to_grayscale(ours, 3), tf.rgb_to_grayscale(theirs, 3))
    if dtype == np.uint8:
        same(F.equalize(ours), tf.equalize(theirs))
        same(F.posterize(ours, 3), tf.posterize(theirs, 3))
        same(F.solarize(ours, 100), tf.solarize(theirs, 100))


def test_linear_transformation_whitens_flattened_images():
    rng = np.random.default_rng(0)
    matrix, mean = rng.random((12, 12)), rng.random(12)
    x = rng.random((2, 3, 2, 2))  # a batch of two (3, 2, 2) images
    out = transforms.LinearTransformation(matrix, mean)(cr.tensor(x)).numpy()
    np.testing.assert_allclose(out, ((x.reshape(2, 12) - mean) @ matrix).reshape(x.shape))
    with pytest.raises(ValueError, match="does not fit the 12-value matrix"):
        transforms.LinearTransformation(matrix, mean)(cr.rand(1, 2, 2))
    with pytest.raises(ValueError, match="transformation_matrix must be square"):
        transforms.LinearTransformation(np.ones((2, 3)), np.ones(2))
