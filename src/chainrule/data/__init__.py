"""Host-side data: datasets, the DataLoader that batches and shuffles them, loaders and transforms.

``Dataset``, ``IterableDataset``, ``ArrayDataset`` and ``DataLoader`` are here; file formats, the
lecture's data sets and transforms live in the submodules ``idx``, ``datasets`` and ``transforms``.
"""

from .collate import default_collate, default_convert
from .dataset import ArrayDataset, DataLoader, Dataset, TensorDataset, as_generator, collate
from .iterable import ChainDataset, IterableDataset
from .samplers import (
    BatchSampler,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .subsets import ConcatDataset, StackDataset, Subset, random_split
from .workers import WorkerInfo, get_worker_info

__all__ = ["ArrayDataset", "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset",
           "DistributedSampler", "IterableDataset", "StackDataset", "Subset", "TensorDataset",
           "as_generator", "collate", "default_collate", "default_convert", "get_worker_info",
           "random_split", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler", "WeightedRandomSampler", "WorkerInfo"]
