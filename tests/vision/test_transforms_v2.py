"""chainrule.vision.transforms.v2: ToImage and ToDtype by torchvision's documented rules (expected
values written out), the v1 transforms under v2's names, and v2's replacement for ToTensor."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision import transforms
from chainrule.vision.transforms import v2


def test_to_image_moves_channels_first_and_keeps_the_dtype():
    hwc = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    image = v2.ToImage()(hwc)
    assert isinstance(image, cr.Tensor) and image.shape == (3, 2, 2) and image.dtype == np.uint8
    assert image.numpy()[1].tolist() == [[1, 4], [7, 10]]  # channel 1 of each pixel
    grey = v2.ToImage()(np.array([[0.25, 0.5]]))
    assert grey.shape == (1, 1, 2) and grey.dtype == np.float64
    assert v2.ToImage()(cr.zeros(2, 3)).shape == (1, 2, 3)
    chw = cr.zeros(3, 4, 5)
    assert v2.ToImage()(chw) is chw


def test_to_image_of_a_pil_image():
    image_module = pytest.importorskip("PIL.Image")
    rgb = np.array([[[255, 0, 10], [1, 2, 3]]], dtype=np.uint8)
    image = v2.ToImage()(image_module.fromarray(rgb))
    assert image.shape == (3, 1, 2) and image.dtype == np.uint8
    assert image.numpy()[:, 0, 0].tolist() == [255, 0, 10]


def test_to_image_refuses_other_inputs():
    with pytest.raises(TypeError, match="got list"):
        v2.ToImage()([[1, 2]])
    with pytest.raises(ValueError, match=r"got shape \(2, 2, 2, 2\)"):
        v2.ToImage()(np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match=r"at least 2 dimensions .*got shape \(3,\)"):
        v2.ToImage()(cr.zeros(3))


def test_to_dtype_uint8_to_float_scales_by_the_reciprocal_of_255():
    pixels = cr.tensor(np.array([0, 1, 128, 255], np.uint8))
    out = v2.ToDtype(cr.float32, scale=True)(pixels)
    assert out.dtype == np.float32
    # torchvision: image.to(float32).mul_(1.0 / 255), in float32
    expected = np.array([0, 1, 128, 255], np.float32) * np.float32(1.0 / 255)
    np.testing.assert_array_equal(out.numpy(), expected)
    assert out.numpy()[-1] == 1.0
    unscaled = v2.ToDtype(cr.float32)(pixels)
    assert unscaled.numpy().tolist() == [0.0, 1.0, 128.0, 255.0]


def test_to_dtype_float_to_uint8_multiplies_by_255_999_and_truncates():
    values = cr.tensor(np.array([0.0, 0.5, 0.999, 1.0, 0.0039], np.float64))
    out = v2.ToDtype(cr.uint8, scale=True)(values)
    # 0.5 * 255.999 = 127.9995 -> 127; 0.999 * 255.999 = 255.74 -> 255; 0.0039 -> 0.998 -> 0
    assert out.dtype == np.uint8 and out.numpy().tolist() == [0, 127, 255, 255, 0]
    with pytest.raises(ValueError, match=r"needs them in \[0, 1\], got values in \[0.0, 1.5\]"):
        v2.ToDtype(cr.uint8, scale=True)(cr.tensor([0.0, 1.5]))
    with pytest.raises(RuntimeError, match="from float32 to int64 cannot be performed safely"):
        v2.ToDtype(cr.int64, scale=True)(cr.tensor([0.5], dtype=cr.float32))


def test_to_dtype_between_integers_shifts_by_the_bits():
    pixels = cr.tensor(np.array([0, 1, 255], np.uint8))
    wide = v2.ToDtype(cr.int16, scale=True)(pixels)  # 8 bits to 15: << 7
    assert wide.dtype == np.int16 and wide.numpy().tolist() == [0, 128, 32640]
    narrow = v2.ToDtype(cr.uint8, scale=True)(cr.tensor(np.array([32767, 256], np.int16)))
    assert narrow.dtype == np.uint8 and narrow.numpy().tolist() == [255, 2]  # >> 7


def test_to_dtype_float_to_float_only_converts_and_keeps_the_graph():
    x = cr.tensor(np.array([0.25, 2.0]), requires_grad=True)
    out = v2.ToDtype(cr.float32, scale=True)(x)
    assert out.dtype == np.float32 and out.numpy().tolist() == [0.25, 2.0]
    out.sum().backward()
    assert x.grad.numpy().tolist() == [1.0, 1.0]
    same = cr.zeros(2)
    assert v2.ToDtype(same.dtype, scale=True)(same) is same


def test_to_dtype_refuses_what_it_cannot_do():
    with pytest.raises(TypeError, match="apply ToImage first"):
        v2.ToDtype(cr.float32)(np.zeros(3))
    with pytest.raises(TypeError, match="dict of dtypes"):
        v2.ToDtype({"image": cr.float32})
    with pytest.raises(TypeError, match="scale must be True or False, got 1"):
        v2.ToDtype(cr.float32, 1)
    with pytest.raises(TypeError, match="float or integer dtype, got bool"):
        v2.ToDtype(bool)


def test_the_v2_pipeline_equals_v1_to_tensor_and_normalize():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    new = v2.Compose([v2.ToImage(), v2.ToDtype(cr.float32, scale=True), v2.Normalize(mean, std)])
    old = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    # v1 divides by 255, v2 multiplies by 1/255: equal to float32 rounding
    np.testing.assert_allclose(new(image).numpy(), old(image).numpy(), rtol=1e-6, atol=1e-6)
    assert new(image).dtype == np.float32 and new(image).shape == (3, 5, 4)


def test_v2_names_are_the_v1_transforms():
    for name in ("Compose", "Normalize", "RandomHorizontalFlip", "RandomVerticalFlip",
                 "RandomCrop", "CenterCrop", "ColorJitter", "RandomAffine", "ToTensor",
                 "RandomRotation", "RandomPerspective", "RandomErasing",
                 "RandomApply", "Grayscale", "Pad"):
        assert getattr(v2, name) is getattr(transforms, name)
    # v2's take float images too: subclasses of v1's
    for name in ("TrivialAugmentWide", "AutoAugment", "RandAugment", "AugMix",
                 "RandomPosterize", "RandomEqualize", "GaussianBlur"):
        assert issubclass(getattr(v2, name), getattr(transforms, name))
    flip = v2.RandomHorizontalFlip(p=1.0)
    assert flip(cr.tensor([[[1.0, 2.0, 3.0]]])).numpy().tolist() == [[[3.0, 2.0, 1.0]]]
    crop = v2.RandomCrop(2, padding=1, rng=np.random.default_rng(0))
    assert crop(cr.zeros(1, 3, 3)).shape == (1, 2, 2)
    assert v2.ToPureTensor()(flip) is flip


def test_v2_lambda_applies_only_to_the_types_given():
    double = v2.Lambda(lambda x: x * 2, cr.Tensor)
    assert double(cr.tensor([1.0])).tolist() == [2.0]
    assert double("label") == "label"
    assert v2.Lambda(lambda x: x + 1)(1) == 2
    with pytest.raises(TypeError, match="types must be classes"):
        v2.Lambda(abs, "Tensor")


def test_lambda_takes_torchvisions_keyword():
    assert transforms.Lambda(lambd=lambda x: x * 3)(2) == 6
    assert v2.Lambda(lambd=lambda x: x - 1)(2) == 1
    with pytest.raises(TypeError, match="lambd must be callable"):
        transforms.Lambda(lambd=3)
