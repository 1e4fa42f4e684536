"""SVHN from small .mat files made here (SciPy writes and reads them)."""

from __future__ import annotations

import hashlib
import importlib

import numpy as np
import pytest

from chainrule.data.download import RemoteFile
from chainrule.vision import datasets, transforms

module = importlib.import_module("chainrule.data.datasets.svhn")
sio = pytest.importorskip("scipy.io")


def _mat(path, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    y = rng.integers(1, 11, (n, 1)).astype(np.uint8)
    y[0] = 10  # the digit 0
    sio.savemat(path, {"X": x, "y": y})
    return x, y, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    served = tmp_path / "mirror"
    served.mkdir()
    files, made = {}, {}
    for split, n in (("train", 5), ("test", 3)):
        name = f"{split}_32x32.mat"
        x, y, digest = _mat(served / name, n, len(files))
        files[split] = RemoteFile(name, digest, (served.as_uri() + "/",))
        made[split] = (x, y)
    files["extra"] = RemoteFile("extra_32x32.mat", "0" * 64)
    monkeypatch.setattr(module, "SVHN_FILES", files)
    return made


def test_downloads_and_reads_a_split(tmp_path, mirror):
    root = tmp_path / "data"
    with pytest.raises(FileNotFoundError, match="svhn: missing files"):
        module.svhn(root, "test", download=False)
    images, labels = module.svhn(root, "train")
    x, y = mirror["train"]
    np.testing.assert_array_equal(images, x.transpose(3, 0, 1, 2))
    expected = y[:, 0].astype(np.int64)
    expected[expected == 10] = 0
    np.testing.assert_array_equal(labels, expected)
    assert labels[0] == 0 and labels.max() <= 9 and images.dtype == np.uint8


def test_the_torchvision_class_and_a_pipeline(tmp_path, mirror):
    data = datasets.SVHN(str(tmp_path), split="test", download=True,
                         transform=transforms.Compose([transforms.AutoAugment("svhn"),
                                                       transforms.ToTensor()]))
    x, _ = mirror["test"]
    assert len(data) == 3 and data.data.shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(data.data, x.transpose(3, 2, 0, 1))
    image, label = data[0]
    assert image.shape == (3, 32, 32) and label == 0 and list(data.labels) == list(data.targets)


def test_bad_splits_and_files_are_refused(tmp_path, mirror):
    with pytest.raises(ValueError, match="split must be one of"):
        module.svhn(tmp_path, "valid")
    (tmp_path / "svhn").mkdir()
    (tmp_path / "svhn" / "train_32x32.mat").write_bytes(b"not a mat file")
    with pytest.raises(ValueError, match="checksum mismatch"):
        module.svhn(tmp_path, "train", download=False)
    sio.savemat(tmp_path / "other.mat", {"X": np.zeros((4, 4))})
    with pytest.raises(ValueError, match="not an SVHN file"):
        module.read_svhn_mat(str(tmp_path / "other.mat"))


def test_the_published_checksums_are_pinned():
    assert module.SVHN_FILES["train"].sha256.startswith("435e94d69a87fde4")
    assert module.SVHN_FILES["test"].sha256.startswith("cdce80dfb2a2c4c6")
