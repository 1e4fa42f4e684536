"""How the Trainer turns what ``fit``, ``evaluate`` and ``predict`` are given into a DataLoader."""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import asnumpy
from ..data import ArrayDataset, DataLoader, Dataset, IterableDataset, as_generator

__all__ = ["make_loader"]


def make_loader(who: str, data, batch_size, shuffle: bool, rng) -> DataLoader:
    """A DataLoader as is (``rng`` then is an error); arrays, Tensors or a Dataset batched by
    ``batch_size`` (None: one batch of everything), shuffled with ``rng`` when ``shuffle``."""
    if isinstance(data, DataLoader):
        if rng is not None:
            raise ValueError(
                f"{who}: rng applies to arrays or a Dataset; a DataLoader shuffles with its own rng"
            )
        return data
    if isinstance(data, IterableDataset):  # read in its own order: shuffle does not apply
        if batch_size is None:
            raise ValueError(
                f"{who}: batch_size=None (one batch of all samples) needs a "
                "Dataset with a length; give an IterableDataset a batch_size"
            )
        return DataLoader(data, batch_size)
    if isinstance(data, (tuple, list)):
        data = ArrayDataset(*[asnumpy(a._data) if isinstance(a, Tensor) else a for a in data])
    elif isinstance(data, Tensor):
        data = ArrayDataset(asnumpy(data._data))
    elif not isinstance(data, Dataset):
        if not hasattr(data, "shape"):
            raise TypeError(
                f"{who}: expected a DataLoader, a Dataset, an array or a tuple of "
                f"arrays, got {type(data).__name__}"
            )
        data = ArrayDataset(data)
    if batch_size is None:
        batch_size = max(len(data), 1)
    return DataLoader(data, batch_size, shuffle, rng=as_generator(rng) if shuffle else None)
