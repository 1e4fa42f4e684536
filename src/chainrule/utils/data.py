"""``chainrule.utils.data``: the data loading names under PyTorch's module path."""

from ..data import ArrayDataset, DataLoader, Dataset, Subset, TensorDataset, random_split

__all__ = ["ArrayDataset", "DataLoader", "Dataset", "Subset", "TensorDataset", "random_split"]
