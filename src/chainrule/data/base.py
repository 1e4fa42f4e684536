"""The base of every dataset, and the one reading of ``rng=`` arguments the data package uses."""

from __future__ import annotations

import numbers
import types

import numpy as np

from ..backend.random import default_generator

__all__ = ["Dataset", "as_generator"]


def as_generator(rng) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a Generator (returned as is), an int seed, or None.

    None is the default generator, which ``chainrule.manual_seed`` seeds (as PyTorch's global
    one); pass a seed or a Generator of its own for a stream independent of it.
    """
    if rng is None:
        return default_generator()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}"
    )


class Dataset:
    """A sized collection of samples: subclass it and define ``__len__`` and ``__getitem__(index)``.

    ``__getitem__`` takes an int and returns one sample, usually a tuple such as ``(x, y)`` of
    arrays or numbers; the DataLoader stacks the samples of a batch field by field. As PyTorch's,
    the base has no ``__len__`` (``len()`` of a dataset without one is a TypeError); a loader
    needs it unless a sampler gives the indices.
    """

    # ``Dataset[tuple[Tensor, int]]``, as PyTorch's generic classes: typed code subclasses it
    __class_getitem__ = classmethod(types.GenericAlias)

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other):
        """``a + b``: PyTorch's ``ConcatDataset([a, b])`` (an ``IterableDataset`` is refused)."""
        from .subsets import ConcatDataset  # subsets builds on this module

        return ConcatDataset([self, other])
