"""The image datasets the command line knows, as float32 NCHW arrays in [0, 1] with class names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..data import transforms
from ..data.datasets import FASHION_MNIST_CLASSES, digits, fashion_mnist, mnist

__all__ = ["DATASETS", "ImageData", "load_image_dataset"]


@dataclass
class ImageData:
    """Train and test images (N, C, H, W) float32 in [0, 1], int64 labels, and class names."""

    name: str
    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    classes: tuple

    @property
    def input_shape(self) -> tuple:
        return self.x_train.shape[1:]


def _digits(data_dir, download):
    (xtr, ytr), (xte, yte) = digits()
    return xtr, ytr, xte, yte, tuple(str(i) for i in range(10))


def _idx(loader, classes):
    def load(data_dir, download):
        (xtr, ytr), (xte, yte) = loader(data_dir, download=download)
        return transforms.scale(xtr), ytr, transforms.scale(xte), yte, classes

    return load


DATASETS = {
    "digits": ("scikit-learn's 1,797 real 8x8 handwritten digits (offline, bundled)", _digits),
    "mnist": ("MNIST: 60,000 + 10,000 28x28 handwritten digits (LeCun et al.)",
              _idx(mnist, tuple(str(i) for i in range(10)))),
    "fashion_mnist": ("Fashion-MNIST: 60,000 + 10,000 28x28 clothing images (Xiao et al. 2017)",
                      _idx(fashion_mnist, FASHION_MNIST_CLASSES)),
}


def load_image_dataset(name: str, data_dir=None, *, download: bool = True) -> ImageData:
    """Load a dataset of ``DATASETS`` by name, scaled to [0, 1] with a channel axis added.

    Raises:
        ValueError: unknown name; the message lists the known ones.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    xtr, ytr, xte, yte, classes = DATASETS[name][1](data_dir, download)
    return ImageData(name, xtr[:, None], ytr, xte[:, None], yte, classes)
