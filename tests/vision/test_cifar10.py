"""CIFAR-10 from its binary archive (small files made here), and the transforms used with it."""

from __future__ import annotations

import hashlib
import importlib
import io
import tarfile

import numpy as np
import pytest

import chainrule as cr
from chainrule.data.download import RemoteFile
from chainrule.vision import datasets, transforms

cifar_module = importlib.import_module("chainrule.data.datasets.cifar10")

SIZES = {"data_batch_1.bin": 3, "data_batch_2.bin": 2, "data_batch_3.bin": 1,
         "data_batch_4.bin": 2, "data_batch_5.bin": 1, "test_batch.bin": 4}


def _batches(seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for name, n in SIZES.items():
        images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, n)
        raw = b"".join(bytes([int(y)]) + x.transpose(2, 0, 1).tobytes()
                       for x, y in zip(images, labels, strict=True))
        out[name] = (images, labels, raw)
    return out


def _archive(path, batches, *, drop=None):
    with tarfile.open(path, "w:gz") as tar:
        for name, (_, _, raw) in batches.items():
            if name == drop:
                continue
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _expected(batches, train):
    names = [n for n in SIZES if (n != "test_batch.bin") == train]
    return (np.concatenate([batches[n][0] for n in names]),
            np.concatenate([batches[n][1] for n in names]))


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local mirror holding a small archive, and the reader pointed at it."""
    batches = _batches()
    served = tmp_path / "mirror"
    served.mkdir()
    digest = _archive(served / "cifar-10-binary.tar.gz", batches)
    monkeypatch.setattr(cifar_module, "CIFAR10_FILES", (
        RemoteFile("cifar-10-binary.tar.gz", digest, (served.as_uri() + "/",)),))
    return batches


def test_reads_the_archive_downloaded_with_its_checksum(tmp_path, mirror):
    root = tmp_path / "data"
    with pytest.raises(FileNotFoundError, match="cifar10: missing files"):
        cifar_module.cifar10(root, download=False)
    (x, y), (xt, yt) = cifar_module.cifar10(root)
    assert (root / "cifar10" / "cifar-10-binary.tar.gz").is_file()
    ex, ey = _expected(mirror, True)
    np.testing.assert_array_equal(x, ex)
    np.testing.assert_array_equal(y, ey)
    assert x.dtype == np.uint8 and x.shape == (9, 32, 32, 3) and y.dtype == np.int64
    np.testing.assert_array_equal(xt, _expected(mirror, False)[0])
    # Pixel layout: the red plane first, row by row.
    raw = mirror["test_batch.bin"][2]
    assert xt[0, 0, 1, 0] == raw[1 + 1] and xt[0, 0, 0, 2] == raw[1 + 2 * 1024]


def test_the_pickled_python_version_is_named_in_the_error(tmp_path, mirror):
    (tmp_path / "cifar-10-batches-py").mkdir()
    with pytest.raises(FileNotFoundError, match="CIFAR-10's python version: its batches are "
                                                "pickles, which chainrule does not load"):
        datasets.CIFAR10(str(tmp_path), download=False)


def test_a_corrupt_archive_is_refused(tmp_path, mirror):
    root = tmp_path / "data"
    (root / "cifar10").mkdir(parents=True)
    (root / "cifar10" / "cifar-10-binary.tar.gz").write_bytes(b"not the archive")
    with pytest.raises(ValueError, match="checksum mismatch"):
        cifar_module.cifar10(root, download=False)


def test_an_archive_without_a_batch_or_with_broken_records(tmp_path, monkeypatch):
    batches = _batches()
    path = tmp_path / "cifar-10-binary.tar.gz"
    digest = _archive(path, batches, drop="data_batch_3.bin")
    monkeypatch.setattr(cifar_module, "CIFAR10_FILES",
                        (RemoteFile("cifar-10-binary.tar.gz", digest),))
    with pytest.raises(ValueError, match=r"lacks \['data_batch_3.bin'\]"):
        cifar_module.cifar10(tmp_path, download=False)
    with pytest.raises(ValueError, match="3075 bytes is not a whole number of 3073-byte"):
        cifar_module.read_cifar_records(bytes(3075), "x.bin")


def test_an_extracted_folder_works_too(tmp_path):
    batches = _batches(1)
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name, (_, _, raw) in batches.items():
        (folder / name).write_bytes(raw)
    test = datasets.CIFAR10(str(tmp_path), train=False)
    assert len(test) == 4 and test.data.shape == (4, 32, 32, 3)
    assert test.targets == _expected(batches, False)[1].tolist()
    image, label = test[2]
    np.testing.assert_array_equal(image, batches["test_batch.bin"][0][2])
    assert label == test.targets[2] and test.class_to_idx["cat"] == 3


def test_the_torchvision_cifar_pipeline_runs_as_written(tmp_path, mirror):
    transform = transforms.Compose([
        transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
        transforms.ColorJitter(0.2, 0.2, 0.2), transforms.ToTensor(),
        transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))])
    train = datasets.CIFAR10(str(tmp_path / "data"), train=True, download=True,
                             transform=transform)
    loader = cr.utils.data.DataLoader(train, batch_size=4, shuffle=True, num_workers=2)
    x, y = next(iter(loader))
    assert x.shape == (4, 3, 32, 32) and x.dtype == cr.float32 and y.dtype == cr.int64
    assert len(train) == 9 and train.classes[0] == "airplane"


def test_random_crop_is_a_window_of_the_padded_image(rng):
    image = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    padded = np.pad(image, ((2, 2), (2, 2), (0, 0)))
    seen = set()
    for seed in range(30):
        out = transforms.RandomCrop((5, 6), padding=2, rng=np.random.default_rng(seed))(image)
        assert out.shape == image.shape and out.dtype == np.uint8
        hits = [(i, j) for i in range(5) for j in range(5)
                if np.array_equal(padded[i:i + 5, j:j + 6], out)]
        assert hits
        seen.update(hits)
    assert len(seen) > 5  # the window moves
    t = cr.tensor(rng.random((3, 4, 4)).astype(np.float32))
    out = transforms.RandomCrop(4, padding=(1, 0), padding_mode="reflect",
                                rng=np.random.default_rng(0))(t)
    reflected = np.pad(t.numpy(), ((0, 0), (0, 0), (1, 1)), mode="reflect")
    assert isinstance(out, cr.Tensor) and any(
        np.array_equal(out.numpy(), reflected[:, :, j:j + 4]) for j in range(3))
    grown = transforms.RandomCrop((6, 6), pad_if_needed=True, fill=7)(image[:3])
    assert grown.shape == (6, 6, 3) and (grown == 7).any()
    with pytest.raises(ValueError, match=r"crop size \(8, 8\) is larger than the \(padded\) "
                                         r"image \(5, 6\)"):
        transforms.RandomCrop(8)(image)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        transforms.RandomCrop(4, padding_mode="wrap")


def test_flips_and_center_crop(rng):
    image = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(transforms.RandomHorizontalFlip(1.0)(image), image[:, ::-1])
    np.testing.assert_array_equal(transforms.RandomVerticalFlip(1.0)(image), image[::-1])
    assert transforms.RandomHorizontalFlip(0.0)(image) is image
    t = cr.tensor(image.transpose(2, 0, 1).astype(np.float32))
    np.testing.assert_array_equal(transforms.RandomHorizontalFlip(1.0)(t).numpy(),
                                  t.numpy()[:, :, ::-1])
    flips = [transforms.RandomHorizontalFlip(rng=np.random.default_rng(s))(image) is image
             for s in range(40)]
    assert 5 < sum(flips) < 35
    np.testing.assert_array_equal(transforms.CenterCrop(2)(image), image[1:3, 2:4])
    # Larger than the image: zeros around it, as torchvision's center_crop (it raised here).
    padded = np.zeros((7, 6, 3), np.uint8)
    padded[1:5, 0:5] = image  # height 4 -> 7: 1 above, 2 below; width 5 -> 6: 0 left, 1 right
    np.testing.assert_array_equal(transforms.CenterCrop((7, 6))(image), padded)
    np.testing.assert_array_equal(transforms.CenterCrop((7, 3))(image), padded[:, 1:4])
    np.testing.assert_array_equal(transforms.CenterCrop((7, 6))(t).numpy(),
                                  padded.transpose(2, 0, 1))
    with pytest.raises(ValueError, match="p must be a probability in"):
        transforms.RandomHorizontalFlip(1.5)


def test_color_jitter_factors(rng):
    t = cr.tensor(rng.random((3, 4, 4)).astype(np.float32))
    a = t.numpy()
    bright = transforms.ColorJitter(brightness=(1.5, 1.5))(t).numpy()
    np.testing.assert_allclose(bright, np.clip(1.5 * a, 0, 1), rtol=1e-6)
    grey = 0.2989 * a[0] + 0.587 * a[1] + 0.114 * a[2]
    flat = transforms.ColorJitter(contrast=(0.0, 0.0))(t).numpy()
    np.testing.assert_allclose(flat, np.full_like(a, grey.mean()), rtol=1e-5)
    washed = transforms.ColorJitter(saturation=(0.0, 0.0))(t).numpy()
    np.testing.assert_allclose(washed, np.broadcast_to(grey, a.shape), rtol=1e-5)
    np.testing.assert_allclose(transforms.ColorJitter(saturation=(1.0, 1.0))(t).numpy(), a,
                               rtol=1e-6)
    u8 = (a.transpose(1, 2, 0) * 255).astype(np.uint8)
    out = transforms.ColorJitter(brightness=(2.0, 2.0))(u8)
    np.testing.assert_array_equal(out, np.clip(2.0 * u8.astype(float), 0, 255).astype(np.uint8))
    cr.manual_seed(3)
    first = transforms.ColorJitter(0.4, 0.4, 0.4)(t).numpy()
    cr.manual_seed(3)
    np.testing.assert_array_equal(transforms.ColorJitter(0.4, 0.4, 0.4)(t).numpy(), first)
    with pytest.raises(ValueError, match=r"hue must be a number in \[0, 0.5\]"):
        transforms.ColorJitter(hue=0.7)


def test_color_jitter_hue(rng):
    import colorsys

    from chainrule.vision._color import hsv_to_rgb, rgb_to_hsv

    rgb = rng.random((3, 5, 4))
    rgb[:, 0, 0] = 0.4  # a grey pixel: no hue
    hsv = rgb_to_hsv(rgb)
    expected = np.array([colorsys.rgb_to_hsv(*rgb[:, i, j]) for i in range(5)
                         for j in range(4)]).T.reshape(3, 5, 4)
    np.testing.assert_allclose(hsv, expected, atol=1e-12)
    np.testing.assert_allclose(hsv_to_rgb(hsv), rgb, atol=1e-12)
    red = cr.tensor(np.array([1.0, 0.0, 0.0], np.float32).reshape(3, 1, 1))
    green = transforms.ColorJitter(hue=(1 / 3, 1 / 3))(red).numpy().ravel()
    np.testing.assert_allclose(green, [0.0, 1.0, 0.0], atol=1e-6)
    t = cr.tensor(rgb.astype(np.float32))
    turned = transforms.ColorJitter(hue=(0.2, 0.2))(t).numpy()
    np.testing.assert_allclose(rgb_to_hsv(turned.astype(np.float64))[1:], hsv[1:], atol=1e-5)
    u8 = (rgb.transpose(1, 2, 0) * 255).astype(np.uint8)
    same = transforms.ColorJitter(hue=(1e-9, 1e-9))(u8)
    assert same.dtype == np.uint8 and np.abs(same.astype(int) - u8).max() <= 1
    grey = np.full((4, 4), 90, np.uint8)
    np.testing.assert_array_equal(transforms.ColorJitter(hue=0.5)(grey), grey)


def test_pil_images_where_pillow_is_installed(rng):
    image_module = pytest.importorskip("PIL.Image")
    array = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    pil = image_module.fromarray(array)
    np.testing.assert_array_equal(transforms.ToTensor()(pil).numpy(),
                                  transforms.ToTensor()(array).numpy())
    flipped = transforms.RandomHorizontalFlip(1.0)(pil)
    assert isinstance(flipped, image_module.Image)
    np.testing.assert_array_equal(np.asarray(flipped), array[:, ::-1])
    cropped = transforms.RandomCrop(4, rng=np.random.default_rng(0))(pil)
    assert isinstance(cropped, image_module.Image) and cropped.size == (4, 4)


def test_to_tensor_follows_the_default_dtype():
    try:
        cr.set_default_dtype(cr.float64)
        assert transforms.ToTensor()(np.zeros((2, 2), np.uint8)).dtype == cr.float64
    finally:
        cr.set_default_dtype(cr.float32)


def test_random_crop_fills_each_channel_with_its_value():
    # torchvision's tuple fill, one value per channel (NumPy's pad read it as before/after).
    image = np.zeros((2, 2, 3), np.uint8)
    out = transforms.RandomCrop(4, padding=1, fill=(1, 2, 3), rng=np.random.default_rng(0))(image)
    for c in range(3):
        assert out[0, :, c].tolist() == [c + 1] * 4 and out[1:3, 1:3, c].tolist() == [[0, 0]] * 2
    t = transforms.RandomCrop(4, padding=1, fill=(1, 2, 3))(cr.Tensor(np.zeros((3, 2, 2))))
    assert t.numpy()[:, 0, 0].tolist() == [1, 2, 3]
    assert transforms.RandomCrop(4, padding=1, fill=(7,))(np.zeros((2, 2)))[0, 0] == 7
    with pytest.raises(ValueError, match="one per channel"):
        transforms.RandomCrop(3, padding=1, fill=(1, 2))(image)
