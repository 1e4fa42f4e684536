"""PyTorch's samplers: which dataset indices a DataLoader pass visits, in which order.

``DataLoader(dataset, sampler=...)`` takes the indices of a pass from ``iter(sampler)`` when the
pass starts, in the caller's thread. The random ones draw from ``generator`` (a
``chainrule.Generator`` or any ``numpy.random.Generator``), else from the default generator
(``chainrule.manual_seed``).
"""

from __future__ import annotations

import numpy as np

from ..backend.random import resolve_rng

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler", "WeightedRandomSampler"]


class Sampler:
    """Base class: ``__iter__`` yields dataset indices, ``__len__`` says how many."""

    def __init__(self, data_source=None):  # PyTorch's (deprecated) argument, unused
        pass

    def __iter__(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError


def _count(who: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{who}: {name} must be a positive int, got {value!r}")
    return int(value)


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
        self._num = None if num_samples is None else _count("RandomSampler", "num_samples",
                                                             num_samples)
        if self.num_samples < 1:  # an empty data source, as PyTorch refuses it
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, "
                             f"but got num_samples={self.num_samples} (an empty data source)")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num is None else self._num

    def __iter__(self):
        g, n = resolve_rng(self.generator, "RandomSampler"), len(self.data_source)
        if self.replacement:
            return iter(g.integers(0, n, self.num_samples).tolist())
        rounds = -(-self.num_samples // n)
        order = np.concatenate([g.permutation(n) for _ in range(rounds)])
        return iter(order[:self.num_samples].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (e.g. a validation part of a dataset)."""

    def __init__(self, indices, generator=None):
        self.indices, self.generator = [int(i) for i in indices], generator

    def __iter__(self):
        g = resolve_rng(self.generator, "SubsetRandomSampler")
        return iter([self.indices[i] for i in g.permutation(len(self.indices)).tolist()])

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
        self.weights, self.generator = w, generator
        self.num_samples = _count("WeightedRandomSampler", "num_samples", num_samples)
        if not isinstance(replacement, bool):  # bool("False") would draw with replacement
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, "
                             f"but got replacement={replacement!r}")
        self.replacement = replacement
        if not self.replacement and self.num_samples > int((w > 0).sum()):
            raise ValueError(f"WeightedRandomSampler: cannot draw {self.num_samples} samples "
                             f"without replacement from {int((w > 0).sum())} non-zero weights")

    def __iter__(self):
        g = resolve_rng(self.generator, "WeightedRandomSampler")
        picks = g.choice(len(self.weights), self.num_samples, replace=self.replacement,
                         p=self.weights / self.weights.sum())
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
        self.batch_size = _count("BatchSampler", "batch_size", batch_size)
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
