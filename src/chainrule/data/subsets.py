"""PyTorch's ``Subset``, ``random_split``, ``ConcatDataset`` and ``StackDataset``: views of
datasets."""

from __future__ import annotations

import bisect
import math
import numbers
import operator
import warnings

import numpy as np

from .base import Dataset, as_generator
from .iterable import IterableDataset

__all__ = ["ConcatDataset", "StackDataset", "Subset", "batch_reader", "random_split"]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order (no copy).

    Attributes:
        dataset, indices: as given, as PyTorch's (read when a sample is: indices appended to
            the list later are part of the subset; a one-pass iterable is kept as a list).
            An index is passed on as an int (a NumPy integer, a 0-d Tensor), a key of a
            dict-like dataset as it is.
    """

    def __init__(self, dataset, indices):
        if not hasattr(dataset, "__getitem__"):
            raise TypeError(f"Subset: dataset must define __getitem__, got "
                            f"{type(dataset).__name__}")
        self.dataset = dataset
        has = hasattr(indices, "__len__") and hasattr(indices, "__getitem__")
        self.indices = indices if has else list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i):
        if isinstance(i, list):  # PyTorch's: the dataset read at those positions at once
            return self.dataset[[_key(self.indices[j]) for j in i]]
        return self.dataset[_key(self.indices[i])]

    def __getitems__(self, indices) -> list:
        """The samples at ``indices`` as a list (PyTorch's batched read): in one call of the
        dataset's own ``__getitems__`` when it has one."""
        chosen = [_key(self.indices[j]) for j in indices]
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__(chosen)
        return [self.dataset[i] for i in chosen]


def _key(index):
    """An index of ``Subset`` as an int (a NumPy integer, a 0-d Tensor), or a key as it is."""
    try:
        return operator.index(index)
    except TypeError:
        return index


class ConcatDataset(Dataset):
    """The samples of ``datasets`` one after another (``ConcatDataset([a, b])[len(a)]`` is
    ``b[0]``).

    Attributes:
        datasets: as given; cumulative_sizes: the running totals of their lengths.
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset: datasets[{i}] is an IterableDataset "
                                f"({type(d).__name__}), which ConcatDataset does not support "
                                "(ChainDataset joins streams)")
        self.cumulative_sizes, total = [], 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, i):
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"ConcatDataset: index {i} is out of range for {n} samples")
        i %= n
        k = bisect.bisect_right(self.cumulative_sizes, i)
        return self.datasets[k][i - (self.cumulative_sizes[k - 1] if k else 0)]


class StackDataset(Dataset):
    """Several datasets of one length read together: sample ``i`` is ``(a[i], b[i], ...)`` for
    ``StackDataset(a, b, ...)``, ``{"x": a[i], "y": b[i]}`` for ``StackDataset(x=a, y=b)``.

    >>> StackDataset([1, 2], "ab")[1], StackDataset(x=[1, 2], y="ab")[0]
    ((2, 'b'), {'x': 1, 'y': 'a'})

    Attributes:
        datasets: the positional datasets as a tuple, or the keyword ones as a dict.
    """

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: pass the datasets either positionally (samples are "
                             "tuples) or by keyword (samples are dicts), not both; got "
                             f"{len(args)} positional and keywords {sorted(kwargs)}")
        if not args and not kwargs:
            raise ValueError("StackDataset: at least one dataset should be passed")
        named = dict(kwargs) if kwargs else {f"datasets[{i}]": d for i, d in enumerate(args)}
        lengths = {}
        for name, d in named.items():
            if isinstance(d, IterableDataset) or not hasattr(d, "__getitem__"):
                raise TypeError(f"StackDataset: {name} must be a map-style dataset (with "
                                f"__len__ and __getitem__), got {type(d).__name__}")
            lengths[name] = len(d)
        if len(set(lengths.values())) > 1:
            sizes = ", ".join(f"{k}: {v}" for k, v in lengths.items())
            raise ValueError(f"StackDataset: size mismatch between datasets, the lengths are "
                             f"{sizes}; they must all be equal")
        self.datasets = dict(kwargs) if kwargs else tuple(args)
        self._length = next(iter(lengths.values()))

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices) -> list:
        """The samples at ``indices`` as a list (PyTorch's batched read): each dataset with a
        ``__getitems__`` of its own is read in one call, the others item by item."""
        indices = list(indices)
        named = self.datasets if isinstance(self.datasets, dict) else dict(
            enumerate(self.datasets))
        columns = {}
        for key, d in named.items():
            if callable(getattr(d, "__getitems__", None)):
                items = list(d.__getitems__(indices))
                if len(items) != len(indices):
                    raise ValueError(f"StackDataset: a dataset's __getitems__ returned "
                                     f"{len(items)} samples for {len(indices)} indices")
            else:
                items = [d[i] for i in indices]
            columns[key] = items
        if isinstance(self.datasets, dict):
            return [{k: columns[k][j] for k in named} for j in range(len(indices))]
        return [tuple(columns[k][j] for k in named) for j in range(len(indices))]


def batch_reader(dataset):
    """The dataset's ``__getitems__``, which a DataLoader calls with the indices of a batch as
    PyTorch's does, when reading it differs from reading each sample: None for a dataset without
    one, and for a ``Subset`` or ``StackDataset`` whose datasets have none (theirs read item by
    item, which the loader does with a stream per sample)."""
    read = getattr(dataset, "__getitems__", None)
    if not callable(read):
        return None
    if isinstance(dataset, Subset):
        return read if batch_reader(dataset.dataset) is not None else None
    if isinstance(dataset, StackDataset):
        inner = dataset.datasets.values() if isinstance(dataset.datasets, dict) else \
            dataset.datasets
        return read if any(batch_reader(d) is not None for d in inner) else None
    return read


def random_split(dataset, lengths, generator=None, *, rng=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    Args:
        dataset: anything with ``__len__`` and ``__getitem__``.
        lengths: ints that sum to ``len(dataset)``, or fractions that sum to 1 (each part gets
            ``floor(fraction * n)`` samples and the remainder goes one by one to the first
            parts, as in PyTorch). As PyTorch's, any lengths whose sum is 1 (within rounding,
            not above) are fractions (``[1]`` is the whole dataset), and a part of 0 samples
            warns.
        generator: PyTorch's name for ``rng`` (a ``chainrule.Generator``).
        rng: a ``numpy.random.Generator`` or int seed; None draws from the default generator
            (``chainrule.manual_seed``).
    """
    if generator is not None:
        if not isinstance(generator, np.random.Generator) or rng is not None:
            raise TypeError(f"random_split: generator= takes a chainrule.Generator (a "
                            f"numpy.random.Generator) and not with rng=; got "
                            f"{type(generator).__name__}")
        rng = generator
    n = len(dataset)
    lengths = [v.item() if hasattr(v, "item") and not isinstance(v, numbers.Number) else v
               for v in lengths]  # 0-d Tensors, as PyTorch takes them
    if lengths and all(isinstance(v, numbers.Real) for v in lengths) \
            and math.isclose(sum(lengths), 1) and sum(lengths) <= 1:  # PyTorch's rule
        for i, v in enumerate(lengths):
            if not 0 <= v <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1, "
                                 f"got {v!r} in {lengths!r}")
        counts = [int(math.floor(n * v)) for v in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this might "
                              "result in an empty dataset", UserWarning, stacklevel=2)
        lengths = counts
    if not all(isinstance(v, numbers.Integral) and v >= 0 for v in lengths) \
            or sum(lengths) != n:
        raise ValueError(f"random_split: lengths must be non-negative ints summing to the "
                         f"dataset's {n} samples (or fractions summing to 1), got {lengths!r}")
    order = as_generator(rng).permutation(n).tolist()
    parts, start = [], 0
    for length in lengths:
        parts.append(Subset(dataset, order[start:start + length]))
        start += length
    return parts
