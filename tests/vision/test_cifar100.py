"""CIFAR-100 from its binary archive (small files made here), and a CIFAR-100 training pipeline."""

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

module = importlib.import_module("chainrule.data.datasets.cifar100")
SIZES = {"train.bin": 5, "test.bin": 3}


def _files(seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for name, n in SIZES.items():
        images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        fine, coarse = rng.integers(0, 100, n), rng.integers(0, 20, n)
        raw = b"".join(bytes([int(c), int(f)]) + x.transpose(2, 0, 1).tobytes()
                       for x, f, c in zip(images, fine, coarse, strict=True))
        out[name] = (images, fine, coarse, raw)
    return out


def _archive(path, files, *, drop=None):
    with tarfile.open(path, "w:gz") as tar:
        for name in ("coarse_label_names.txt", "fine_label_names.txt"):
            info = tarfile.TarInfo(f"cifar-100-binary/{name}")
            info.size = 3
            tar.addfile(info, io.BytesIO(b"x\ny"))
        for name, (*_, raw) in files.items():
            if name == drop:
                continue
            info = tarfile.TarInfo(f"cifar-100-binary/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    files = _files()
    served = tmp_path / "mirror"
    served.mkdir()
    digest = _archive(served / "cifar-100-binary.tar.gz", files)
    monkeypatch.setattr(module, "CIFAR100_FILES", (
        RemoteFile("cifar-100-binary.tar.gz", digest, (served.as_uri() + "/",)),))
    return files


def test_downloads_the_archive_with_its_checksum_and_reads_it(tmp_path, mirror):
    root = tmp_path / "data"
    with pytest.raises(FileNotFoundError, match="cifar100: missing files"):
        module.cifar100(root, download=False)
    (x, y), (xt, yt) = module.cifar100(root)
    assert (root / "cifar100" / "cifar-100-binary.tar.gz").is_file()
    np.testing.assert_array_equal(x, mirror["train.bin"][0])
    np.testing.assert_array_equal(y, mirror["train.bin"][1])
    np.testing.assert_array_equal(xt, mirror["test.bin"][0])
    assert x.dtype == np.uint8 and x.shape == (5, 32, 32, 3) and y.dtype == np.int64
    _, (_, coarse) = module.cifar100(root, label_mode="coarse")
    np.testing.assert_array_equal(coarse, mirror["test.bin"][2])
    raw = mirror["test.bin"][3]  # pixel layout: the red plane first, after two label bytes
    assert xt[0, 0, 1, 0] == raw[2 + 1] and xt[0, 0, 0, 2] == raw[2 + 2 * 1024]


def test_the_published_checksum_is_pinned():
    (remote,) = module.CIFAR100_FILES
    assert remote.name == "cifar-100-binary.tar.gz"
    assert remote.sha256 == "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec"


def test_corrupt_incomplete_or_pickled_data_is_refused(tmp_path, monkeypatch):
    (tmp_path / "cifar100").mkdir()
    (tmp_path / "cifar100" / "cifar-100-binary.tar.gz").write_bytes(b"not the archive")
    with pytest.raises(ValueError, match="checksum mismatch"):
        module.cifar100(tmp_path, download=False)
    other = tmp_path / "other"
    other.mkdir()
    digest = _archive(other / "cifar-100-binary.tar.gz", _files(), drop="test.bin")
    monkeypatch.setattr(module, "CIFAR100_FILES", (RemoteFile("cifar-100-binary.tar.gz",
                                                              digest),))
    with pytest.raises(ValueError, match=r"lacks \['test.bin'\]"):
        module.cifar100(other, download=False)
    with pytest.raises(ValueError, match="3075 bytes is not a whole number of 3074-byte"):
        module.read_cifar100_records(bytes(3075), "x.bin")
    with pytest.raises(ValueError, match=r"labels must be 0..19 \(coarse\) and 0..99"):
        module.read_cifar100_records(bytes([3, 100]) + bytes(3072), "x.bin")
    pickled = tmp_path / "pickled"
    (pickled / "cifar-100-python").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="CIFAR-100's python version"):
        datasets.CIFAR100(str(pickled), download=False)
    with pytest.raises(ValueError, match="label_mode must be 'fine' or 'coarse'"):
        module.cifar100(tmp_path, label_mode="both")


def test_an_extracted_folder_and_the_torchvision_class(tmp_path):
    files = _files(1)
    folder = tmp_path / "cifar-100-binary"
    folder.mkdir()
    for name, (*_, raw) in files.items():
        (folder / name).write_bytes(raw)
    test = datasets.CIFAR100(str(tmp_path), train=False)
    assert len(test) == 3 and test.data.shape == (3, 32, 32, 3)
    assert test.targets == files["test.bin"][1].tolist()
    image, label = test[1]
    np.testing.assert_array_equal(image, files["test.bin"][0][1])
    assert label == test.targets[1]
    assert len(test.classes) == 100 and test.classes[:3] == ("apple", "aquarium_fish", "baby")
    assert test.class_to_idx["worm"] == 99 and list(test.classes) == sorted(test.classes)


def test_a_cifar100_training_pipeline_runs(tmp_path, mirror):
    transform = transforms.Compose([
        transforms.RandomCrop(32, padding=4, padding_mode="reflect"),
        transforms.RandomHorizontalFlip(), transforms.RandomRotation(15),
        transforms.TrivialAugmentWide(), transforms.ToTensor(),
        transforms.Normalize((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
        transforms.RandomErasing(p=0.5)])
    train = datasets.CIFAR100(str(tmp_path / "data"), download=True, transform=transform)
    loader = cr.utils.data.DataLoader(train, batch_size=5, shuffle=True)
    x, y = next(iter(loader))
    assert x.shape == (5, 3, 32, 32) and x.dtype == cr.float32 and y.dtype == cr.int64
