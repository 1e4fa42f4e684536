"""How the Trainer turns what ``fit``, ``evaluate`` and ``predict`` are given into a DataLoader."""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import asnumpy, to_device
from ..data import ArrayDataset, DataLoader, Dataset, IterableDataset, as_generator

__all__ = ["batch_tensors", "make_loader"]


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


def batch_tensors(batch, dtype, device) -> tuple:
    """A batch ``(*inputs, target)`` of arrays or Tensors as Tensors on ``device``, float fields
    in ``dtype`` (the model's; None: as they are); a batch that is one array is one field.
    A field that is not an array (a dict sample's batch, a list of file names) is a TypeError
    naming it: the model and the loss take arrays (it failed with "no attribute 'dtype'")."""
    if not isinstance(batch, (tuple, list)):  # samples that are single arrays: one field
        batch = (batch,)
    out = []
    for i, a in enumerate(batch):
        a = a._data if isinstance(a, Tensor) else a
        if not (hasattr(a, "dtype") and hasattr(a, "astype")):
            what = f" with keys {sorted(map(str, a))}" if isinstance(a, dict) else (
                f" of {type(a[0]).__name__}" if isinstance(a, (tuple, list)) and a else "")
            raise TypeError(
                f"Trainer: a batch must be a tuple (*inputs, target) of arrays or Tensors, but "
                f"its field {i} is a {type(a).__name__}{what}; make the dataset's samples (or a "
                "collate_fn's batches) tuples of arrays, e.g. (x, y) instead of a dict, and "
                "leave out the fields that are not numbers (names, paths)")
        if dtype is not None and a.dtype.kind == "f" and a.dtype != dtype:
            a = a.astype(dtype)
        out.append(Tensor(to_device(a, device)))
    return tuple(out)
