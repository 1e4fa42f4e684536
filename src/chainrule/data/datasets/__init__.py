"""Dataset readers: each returns NumPy arrays (images uint8 or float32, labels int64) or texts."""

from .cifar10 import CIFAR10_CLASSES, cifar10
from .cifar100 import CIFAR100_CLASSES, CIFAR100_COARSE_CLASSES, cifar100
from .digits import digits
from .mnist import FASHION_MNIST_CLASSES, fashion_mnist, mnist
from .svhn import svhn
from .text import AG_NEWS_CLASSES, ag_news, read_labelled_csv, sms_spam

__all__ = [
    "AG_NEWS_CLASSES",
    "CIFAR10_CLASSES",
    "CIFAR100_CLASSES",
    "CIFAR100_COARSE_CLASSES",
    "FASHION_MNIST_CLASSES",
    "ag_news",
    "cifar10",
    "cifar100",
    "digits",
    "fashion_mnist",
    "mnist",
    "read_labelled_csv",
    "sms_spam",
    "svhn",
]
