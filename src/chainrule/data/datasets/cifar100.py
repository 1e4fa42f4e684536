"""CIFAR-100 (Krizhevsky 2009): 50,000 + 10,000 colour 32x32 images in 100 classes (20 groups).

Read from the dataset's *binary* version (``cifar-100-binary.tar.gz``): fixed-size records of two
label bytes (the coarse group, then the fine class) and 3072 pixel bytes (1024 red, then green,
then blue, row by row), in ``train.bin`` and ``test.bin``. The python version is a set of
pickles, which chainrule never loads (unpickling runs code).

The archive is read in place and checked against its SHA-256 before use; a folder
``cifar-100-binary`` extracted by the user works too (checked for whole records only).
"""

from __future__ import annotations

import numpy as np

from ..download import RemoteFile
from .cifar10 import binary_files

__all__ = ["CIFAR100_CLASSES", "CIFAR100_COARSE_CLASSES", "CIFAR100_FILES", "cifar100",
           "read_cifar100_records"]

CIFAR100_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle",
    "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle",
    "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
    "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox",
    "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
    "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone",
    "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
    "willow_tree", "wolf", "woman", "worm")
CIFAR100_COARSE_CLASSES = (
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people",
    "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2")
# The dataset page publishes the archive's MD5 (03b5dce01913d631647c71ecec9e9cb8); this is the
# SHA-256 of that same file (168,513,733 bytes).
CIFAR100_FILES = (
    RemoteFile("cifar-100-binary.tar.gz",
               "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec",
               ("https://www.cs.toronto.edu/~kriz/",)),
)
FOLDER = "cifar-100-binary"
SPLITS = {"train.bin": 50000, "test.bin": 10000}  # the most records each file may hold
RECORD = 2 + 3 * 32 * 32


def read_cifar100_records(raw: bytes, name: str = "CIFAR-100 file"):
    """Images (N, 32, 32, 3) uint8, fine labels (N,) and coarse labels (N,) int64 from the bytes
    of ``train.bin`` or ``test.bin``.

    Raises:
        ValueError: when the bytes are not whole records or a label is out of range.
    """
    if len(raw) % RECORD or not raw:
        raise ValueError(f"{name}: {len(raw)} bytes is not a whole number of {RECORD}-byte "
                         "CIFAR-100 records (2 label bytes + 3072 pixel bytes)")
    records = np.frombuffer(raw, np.uint8).reshape(-1, RECORD)
    coarse, fine = records[:, 0].astype(np.int64), records[:, 1].astype(np.int64)
    if coarse.max() > 19 or fine.max() > 99:
        raise ValueError(f"{name}: labels must be 0..19 (coarse) and 0..99 (fine), found "
                         f"{int(coarse.max())} and {int(fine.max())}")
    images = records[:, 2:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), fine, coarse


def cifar100(data_dir=None, *, download: bool = True, label_mode: str = "fine"):
    """CIFAR-100 as ``(x_train, y_train), (x_test, y_test)``.

    Images are uint8 arrays (N, 32, 32, 3) (height, width, RGB), labels int64 (N,): the 100
    fine classes (``CIFAR100_CLASSES``), or with ``label_mode="coarse"`` the 20 groups
    (``CIFAR100_COARSE_CLASSES``). Looks for an extracted ``cifar-100-binary`` folder in
    ``data_dir`` (or ``data_dir/cifar100``), then for ``cifar-100-binary.tar.gz`` there, in
    $CHAINRULE_DATA or the user cache, downloading it (about 168 MB, SHA-256 verified) when it is
    missing and ``download`` is True.

    Raises:
        FileNotFoundError: the files are missing and were not downloaded (the message says where
            to put them).
        ValueError: a corrupt archive (checksum) or file (not whole records); a bad
            ``label_mode``.
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"cifar100: label_mode must be 'fine' or 'coarse', got {label_mode!r}")
    raw = binary_files("cifar100", "CIFAR-100", "files", CIFAR100_FILES, FOLDER, SPLITS,
                       RECORD, ("cifar-100-python", "cifar-100-python.tar.gz"), data_dir,
                       download)
    splits = []
    for name in SPLITS:
        images, fine, coarse = read_cifar100_records(raw[name], name)
        splits.append((images, fine if label_mode == "fine" else coarse))
    return tuple(splits)
