"""Sixteenth fuzz wave, chainrule.vision against torchvision: the cases the differential fuzzing
found wrong, pinned against PyTorch's own kernels (torchvision's tensor functionals are built on
them: ``interpolate``, ``pad``) or against torchvision where it imports."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.vision.transforms.functional as F  # noqa: N812 - torchvision's spelling
from chainrule.vision import transforms


def _torchvision_functional():
    try:  # a torchvision built for another torch fails with RuntimeError, not ImportError
        import torchvision.transforms.functional as tvf
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"torchvision does not import: {e!r}")
    return tvf


@pytest.mark.torch
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "bicubic"])
@pytest.mark.parametrize("antialias", [True, False])
def test_uint8_tensors_resize_by_torchvisions_tensor_rule(mode, antialias):
    torch = pytest.importorskip("torch")
    # a uint8 Tensor went through Pillow: other pixels for nearest (off by up to 247), an
    # antialiased result for antialias=False; torchvision interpolates it in float32, rounds
    # (exactly for the nearest modes; the weighted modes land on exact halves often, where
    # float32 sums in another order than PyTorch's kernel round to the other neighbour)
    rng = np.random.default_rng(0)
    for _ in range(12):
        x = rng.integers(0, 256, (int(rng.integers(1, 4)), *rng.integers(2, 12, 2)), np.uint8)
        # output width 2 or more: PyTorch's antialiased kernel, resizing to one column while
        # enlarging the height, repeats the first row's value down the column
        size = [int(rng.integers(1, 16)), int(rng.integers(2, 16))]
        ours = F.resize(cr.tensor(x), size, mode, antialias=antialias)
        aa = antialias and mode in ("bilinear", "bicubic")
        theirs = torch.nn.functional.interpolate(
            torch.tensor(x, dtype=torch.float32)[None], size=size, mode=mode, antialias=aa,
            align_corners=False if mode in ("bilinear", "bicubic") else None)[0]
        theirs = theirs.clamp(0, 255).round().to(torch.uint8).numpy()
        assert ours.dtype == cr.uint8 and ours.shape == theirs.shape
        if mode.startswith("nearest"):
            np.testing.assert_array_equal(ours.numpy(), theirs, err_msg=f"{x.shape} -> {size}")
        else:
            difference = np.abs(ours.numpy().astype(int) - theirs)
            assert difference.max() <= 1 and (difference > 0).mean() < 0.05, f"{x.shape}"


@pytest.mark.torch
def test_integer_tensors_other_than_uint8_resize_too():
    torch = pytest.importorskip("torch")
    x = np.arange(-30, 30, dtype=np.int16).reshape(1, 6, 10)
    ours = transforms.Resize((4, 7))(cr.tensor(x))
    theirs = torch.nn.functional.interpolate(torch.tensor(x, dtype=torch.float32)[None],
                                             size=(4, 7), mode="bilinear", antialias=True)
    assert ours.dtype == cr.int16
    difference = ours.numpy() - theirs[0].round().to(torch.int16).numpy()
    assert np.abs(difference).max() <= 1


def test_uint8_tensor_with_a_pillow_only_mode_still_resizes():
    pytest.importorskip("PIL")
    x = cr.tensor(np.arange(48, dtype=np.uint8).reshape(1, 6, 8))
    assert F.resize(x, [3, 4], transforms.InterpolationMode.LANCZOS).shape == (1, 3, 4)


@pytest.mark.torch
def test_uint8_tensor_resize_matches_torchvision():
    torch = pytest.importorskip("torch")
    tvf = _torchvision_functional()
    rng = np.random.default_rng(1)
    for mode in ("NEAREST", "BILINEAR", "BICUBIC"):
        x = rng.integers(0, 256, (3, 9, 13), np.uint8)
        theirs = tvf.resize(torch.tensor(x), 5, getattr(tvf.InterpolationMode, mode))
        ours = F.resize(cr.tensor(x), 5, getattr(transforms.InterpolationMode, mode))
        assert ours.shape == tuple(theirs.shape) and ours.dtype == cr.uint8
        assert np.abs(ours.numpy().astype(int) - theirs.numpy()).max() <= (mode != "NEAREST")


@pytest.mark.torch
def test_tensor_reflect_padding_with_a_negative_side_reflects_the_whole_image():
    torch = pytest.importorskip("torch")
    # (-1, 0, 1, 0) on a width 2 image: PyTorch's reflect pads [a, b] to [a, b, a] and crops
    # the left: [b, a]; the crop came first, then numpy reflected [b] alone: [b, b]
    rng = np.random.default_rng(2)
    for _ in range(40):
        h, w = (int(v) for v in rng.integers(2, 7, 2))
        pads = [int(v) for v in rng.integers(-1, 2, 4)]
        x = rng.random((2, h, w)).astype(np.float32)
        left, top, right, bottom = pads
        theirs = torch.nn.functional.pad(torch.tensor(x)[None], (left, right, top, bottom),
                                         mode="reflect")[0].numpy()
        np.testing.assert_array_equal(F.pad(cr.tensor(x), pads, padding_mode="reflect").numpy(),
                                      theirs, err_msg=f"{(h, w)} {pads}")
    # an array (torchvision's PIL path) still crops first, then reflects what is left
    a = np.arange(6, dtype=np.uint8).reshape(2, 3)
    np.testing.assert_array_equal(F.pad(a, [-1, 0, 1, 0], padding_mode="reflect"),
                                  [[1, 2, 1], [4, 5, 4]])


def test_padding_that_crops_past_the_image_or_reflects_past_it_is_refused():
    x = cr.tensor(np.zeros((1, 6, 2), np.float32))
    # right -3 of a width 2 image: the slice 0:-1 wrapped around and kept a column
    with pytest.raises(ValueError, match=r"negative padding \[2, -2, -3, -3\] crops more than"):
        F.pad(x, [2, -2, -3, -3])
    with pytest.raises(ValueError, match=r"reflect padding \[2, 0, 0, 0\] must be less than"):
        F.pad(x, [2, 0, 0, 0], padding_mode="reflect")
    assert F.pad(x, [1, 0, 0, 0], padding_mode="reflect").shape == (1, 6, 3)


@pytest.mark.parametrize("dtype", [np.float64, np.int16, np.int32, np.uint16, np.float32])
def test_to_tensor_keeps_a_non_uint8_arrays_dtype_unscaled(dtype):
    # torchvision's ToTensor divides only uint8 (ByteTensor) by 255 and keeps other dtypes;
    # a float64 array came back float32, an int16 array as float32
    a = (np.arange(24).reshape(2, 4, 3) * 7).astype(dtype)
    out = transforms.ToTensor()(a)
    assert out.dtype == cr.from_numpy(a).dtype and out.shape == (3, 2, 4)
    np.testing.assert_array_equal(out.numpy(), a.transpose(2, 0, 1))
    assert F.to_tensor(a[:, :, 0]).shape == (1, 2, 4)
    scaled = transforms.ToTensor()(a.astype(np.uint8))
    assert scaled.dtype == cr.float32 and float(scaled.max()) == pytest.approx(161 / 255)


def test_normalize_takes_a_negative_std_and_refuses_a_zero_one():
    # torchvision checks only std == 0; a negative std was refused
    x = cr.tensor(np.full((2, 2, 2), 0.75, np.float32))
    out = transforms.Normalize([0.5, 0.25], [-0.5, 0.25])(x)
    np.testing.assert_allclose(out.numpy()[:, 0, 0], [-0.5, 2.0])
    with pytest.raises(ValueError, match="non-zero stds, got mean=.*std=\\[1, 0\\]"):
        transforms.Normalize([0, 0], [1, 0])


def test_a_float_crop_size_is_truncated_and_a_bad_padding_named():
    # torchvision's _setup_size takes int(size); a float gave "'float' object is not iterable"
    x = cr.tensor(np.arange(36.0).reshape(1, 6, 6))
    np.testing.assert_array_equal(transforms.CenterCrop(4.0)(x).numpy(),
                                  transforms.CenterCrop(4)(x).numpy())
    assert transforms.RandomCrop(3.5)(x).shape == (1, 3, 3)
    assert len(transforms.FiveCrop(2.0)(x)) == 5
    with pytest.raises(TypeError, match=r"Pad: padding must be an int or a sequence .*got 1.5"):
        transforms.Pad(1.5)
    with pytest.raises(TypeError, match=r"CenterCrop: size must be an int .*got 'a'"):
        transforms.CenterCrop("a")


@pytest.mark.parametrize("name", ["MNIST", "FashionMNIST"])
def test_mnist_looks_in_torchvisions_raw_folder_too(monkeypatch, tmp_path, name):
    # torchvision.datasets.MNIST("./data", download=True) keeps the .gz files in
    # ./data/MNIST/raw; chainrule looked only in ./data and ./data/mnist, so a program run
    # after torchvision's download fetched everything again (or failed offline)
    import importlib

    from chainrule.vision import datasets

    loader = importlib.import_module("chainrule.data.datasets.mnist")  # the module, not mnist()

    seen = {}

    def fetch(dataset, files, data_dir, download_missing, extra_dirs=()):
        seen.update(data_dir=data_dir, extra_dirs=extra_dirs)
        raise FileNotFoundError("stop here")

    monkeypatch.setattr(loader, "fetch", fetch)
    with pytest.raises(FileNotFoundError, match="stop here"):
        getattr(datasets, name)(tmp_path, train=False)
    assert str(tmp_path / name / "raw") in seen["extra_dirs"]
    assert seen["data_dir"] == tmp_path


def test_mnist_classes_have_torchvisions_class_to_idx():
    from chainrule.vision import datasets

    assert datasets.MNIST.classes[3] == "3 - three"
    mapping = datasets.FashionMNIST.class_to_idx.fget(datasets.FashionMNIST.__new__(
        datasets.FashionMNIST))
    assert mapping["Ankle boot"] == 9 and len(mapping) == 10


def test_v2_photometric_transforms_take_float_images():
    from chainrule.vision.transforms import v2

    # v2's posterize, equalize and automatic augmentations take float images (v1's: uint8
    # only); chainrule's v2 names were v1's and refused them
    x = np.array([[[0.0, 0.3, 0.49, 0.5], [0.74, 0.76, 0.999, 1.0]]], np.float32)
    out = v2.RandomPosterize(2, p=1.0)(cr.tensor(x))
    np.testing.assert_array_equal(out.numpy(), [[[0, 0.25, 0.25, 0.5], [0.5, 0.75, 0.75, 0.75]]])
    # equalize through uint8: x * 255.999 truncated, PIL's rule, times 1 / 255
    flat = x.reshape(1, 1, 8)
    as_uint8 = (flat * np.float32(255.999)).astype(np.uint8)
    expected = transforms.functional.equalize(cr.tensor(as_uint8)).numpy() * np.float32(1 / 255)
    np.testing.assert_array_equal(v2.RandomEqualize(p=1.0)(cr.tensor(flat)).numpy(), expected)
    with pytest.raises(TypeError, match="expected a uint8 image"):
        transforms.RandomEqualize(p=1.0)(cr.tensor(flat))
    rng = np.random.default_rng(7)
    image = rng.random((2, 3, 8, 8))
    for name in ("AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix"):
        with pytest.raises(TypeError, match="or use transforms.v2's"):
            getattr(transforms, name)()(cr.tensor(image))
        for seed in range(6):
            out = getattr(v2, name)(rng=np.random.default_rng(seed))(cr.tensor(image))
            assert out.dtype == cr.float64 and out.shape == (2, 3, 8, 8)
            assert -1e-12 <= float(out.min()) and float(out.max()) <= 1 + 1e-12


@pytest.mark.torch
def test_v2_float_posterize_and_equalize_match_torchvision():
    torch = pytest.importorskip("torch")
    try:
        import torchvision.transforms.v2 as tv2
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"torchvision does not import: {e!r}")
    from chainrule.vision.transforms import v2

    rng = np.random.default_rng(8)
    for bits in range(9):
        x = rng.random((3, 6, 7)).astype(np.float32)
        np.testing.assert_array_equal(v2.RandomPosterize(bits, 1.0)(cr.tensor(x)).numpy(),
                                      tv2.RandomPosterize(bits, 1.0)(torch.tensor(x)).numpy())
        np.testing.assert_allclose(v2.RandomEqualize(1.0)(cr.tensor(x)).numpy(),
                                   tv2.RandomEqualize(1.0)(torch.tensor(x)).numpy(), atol=1e-7)


def test_to_pil_image_keeps_floats_for_mode_f_and_int16_as_i16():
    image_module = pytest.importorskip("PIL.Image")
    # mode="F" multiplied the floats by 255 into uint8 and then failed ("Invalid mode for data
    # type"); torchvision keeps them; an int16 channel is torchvision's "I;16", not "I"
    x = np.array([[0.25, 0.5], [2.0, -1.0]], np.float32)
    for pic in (cr.tensor(x[None]), x, x[:, :, None]):
        out = F.to_pil_image(pic, "F")
        assert isinstance(out, image_module.Image) and out.mode == "F"
        np.testing.assert_array_equal(np.asarray(out), x)
    ints = np.array([[0, 1000], [7, 30000]], np.int16)
    out = transforms.ToPILImage()(cr.tensor(ints[None]))
    assert out.mode == "I;16" and np.asarray(out).tolist() == ints.tolist()
    assert F.to_pil_image(x[None].repeat(3, 0).transpose(1, 2, 0)).mode == "RGB"


def test_get_params_of_random_crop_resized_crop_and_color_jitter():
    # torchvision's static get_params, the segmentation idiom (one window for image and mask):
    # i, j, h, w = T.RandomCrop.get_params(image, (th, tw)); F.crop(image, i, j, h, w)...
    image = cr.tensor(np.arange(3 * 20 * 30, dtype=np.float32).reshape(3, 20, 30))
    for seed in range(5):
        i, j, h, w = transforms.RandomCrop.get_params(image, (8, 12),
                                                      rng=np.random.default_rng(seed))
        assert (h, w) == (8, 12) and 0 <= i <= 12 and 0 <= j <= 18
        assert F.crop(image, i, j, h, w).shape == (3, 8, 12)
        top, left, h, w = transforms.RandomResizedCrop.get_params(
            image, (0.08, 1.0), (3 / 4, 4 / 3), rng=np.random.default_rng(seed))
        assert 0 <= top and top + h <= 20 and 0 <= left and left + w <= 30
    assert transforms.RandomCrop.get_params(image, (20, 30)) == (0, 0, 20, 30)
    with pytest.raises(ValueError, match=r"crop size \(21, 5\) is larger than the input"):
        transforms.RandomCrop.get_params(image, (21, 5))
    # a crop drawn with get_params is RandomResizedCrop's own draw for the same generator
    crop = transforms.RandomResizedCrop(5, rng=np.random.default_rng(9))
    assert transforms.RandomResizedCrop.get_params(image, crop.scale, crop.ratio,
                                                   rng=np.random.default_rng(9)) == \
        crop.params(20, 30, np.random.default_rng(9))
    jitter = transforms.ColorJitter(brightness=0.5, hue=0.1)
    assert jitter.brightness == [0.5, 1.5] and jitter.contrast is None
    order, b, c, s, h = transforms.ColorJitter.get_params(
        jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue,
        rng=np.random.default_rng(0))
    assert sorted(order.tolist()) == [0, 1, 2, 3] and order.dtype == cr.int64
    assert 0.5 <= b <= 1.5 and c is None and s is None and -0.1 <= h <= 0.1


def test_random_crop_refuses_reflect_padding_past_a_tensors_size():
    # torchvision pads a Tensor with PyTorch's reflection pad, which refuses a pad of the
    # image's size or more; numpy repeated the reflection. Arrays (the PIL path) still do
    crop = transforms.RandomCrop(8, padding=3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"reflect padding \(3, 3, 3, 3\) must be less than"):
        crop(cr.zeros(1, 3, 3))
    assert crop(cr.zeros(1, 4, 4)).shape == (1, 8, 8)
    assert crop(np.zeros((3, 3), np.uint8)).shape == (8, 8)


def test_to_tensor_of_pil_images_takes_torchvisions_dtype_by_mode():
    image_module = pytest.importorskip("PIL.Image")
    base = np.array([[0, 100, 200], [255, 30, 128]], np.uint8)
    # a "1" (bilevel) image is read as uint8 0/255, so 0.0/1.0 floats (not bool)
    bilevel = transforms.ToTensor()(image_module.fromarray(base).convert("1"))
    assert bilevel.dtype == cr.float32 and set(bilevel.numpy().ravel().tolist()) <= {0.0, 1.0}
    # "I;16" as int16 (torchvision's np.int16), "I" as int32, "F" as float32, unscaled
    wide = image_module.fromarray(base.astype(np.uint16) * 200)
    assert wide.mode == "I;16"
    out = transforms.ToTensor()(wide)
    assert out.dtype == cr.int16
    np.testing.assert_array_equal(out.numpy()[0], (base.astype(np.uint16) * 200).view(np.int16))
    assert transforms.ToTensor()(wide.convert("I")).dtype == cr.int32
    grey = transforms.ToTensor()(image_module.fromarray(base))
    np.testing.assert_allclose(grey.numpy()[0], base / np.float32(255), rtol=1e-7)
