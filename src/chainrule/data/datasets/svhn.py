"""SVHN (Netzer et al., 2011): 32x32 colour crops of house-number digits, in the "cropped
digits" format: ``train_32x32.mat`` (73,257), ``test_32x32.mat`` (26,032) and
``extra_32x32.mat`` (531,131).

The files are MATLAB v5 files (``X``: (32, 32, 3, N) uint8, ``y``: (N, 1) labels 1..10, 10
meaning the digit 0), read with SciPy's ``loadmat`` (SciPy is needed for this dataset only), and
checked against their SHA-256 before use.
"""

from __future__ import annotations

import numpy as np

from ..download import RemoteFile, fetch

__all__ = ["SVHN_FILES", "read_svhn_mat", "svhn"]

_BASE = ("http://ufldl.stanford.edu/housenumbers/",)
# The SHA-256 of the files whose MD5 torchvision pins (e26dedcc..., eb5a983b..., a93ce644...).
SVHN_FILES = {
    "train": RemoteFile("train_32x32.mat",
                        "435e94d69a87fde4fd4d7f3dd208dfc32cb6ae8af2240d066de1df7508d083b8", _BASE),
    "test": RemoteFile("test_32x32.mat",
                       "cdce80dfb2a2c4c6160906d0bd7c68ec5a99d7ca4831afa54f09182025b6a75b", _BASE),
    "extra": RemoteFile("extra_32x32.mat",
                        "a133a4beb38a00fcdda90c9489e0c04f900b660ce8a316a5e854838379a71eb3", _BASE),
}


def read_svhn_mat(path: str):
    """Images (N, 32, 32, 3) uint8 and labels (N,) int64 (0..9) from one SVHN ``.mat`` file."""
    try:
        from scipy.io import loadmat
    except ImportError as e:
        raise ImportError("svhn: reading SVHN's .mat files needs SciPy: pip install scipy") from e
    content = loadmat(path)
    if "X" not in content or "y" not in content:
        raise ValueError(f"{path}: not an SVHN file (no X and y variables)")
    x, y = np.asarray(content["X"]), np.asarray(content["y"]).astype(np.int64).reshape(-1)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise ValueError(f"{path}: expected X of shape (32, 32, 3, N) and N labels, got "
                         f"{x.shape} and {len(y)} labels")
    if len(y) and (y.min() < 1 or y.max() > 10):
        raise ValueError(f"{path}: labels must be 1..10, found {int(y.min())}..{int(y.max())}")
    y[y == 10] = 0  # SVHN writes the digit 0 as class 10
    return np.ascontiguousarray(x.transpose(3, 0, 1, 2), dtype=np.uint8), y


def svhn(data_dir=None, split: str = "train", *, download: bool = True):
    """One SVHN split as ``(images, labels)``: images uint8 (N, 32, 32, 3), labels int64 0..9.

    Looks for the split's file in ``data_dir``, ``data_dir/svhn``, $CHAINRULE_DATA or the user
    cache, downloading it (train about 182 MB, test 64 MB, extra 1.3 GB; SHA-256 verified) when
    it is missing and ``download`` is True.
    """
    if split not in SVHN_FILES:
        raise ValueError(f"svhn: split must be one of {sorted(SVHN_FILES)}, got {split!r}")
    remote = SVHN_FILES[split]
    path = fetch("svhn", (remote,), data_dir, download_missing=download)[remote.name]
    return read_svhn_mat(path)
