"""ImageFolder / DatasetFolder: one folder per class, as torchvision's (files made here)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision import datasets, transforms


def _npy_tree(root):
    rng = np.random.default_rng(0)
    for name, count in (("dog", 2), ("cat", 3), ("bird", 1)):
        (root / name / "more").mkdir(parents=True)
        for i in range(count):
            np.save(root / name / f"{i}.npy", rng.random((4, 4)))
        (root / name / "notes.txt").write_text("not a sample")
    np.save(root / "dog" / "more" / "deep.npy", np.zeros((4, 4)))


def test_dataset_folder_finds_classes_and_files_in_sorted_order(tmp_path):
    _npy_tree(tmp_path)
    data = datasets.DatasetFolder(str(tmp_path), loader=np.load, extensions=(".NPY",),
                                  target_transform=lambda y: y * 10)
    assert data.classes == ["bird", "cat", "dog"] and data.class_to_idx["dog"] == 2
    assert data.targets == [0, 1, 1, 1, 2, 2, 2]
    names = [p.split("/")[-1] for p, _ in data.samples]
    assert names == ["0.npy", "0.npy", "1.npy", "2.npy", "0.npy", "1.npy", "deep.npy"]
    sample, target = data[6]
    assert target == 20 and np.array_equal(sample, np.zeros((4, 4)))
    picked = datasets.DatasetFolder(str(tmp_path), np.load,
                                    is_valid_file=lambda p: p.endswith("1.npy"),
                                    allow_empty=True)
    assert picked.targets == [1, 2]


def test_missing_or_empty_folders_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        datasets.DatasetFolder(str(tmp_path), np.load, extensions=".npy")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    np.save(tmp_path / "a" / "x.npy", np.zeros(1))
    with pytest.raises(FileNotFoundError, match="no valid file for the classes b. Supported "
                                                "extensions are: .npy"):
        datasets.DatasetFolder(str(tmp_path), np.load, extensions=".npy")
    with pytest.raises(ValueError, match="exactly one of extensions and is_valid_file"):
        datasets.DatasetFolder(str(tmp_path), np.load)


def test_image_folder_reads_rgb_images_for_an_imagenet_pipeline(tmp_path):
    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(1)
    for name in ("n01", "n02"):
        (tmp_path / name).mkdir()
        for i in range(3):
            pixels = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
            image.fromarray(pixels).save(tmp_path / name / f"img{i}.PNG")
        image.fromarray(pixels[..., 0]).save(tmp_path / name / "grey.jpg")  # becomes RGB
    transform = transforms.Compose([
        transforms.RandomResizedCrop(32), transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    data = datasets.ImageFolder(str(tmp_path), transform=transform)
    assert len(data) == 8 and data.imgs is data.samples and data.targets.count(1) == 4
    plain, _ = datasets.ImageFolder(str(tmp_path))[3]
    assert plain.mode == "RGB" and plain.size == (50, 40)
    x, y = next(iter(cr.utils.data.DataLoader(data, batch_size=8, shuffle=True)))
    assert x.shape == (8, 3, 32, 32) and sorted(y.tolist()) == [0] * 4 + [1] * 4


def test_image_folder_lists_the_files_torchvision_lists(tmp_path):
    pytest.importorskip("PIL.Image")
    pytest.importorskip("torch")
    tv = pytest.importorskip("torchvision.datasets")
    from PIL import Image

    for name, files in (("b", ["z.png", "A.JPG", "x.txt"]), ("a", ["m.bmp", "k.webp"])):
        (tmp_path / name / "sub").mkdir(parents=True)
        for f in files:
            Image.new("RGB", (4, 4)).save(tmp_path / name / f, format="PNG") \
                if not f.endswith(".txt") else (tmp_path / name / f).write_text("")
        Image.new("RGB", (4, 4)).save(tmp_path / name / "sub" / "q.ppm")
    ours = datasets.ImageFolder(str(tmp_path))
    theirs = tv.ImageFolder(str(tmp_path))
    assert ours.samples == theirs.samples and ours.classes == theirs.classes
