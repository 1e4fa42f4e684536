"""MNIST and Fashion-MNIST: 60,000 + 10,000 grey 28x28 images in 10 classes, from four IDX files."""

from __future__ import annotations

import numpy as np

from ..download import RemoteFile, fetch
from ..idx import read_idx

__all__ = ["FASHION_MNIST_CLASSES", "fashion_mnist", "mnist"]

_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)

_MNIST_FILES = (
    RemoteFile("train-images-idx3-ubyte.gz",
               "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", _MNIST_MIRRORS),
    RemoteFile("train-labels-idx1-ubyte.gz",
               "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", _MNIST_MIRRORS),
    RemoteFile("t10k-images-idx3-ubyte.gz",
               "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", _MNIST_MIRRORS),
    RemoteFile("t10k-labels-idx1-ubyte.gz",
               "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", _MNIST_MIRRORS),
)
# The canonical files and Debian's dataset-fashion-mnist package hold the same images in different
# gzip framing, so each file accepts two digests: canonical first, Debian's second.
_FASHION_FILES = (
    RemoteFile("train-images-idx3-ubyte.gz",
               ("08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
                "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
               _FASHION_MIRRORS),
    RemoteFile("train-labels-idx1-ubyte.gz",
               ("b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
                "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
               _FASHION_MIRRORS),
    RemoteFile("t10k-images-idx3-ubyte.gz",
               ("78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
                "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
               _FASHION_MIRRORS),
    RemoteFile("t10k-labels-idx1-ubyte.gz",
               ("42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
                "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
               _FASHION_MIRRORS),
)
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot")


# The largest of the four files (the training images) holds 60000 * 28 * 28 bytes: a file that
# declares more is not MNIST, and is refused before it is decompressed.
_MAX_BYTES = 60000 * 28 * 28


def _load(name, files, data_dir, download, extra_dirs=()):
    paths = fetch(name, files, data_dir, download_missing=download, extra_dirs=extra_dirs)
    x_train, y_train, x_test, y_test = (read_idx(paths[f.name], max_bytes=_MAX_BYTES)
                                        for f in files)
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x.ndim != 3 or len(x) != len(y):
            raise ValueError(
                f"{name}: {split} images of shape {x.shape} do not match labels of shape {y.shape}"
            )
    return (x_train, y_train), (x_test, y_test)


def mnist(data_dir=None, *, download: bool = True, extra_dirs=()):
    """The MNIST digits as ``(x_train, y_train), (x_test, y_test)``.

    Images are uint8 arrays (N, 28, 28) with values 0..255 (scale them with ``transforms.scale``);
    labels int64 (N,). Files are looked up in ``data_dir`` (or ``data_dir/mnist``), then each of
    ``extra_dirs``, else $CHAINRULE_DATA, else the user cache, and downloaded (SHA-256 verified)
    when missing and ``download`` is True.
    """
    return _load("mnist", _MNIST_FILES, data_dir, download, extra_dirs=tuple(extra_dirs))


def fashion_mnist(data_dir=None, *, download: bool = True, extra_dirs=()):
    """Fashion-MNIST (Xiao et al. 2017) as ``(x_train, y_train), (x_test, y_test)``, like ``mnist``.

    Besides the usual places (and ``extra_dirs``) it finds the files of Debian's
    ``dataset-fashion-mnist`` package in /usr/share/datasets/fashion-mnist. Class names are in
    ``FASHION_MNIST_CLASSES``.
    """
    return _load("fashion-mnist", _FASHION_FILES, data_dir, download,
                 extra_dirs=(*extra_dirs, "/usr/share/datasets/fashion-mnist"))
