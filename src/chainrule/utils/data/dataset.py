"""``chainrule.utils.data.dataset``: PyTorch's module path ``torch.utils.data.dataset`` for its
datasets and ``random_split`` (``from torch.utils.data.dataset import ...`` in older programs)."""

from ...data import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset",
           "ChainDataset", "Subset", "random_split"]
