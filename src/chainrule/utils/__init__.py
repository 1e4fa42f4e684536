"""PyTorch's module path ``torch.utils.data``: ``from chainrule.utils.data import DataLoader``."""

from . import data

__all__ = ["data"]
