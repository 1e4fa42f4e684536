"""PyTorch's samplers: which dataset indices a DataLoader pass visits, in which order.

``DataLoader(dataset, sampler=...)`` takes the indices of a pass from ``iter(sampler)`` when the
pass starts, in the caller's thread. The random ones draw from ``generator`` (a
``chainrule.Generator`` or any ``numpy.random.Generator``), else from the default generator
(``chainrule.manual_seed``).
"""

from __future__ import annotations

import numbers
import operator
import types

import numpy as np

from ..autograd.tensor import Tensor
from ..backend.random import resolve_rng
from .arguments import check_int
from .iterable import IterableDataset

__all__ = ["BatchSampler", "DistributedSampler", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler", "WeightedRandomSampler"]


class Sampler:
    """Base class: ``__iter__`` yields dataset indices; a subclass that knows how many defines
    ``__len__`` (as in PyTorch, the base has none: ``len()`` of a sampler without one is a
    TypeError, which ``len(loader)`` and tqdm's progress bar expect).
    """

    __class_getitem__ = classmethod(types.GenericAlias)  # ``Sampler[int]``, as PyTorch's

    def __init__(self, data_source=None):  # PyTorch's (deprecated) argument, unused
        pass

    def __iter__(self):  # pragma: no cover - abstract
        raise NotImplementedError


def _indices(who: str, indices) -> list:
    """``indices`` as Python ints; a float (``1.5``, or ``2.0``) is refused where ``int()`` would
    truncate it to another sample (PyTorch yields it and the dataset's indexing refuses it).
    Other keys (the strings of a dict-like dataset) are kept as they are, as PyTorch's."""
    out = []
    for i in indices:
        try:
            out.append(operator.index(i))
        except TypeError:
            if isinstance(i, numbers.Number) or hasattr(i, "dtype"):  # 1.5, a float Tensor
                raise TypeError(f"{who}: indices must be integers, got {i!r} "
                                f"({type(i).__name__}) among them") from None
            out.append(i)
    return out


class SequentialSampler(Sampler):
    """The indices ``0 .. len(data_source) - 1`` in order."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of the indices, or ``num_samples`` drawn with ``replacement``."""

    def __init__(self, data_source, replacement: bool = False, num_samples=None,
                 generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        self.data_source, self.replacement, self.generator = data_source, replacement, generator
        self._num_samples = None if num_samples is None else check_int(  # PyTorch's attribute
            "RandomSampler", "num_samples", num_samples)
        if self.num_samples < 1:  # an empty data source, as PyTorch refuses it
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, "
                             f"but got num_samples={self.num_samples} (an empty data source)")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        # Drawn as they are taken, as PyTorch's (32 at a time with replacement, a permutation a
        # round without): minGPT's trainer asks for num_samples=int(1e10) and takes a few.
        g, n = resolve_rng(self.generator, "RandomSampler"), len(self.data_source)
        if not n:  # num_samples given: with replacement NumPy's "high <= 0" failed inside
            raise ValueError(f"RandomSampler: cannot draw num_samples={self.num_samples} "
                             "indices from an empty data source")
        if self.replacement:
            return _draws(g, n, self.num_samples)
        return _permutations(g, n, self.num_samples)

    def __len__(self) -> int:
        return self.num_samples


def _draws(g, n, total):
    while total > 0:
        chunk = min(total, 32)
        yield from g.integers(0, n, chunk).tolist()
        total -= chunk


def _permutations(g, n, total):
    for _ in range(total // n):
        yield from g.permutation(n).tolist()
    if total % n:
        yield from g.permutation(n)[:total % n].tolist()


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (e.g. a validation part of a dataset).

    ``indices`` is kept as given, as PyTorch's: each pass reads it as it is then, so indices
    appended to the list later (active learning's labelled pool) are sampled too.
    """

    def __init__(self, indices, generator=None):
        if not (hasattr(indices, "__len__") and hasattr(indices, "__getitem__")):
            indices = list(indices)  # a one-pass iterable
        _indices("SubsetRandomSampler", indices)  # a float is refused now
        self.indices, self.generator = indices, generator

    def __iter__(self):
        g = resolve_rng(self.generator, "SubsetRandomSampler")
        picks = [self.indices[i] for i in g.permutation(len(self.indices)).tolist()]
        return iter(_indices("SubsetRandomSampler", picks))

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(self, weights, num_samples, replacement: bool = True, generator=None):
        w = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights, np.float64)
        if w.ndim != 1 or not len(w) or (w < 0).any() or not np.isfinite(w).all() \
                or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be a 1-D sequence of finite, "
                             "non-negative numbers with a positive sum")
        self.weights, self.generator = Tensor(w), generator  # float64, as PyTorch's
        self.num_samples = check_int("WeightedRandomSampler", "num_samples", num_samples)
        if not isinstance(replacement, bool):  # bool("False") would draw with replacement
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, "
                             f"but got replacement={replacement!r}")
        self.replacement = replacement
        if not self.replacement and self.num_samples > int((w > 0).sum()):
            raise ValueError(f"WeightedRandomSampler: cannot draw {self.num_samples} samples "
                             f"without replacement from {int((w > 0).sum())} non-zero weights")

    def __iter__(self):
        g = resolve_rng(self.generator, "WeightedRandomSampler")
        w = self.weights  # as it is now: a program may change or replace it between passes
        w = np.asarray(w.numpy() if hasattr(w, "numpy") else w, np.float64)
        picks = g.choice(len(w), self.num_samples, replace=self.replacement, p=w / w.sum())
        return iter(picks.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """The indices of ``sampler`` (any iterable of ints) in lists of ``batch_size``; with
    ``drop_last`` a last shorter list is left out. ``DataLoader(batch_sampler=...)`` takes it.

    >>> list(BatchSampler(range(5), 2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        self.batch_size = check_int("BatchSampler", "batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        if not hasattr(sampler, "__iter__"):
            raise TypeError(f"BatchSampler: sampler must be an iterable of indices, got "
                            f"{type(sampler).__name__}")
        self.sampler, self.drop_last = sampler, drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DistributedSampler(Sampler):
    """The share of one process (``rank``) of ``num_replicas`` in data-parallel training.

    PyTorch's rule: the indices (in order, or a permutation when ``shuffle``) are padded by
    repeating the first ones up to a multiple of ``num_replicas``, or with ``drop_last`` cut
    down to one, and rank ``r`` takes ``indices[r::num_replicas]``; every rank gets
    ``len(sampler)`` indices and the shares are disjoint apart from the padding. Call
    ``set_epoch(epoch)`` before each epoch so that the permutation changes.

    The permutation is NumPy's ``default_rng(seed + epoch).permutation(n)``, the same on every
    rank for the same seed and epoch but not torch's ``randperm`` (chainrule cannot reproduce
    torch's generator); with ``shuffle=False`` the shares equal PyTorch's.

    Args:
        dataset: anything with ``__len__``.
        num_replicas: the number of processes (None: 1, as chainrule has no process group).
        rank: this process's number in ``0 .. num_replicas - 1`` (None: 0).
        shuffle, seed, drop_last: as in PyTorch.

    >>> [list(DistributedSampler(range(5), num_replicas=2, rank=r, shuffle=False))
    ...  for r in (0, 1)]
    [[0, 2, 4], [1, 3, 0]]
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False):
        if isinstance(dataset, IterableDataset) or not hasattr(dataset, "__len__"):
            raise TypeError(f"DistributedSampler: dataset must define __len__ and be read by "
                            f"index, got {type(dataset).__name__} (an IterableDataset shards "
                            "itself)")
        self.num_replicas = 1 if num_replicas is None else check_int(
            "DistributedSampler", "num_replicas", num_replicas)
        if rank is None:
            rank = 0
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) \
                or not 0 <= rank < self.num_replicas:
            given = "" if num_replicas is not None else (
                ", the default without a process group; pass num_replicas")
            raise ValueError(f"DistributedSampler: invalid rank {rank!r}, rank should be in the "
                             f"interval [0, {self.num_replicas - 1}] (num_replicas="
                             f"{self.num_replicas}{given})")
        for name, value in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(value, bool):
                raise TypeError(f"DistributedSampler: {name} must be True or False, got "
                                f"{value!r}")
        self.seed = check_int("DistributedSampler", "seed", seed, 0)
        self.dataset, self.rank, self.shuffle = dataset, int(rank), shuffle
        self.drop_last, self.epoch = drop_last, 0

    @property
    def num_samples(self) -> int:
        n, k = len(self.dataset), self.num_replicas
        if self.drop_last and n % k:
            return -(-(n - k) // k)  # PyTorch's ceil((n - k) / k): whole rounds only
        return -(-n // k)

    @property
    def total_size(self) -> int:
        return self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of ``epoch`` (``seed + epoch``) in the next passes."""
        self.epoch = check_int("DistributedSampler.set_epoch", "epoch", epoch, 0)

    def __iter__(self):
        n, total = len(self.dataset), self.total_size
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[:total]
        elif indices:
            rounds = -(-total // n)
            indices = (indices * rounds)[:total]
        return iter(indices[self.rank:total:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples
