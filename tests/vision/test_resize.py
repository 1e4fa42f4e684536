"""transforms.Resize / RandomResizedCrop: float images against PyTorch's interpolate (what
torchvision calls for float tensors), the output-size rules written out by hand, and uint8/PIL
images through Pillow's resize (torchvision's PIL path)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision import transforms
from chainrule.vision.transforms import v2

from .._case_loop import each_case, grid, with_rng


def _float_tensors_resize_as_pytorchs_bilinear_interpolate_case(rng, out, antialias):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 17, 23))
    ours = transforms.Resize(out, antialias=antialias)(cr.tensor(x))
    theirs = torch.nn.functional.interpolate(torch.tensor(x), size=out, mode="bilinear",
                                             align_corners=False, antialias=antialias)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-13, atol=1e-13)
    near = transforms.Resize(out, interpolation=transforms.InterpolationMode.NEAREST)
    theirs = torch.nn.functional.interpolate(torch.tensor(x), size=out, mode="nearest")
    np.testing.assert_array_equal(near(cr.tensor(x)).numpy(), theirs.numpy())


@pytest.mark.torch
def test_float_tensors_resize_as_pytorchs_bilinear_interpolate():
    each_case(with_rng(_float_tensors_resize_as_pytorchs_bilinear_interpolate_case), grid(
        ("antialias", [True, False]),
        ("out", [(8, 11), (25, 7), (5, 5), (17, 23), (40, 3)]),
    ))


@pytest.mark.torch
def test_float32_and_an_hwc_array_resize_the_same_way(rng):
    torch = pytest.importorskip("torch")
    x = rng.random((3, 12, 9)).astype(np.float32)
    theirs = torch.nn.functional.interpolate(torch.tensor(x)[None], size=(5, 4), mode="bilinear",
                                             antialias=True)[0].numpy()
    ours = v2.Resize((5, 4))(cr.tensor(x))
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-5, atol=1e-6)
    hwc = transforms.Resize((5, 4))(x.transpose(1, 2, 0))
    assert isinstance(hwc, np.ndarray) and hwc.shape == (5, 4, 3)
    np.testing.assert_allclose(hwc.transpose(2, 0, 1), theirs, rtol=1e-5, atol=1e-6)


def test_an_int_size_sets_the_shorter_edge():
    assert transforms.Resize(10)(cr.zeros(1, 20, 30)).shape == (1, 10, 15)
    assert transforms.Resize([10])(cr.zeros(1, 30, 20)).shape == (1, 15, 10)
    assert transforms.Resize(4)(cr.zeros(1, 7, 10)).shape == (1, 4, 5)  # int(4 * 10 / 7) = 5
    # max_size caps the longer edge: 10 x 40 -> 8 x 32
    assert transforms.Resize(10, max_size=32)(cr.zeros(1, 20, 80)).shape == (1, 8, 32)
    with pytest.raises(ValueError, match="max_size = 10 must be strictly greater"):
        transforms.Resize(10, max_size=10)(cr.zeros(1, 20, 80))
    with pytest.raises(ValueError, match="only supported with an int size"):
        transforms.Resize((10, 12), max_size=40)(cr.zeros(1, 20, 80))


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match=r"size must be an int or a sequence .*got 2.5"):
        transforms.Resize(2.5)
    with pytest.raises(ValueError, match=r"size must be positive, got \(0, 3\)"):
        transforms.Resize((0, 3))
    with pytest.raises(ValueError, match=r"interpolation must be one of \['nearest', "):
        transforms.Resize(3, interpolation="cubic")
    with pytest.raises(ValueError, match="'lanczos' resizes PIL and uint8 images only"):
        transforms.Resize(3, interpolation=transforms.InterpolationMode.LANCZOS)(
            cr.zeros(1, 5, 5))
    with pytest.raises(TypeError, match="float or uint8 image .*got dtype bool"):
        transforms.Resize(3)(cr.zeros(1, 5, 5, dtype=cr.bool))
    with pytest.raises(ValueError, match=r"scale should be \(min, max\)"):
        transforms.RandomResizedCrop(4, scale=(1.0, 0.5))


def test_uint8_and_pil_images_use_pillows_resize(rng):
    image_module = pytest.importorskip("PIL.Image")
    a = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    expected = np.asarray(image_module.fromarray(a).resize((11, 8), image_module.BILINEAR))
    from_pil = transforms.Resize((8, 11))(image_module.fromarray(a))
    assert isinstance(from_pil, image_module.Image)
    np.testing.assert_array_equal(np.asarray(from_pil), expected)
    from_array = transforms.Resize((8, 11))(a)
    assert from_array.dtype == np.uint8
    np.testing.assert_array_equal(from_array, expected)
    # a uint8 Tensor takes torchvision's tensor rule (float32, rounded), within one of Pillow's
    from_tensor = v2.Resize((8, 11))(v2.ToImage()(a))
    assert from_tensor.dtype == np.uint8 and from_tensor.shape == (3, 8, 11)
    difference = from_tensor.numpy().transpose(1, 2, 0).astype(int) - expected
    assert np.abs(difference).max() <= 1


def test_random_resized_crop_of_the_whole_image_is_a_resize(rng):
    x = cr.tensor(rng.standard_normal((3, 12, 16)))
    crop = transforms.RandomResizedCrop((6, 8), scale=(1.0, 1.0), ratio=(16 / 12, 16 / 12),
                                        rng=np.random.default_rng(0))
    np.testing.assert_array_equal(crop(x).numpy(), transforms.Resize((6, 8))(x).numpy())


def test_random_resized_crop_falls_back_to_a_centre_crop():
    # 10 x 100 with ratio 1 and the whole area: a 32 x 32 square never fits in 10 rows, so after
    # ten tries torchvision takes the centre 10 x 10 (in_ratio 10 > max ratio 1)
    x = cr.tensor(np.arange(1000.0).reshape(1, 10, 100))
    crop = transforms.RandomResizedCrop(10, scale=(1.0, 1.0), ratio=(1.0, 1.0),
                                        rng=np.random.default_rng(0))
    np.testing.assert_array_equal(crop(x).numpy(), x.numpy()[:, :, 45:55])


def test_random_resized_crop_draws_parts_within_the_bounds():
    crop = v2.RandomResizedCrop(5, rng=np.random.default_rng(3))
    for seed in range(20):
        top, left, h, w = crop.params(30, 40, np.random.default_rng(seed))
        assert 0 <= top and top + h <= 30 and 0 <= left and left + w <= 40
        assert 0.08 * 1200 * 0.9 <= h * w <= 1200 and 3 / 4 - 0.2 < w / h < 4 / 3 + 0.2
    assert crop(cr.zeros(3, 30, 40)).shape == (3, 5, 5)


def test_uint8_without_pillow_names_the_extra(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "PIL", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[viz\]"'):
        transforms.Resize(3)(np.zeros((5, 5), np.uint8))
    assert transforms.Resize(3)(np.zeros((5, 5), np.float32)).shape == (3, 3)  # no Pillow needed


@pytest.mark.torch
@pytest.mark.parametrize("out", [(8, 11), (25, 7), (17, 23), (40, 3)])
def test_bicubic_and_nearest_exact_resize_as_pytorchs_interpolate(rng, out):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 17, 23))
    for antialias in (True, False):
        ours = transforms.Resize(out, interpolation=transforms.InterpolationMode.BICUBIC,
                                 antialias=antialias)(cr.tensor(x))
        theirs = torch.nn.functional.interpolate(torch.tensor(x), size=out, mode="bicubic",
                                                 align_corners=False, antialias=antialias)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)
    exact = transforms.Resize(out, interpolation="nearest-exact")(cr.tensor(x))
    theirs = torch.nn.functional.interpolate(torch.tensor(x), size=out, mode="nearest-exact")
    np.testing.assert_array_equal(exact.numpy(), theirs.numpy())


def test_pillow_resampling_constants_name_the_modes():
    assert transforms.Resize(4, interpolation=3).interpolation == "bicubic"  # Image.BICUBIC
    assert transforms.RandomRotation(5, interpolation=2).interpolation == \
        transforms.InterpolationMode.BILINEAR
    x = cr.rand(1, 9, 9)
    np.testing.assert_array_equal(transforms.Resize(4, interpolation=0)(x).numpy(),
                                  transforms.Resize(4, interpolation="nearest")(x).numpy())
