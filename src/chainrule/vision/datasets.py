"""``MNIST``, ``FashionMNIST``, ``CIFAR10``, ``CIFAR100``, ``SVHN`` as torchvision makes them:
``(root, train, ...)``; ``ImageFolder`` and ``DatasetFolder`` (one folder per class)."""

from __future__ import annotations

import os

from ..autograd.tensor import Tensor
from ..data.dataset import Dataset
from ..data.datasets import (
    CIFAR10_CLASSES,
    CIFAR100_CLASSES,
    cifar10,
    cifar100,
    fashion_mnist,
    mnist,
    svhn,
)
from .folder import DatasetFolder, ImageFolder

__all__ = ["CIFAR10", "CIFAR100", "MNIST", "SVHN", "DatasetFolder", "FashionMNIST", "ImageFolder"]


class MNIST(Dataset):
    """The MNIST digits, one ``(image, label)`` at a time, like ``torchvision.datasets.MNIST``.

    Args:
        root: the data folder (the files are looked up there, in ``root/mnist``, in
            torchvision's ``root/MNIST/raw`` (``root/FashionMNIST/raw``), in $CHAINRULE_DATA
            and the user cache, as ``chainrule.data.datasets.mnist`` does).
        train: the 60000 training images, else the 10000 test images.
        transform: applied to each image, an (H, W) uint8 NumPy array (e.g. ``ToTensor()``).
        target_transform: applied to each label (an int).
        download: fetch the files (SHA-256 verified) when they are missing.

    Attributes:
        data: the images, a uint8 Tensor (N, 28, 28); targets: the labels, an int64 Tensor (N,);
        classes, class_to_idx: the class names and their indices.
    """

    _load = staticmethod(mnist)
    _torchvision_raw = True
    classes = tuple(f"{d} - {w}" for d, w in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")))

    def __init__(self, root=None, train: bool = True, transform=None, target_transform=None,
                 download: bool = False):
        for name, fn in (("transform", transform), ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{type(self).__name__}: {name} must be callable, "
                                f"got {type(fn).__name__}")
        # torchvision keeps its download (the .gz files too) in root/<class name>/raw
        extra = {} if root is None or not self._torchvision_raw else {
            "extra_dirs": (os.path.join(os.path.expanduser(os.fspath(root)),
                                        type(self).__name__, "raw"),)}
        split = type(self)._load(root, download=download, **extra)[0 if train else 1]
        self.train = bool(train)
        self.transform, self.target_transform = transform, target_transform
        self._images, self._labels = split
        self.data, self.targets = Tensor(self._images), Tensor(self._labels)

    @property
    def class_to_idx(self) -> dict:
        return {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index):
        image, target = self._images[index], int(self._labels[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target


class FashionMNIST(MNIST):
    """Fashion-MNIST (Xiao et al. 2017), one ``(image, label)`` at a time, like ``MNIST``."""

    _load = staticmethod(fashion_mnist)
    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")


class CIFAR10(MNIST):
    """CIFAR-10, one ``(image, label)`` at a time, like ``torchvision.datasets.CIFAR10``.

    Read from the dataset's binary version (``cifar-10-binary.tar.gz``, never the pickled
    python version): see ``chainrule.data.datasets.cifar10`` for where the files are looked up.

    Args:
        root: the data folder (holding ``cifar-10-binary.tar.gz``, or the extracted
            ``cifar-10-batches-bin`` folder, itself or in ``root/cifar10``).
        train: the 50000 training images, else the 10000 test images.
        transform: applied to each image, an (32, 32, 3) uint8 NumPy array (where torchvision
            gives a PIL image; the transforms of ``chainrule.vision.transforms`` take both).
        target_transform: applied to each label (an int).
        download: fetch the archive (about 170 MB, SHA-256 verified) when it is missing.

    Attributes:
        data: the images, a uint8 NumPy array (N, 32, 32, 3), as torchvision's;
        targets: the labels, a list of ints; classes, class_to_idx: the class names.
    """

    _load = staticmethod(cifar10)
    _torchvision_raw = False
    classes = CIFAR10_CLASSES

    def __init__(self, root=None, train: bool = True, transform=None, target_transform=None,
                 download: bool = False):
        super().__init__(root, train, transform, target_transform, download)
        self.data, self.targets = self._images, self._labels.tolist()


class CIFAR100(CIFAR10):
    """CIFAR-100, one ``(image, label)`` at a time, like ``torchvision.datasets.CIFAR100``: the
    labels are the 100 fine classes (``classes``, in torchvision's order).

    Read from the dataset's binary version (``cifar-100-binary.tar.gz``, never the pickled python
    version): see ``chainrule.data.datasets.cifar100`` for where the files are looked up (the
    archive, or its extracted ``cifar-100-binary`` folder, in ``root`` or ``root/cifar100``);
    ``download=True`` fetches the archive (about 168 MB, SHA-256 verified). The other arguments
    and attributes are ``CIFAR10``'s.
    """

    _load = staticmethod(cifar100)
    classes = CIFAR100_CLASSES


class SVHN(MNIST):
    """SVHN's cropped digits, one ``(image, label)`` at a time, like
    ``torchvision.datasets.SVHN(root, split="train", transform=None, target_transform=None,
    download=False)``: ``split`` is "train", "test" or "extra"; the label of the digit 0 is 0.

    Read from ``train_32x32.mat``/``test_32x32.mat``/``extra_32x32.mat`` (SHA-256 verified; SciPy
    reads them) in ``root`` or ``root/svhn``; ``transform`` gets a (32, 32, 3) uint8 array.

    Attributes:
        data: the images, uint8 (N, 3, 32, 32) as torchvision's; labels (and targets): int64 (N,).
    """

    classes = tuple(str(d) for d in range(10))

    def __init__(self, root=None, split: str = "train", transform=None, target_transform=None,
                 download: bool = False):
        for name, fn in (("transform", transform), ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                raise TypeError(f"SVHN: {name} must be callable, got {type(fn).__name__}")
        self.split = split
        self.transform, self.target_transform = transform, target_transform
        self._images, self._labels = svhn(root, split, download=download)
        self.data = self._images.transpose(0, 3, 1, 2)
        self.labels = self.targets = self._labels
