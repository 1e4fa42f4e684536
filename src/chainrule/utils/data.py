"""``chainrule.utils.data``: the data loading names under PyTorch's module path."""

from ..data import ArrayDataset, DataLoader, Dataset, TensorDataset

__all__ = ["ArrayDataset", "DataLoader", "Dataset", "TensorDataset"]
