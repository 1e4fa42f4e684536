"""CIFAR-10 (Krizhevsky 2009): 50,000 + 10,000 colour 32x32 images in 10 classes.

Read from the dataset's *binary* version (``cifar-10-binary.tar.gz``): fixed-size records of one
label byte and 3072 pixel bytes (1024 red, then green, then blue, row by row). The widely used
python version is a set of pickles, which chainrule never loads (unpickling runs code).

The archive is read in place (no member is extracted to disk) and checked against its SHA-256
before use; a folder ``cifar-10-batches-bin`` extracted by the user works too (its files are
checked for whole records only).
"""

from __future__ import annotations

import os
import tarfile

import numpy as np

from ..download import RemoteFile, data_home, fetch

__all__ = ["CIFAR10_CLASSES", "CIFAR10_FILES", "binary_files", "cifar10", "read_cifar_records"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
# The dataset page publishes the archive's MD5 (c32a1d4ab5d03f1284b67883e8d87530); this is the
# SHA-256 of that same file (170,052,171 bytes).
CIFAR10_FILES = (
    RemoteFile("cifar-10-binary.tar.gz",
               "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
               ("https://www.cs.toronto.edu/~kriz/",)),
)
FOLDER = "cifar-10-batches-bin"
TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST = ("test_batch.bin",)
RECORD = 1 + 3 * 32 * 32
_MAX_RECORDS = 10000  # per file in the real dataset; a bigger member is not CIFAR-10


def read_cifar_records(raw: bytes, name: str = "CIFAR-10 file"):
    """Images (N, 32, 32, 3) uint8 and labels (N,) int64 from the bytes of one binary batch.

    Raises:
        ValueError: when the bytes are not whole records or a label is not 0..9.
    """
    if len(raw) % RECORD or not raw:
        raise ValueError(f"{name}: {len(raw)} bytes is not a whole number of {RECORD}-byte "
                         "CIFAR-10 records (1 label byte + 3072 pixel bytes)")
    records = np.frombuffer(raw, np.uint8).reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise ValueError(f"{name}: labels must be 0..9, found {int(labels.max())}")
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def binary_files(name: str, title: str, units: str, files, folder: str, most: dict,
                 record: int, pickled: tuple, data_dir, download: bool) -> dict[str, bytes]:
    """The bytes of each file of a CIFAR dataset's binary version (``most``: file name -> the
    most records it may hold): from ``folder`` extracted in ``data_dir`` (or ``data_dir/name``),
    else from the archive ``files[0]`` (fetched and SHA-256 checked). Finding only the python
    version (``pickled``: its folder and archive names) is a FileNotFoundError saying why it is
    not read. ``units``: what the messages call its files ("batches", "files")."""
    root = data_home(data_dir)
    for place in (os.path.join(root, folder), os.path.join(root, name, folder)):
        if all(os.path.isfile(os.path.join(place, n)) for n in most):
            return {n: _read_file(os.path.join(place, n), most[n] * record, title)
                    for n in most}
    try:
        path = fetch(name, files, data_dir, download_missing=download)[files[0].name]
    except FileNotFoundError as e:
        found = [os.path.join(d, n) for d in (root, os.path.join(root, name)) for n in pickled
                 if os.path.exists(os.path.join(d, n))]
        if found:
            raise FileNotFoundError(
                f"{e} Found {found[0]}, {title}'s python version: its {units} are pickles, which "
                f"chainrule does not load (unpickling runs code); get the binary version, "
                f"{files[0].name}, from the same page") from None
        raise
    return _from_archive(path, folder, most, record, title)


def _from_archive(path: str, folder: str, most: dict, record: int, title: str):
    found: dict[str, bytes] = {}
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if len(parts) != 2 or parts[0] != folder or parts[1] not in most:
                continue
            if not member.isfile() or member.size > most[parts[1]] * record:
                raise ValueError(f"{path}: {member.name} is not a {title} file (a regular file "
                                 f"of at most {most[parts[1]] * record} bytes)")
            found[parts[1]] = tar.extractfile(member).read()
    missing = sorted(n for n in most if n not in found)
    if missing:
        raise ValueError(f"{path}: the archive lacks {missing} under {folder}/")
    return found


def _read_file(path: str, limit: int, title: str) -> bytes:
    if os.path.getsize(path) > limit:
        raise ValueError(f"{path}: more than {limit} bytes, not a {title} file")
    with open(path, "rb") as f:
        return f.read()


def cifar10(data_dir=None, *, download: bool = True):
    """CIFAR-10 as ``(x_train, y_train), (x_test, y_test)``.

    Images are uint8 arrays (N, 32, 32, 3) (height, width, RGB), labels int64 (N,). Looks for an
    extracted ``cifar-10-batches-bin`` folder in ``data_dir`` (or ``data_dir/cifar10``), then for
    ``cifar-10-binary.tar.gz`` there, in $CHAINRULE_DATA or the user cache, downloading it (about
    170 MB, SHA-256 verified) when it is missing and ``download`` is True.

    Raises:
        FileNotFoundError: the files are missing and were not downloaded (the message says where
            to put them).
        ValueError: a corrupt archive (checksum) or batch (not whole records).
    """
    raw = binary_files("cifar10", "CIFAR-10", "batches", CIFAR10_FILES, FOLDER,
                       dict.fromkeys(TRAIN + TEST, _MAX_RECORDS), RECORD,
                       ("cifar-10-batches-py", "cifar-10-python.tar.gz"), data_dir, download)
    splits = []
    for names in (TRAIN, TEST):
        parts = [read_cifar_records(raw[n], n) for n in names]
        splits.append((np.concatenate([p[0] for p in parts]),
                       np.concatenate([p[1] for p in parts])))
    return tuple(splits)
