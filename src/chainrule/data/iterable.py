"""PyTorch's ``IterableDataset`` and ``ChainDataset``: datasets read as a stream, not by index.

A stream (lines of a text file, generated samples, records from a socket) has no random access
and maybe no length. The DataLoader reads it with ``iter(dataset)`` and batches the items in the
order they come; with ``num_workers=k`` each worker iterates its own copy, so a dataset that
should not be read ``k`` times over shards itself with ``get_worker_info()``:

>>> from chainrule.data import DataLoader, get_worker_info
>>> class Count(IterableDataset):
...     def __init__(self, n):
...         self.n = n
...     def __iter__(self):
...         info = get_worker_info()  # None in the caller's thread (num_workers=0)
...         start, step = (0, 1) if info is None else (info.id, info.num_workers)
...         return iter(range(start, self.n, step))
>>> [b.tolist() for b in DataLoader(Count(7), batch_size=2, num_workers=2)]
[[0, 2], [1, 3], [4, 6], [5]]
"""

from __future__ import annotations

from .base import Dataset

__all__ = ["ChainDataset", "IterableDataset"]


class IterableDataset(Dataset):
    """A dataset read as a stream: subclass it and define ``__iter__`` (and ``__len__`` if known).

    ``a + b`` of two IterableDatasets is ``ChainDataset([a, b])``. A DataLoader over one takes no
    ``sampler``, ``batch_sampler`` or ``shuffle=True`` (the stream decides its order), batches
    the items as they come and has a length only when the dataset has one.
    """

    def __iter__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self) -> int:
        raise TypeError(f"object of type '{type(self).__name__}' has no len() (an "
                        "IterableDataset without __len__)")

    def __bool__(self) -> bool:  # not len() != 0: a stream without a length is still a dataset
        return True

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: read it with iter(), not "
                        f"by index (got index {index!r})")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """The items of ``datasets`` (IterableDatasets) one stream after another.

    Its length is the sum of theirs (a TypeError when one has none), as PyTorch's.

    >>> class Upto(IterableDataset):
    ...     def __init__(self, n):
    ...         self.n = n
    ...     def __iter__(self):
    ...         return iter(range(self.n))
    >>> list(Upto(2) + Upto(3))
    [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset: datasets[{i}] must be an IterableDataset, got "
                                f"{type(d).__name__} (ConcatDataset joins map-style datasets)")

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)
