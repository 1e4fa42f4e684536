"""PyTorch's ``Subset`` and ``random_split``: views of a dataset at chosen indices."""

from __future__ import annotations

import math
import numbers

from .dataset import Dataset, as_generator

__all__ = ["Subset", "random_split"]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order (no copy).

    Attributes:
        dataset, indices: as given (``indices`` as a list of ints).
    """

    def __init__(self, dataset, indices):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"Subset: dataset must define __len__ and __getitem__, got "
                            f"{type(dataset).__name__}")
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i):
        return self.dataset[self.indices[i]]


def random_split(dataset, lengths, generator=None, *, rng=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    Args:
        dataset: anything with ``__len__`` and ``__getitem__``.
        lengths: ints that sum to ``len(dataset)``, or fractions that sum to 1 (each part gets
            ``floor(fraction * n)`` samples and the remainder goes one by one to the first
            parts, as in PyTorch).
        generator: PyTorch's; not accepted (pass ``rng``).
        rng: a ``numpy.random.Generator`` or int seed; None draws from the default generator
            (``chainrule.manual_seed``).
    """
    if generator is not None:
        raise TypeError("random_split: generator= is PyTorch's; pass rng= (a "
                        "numpy.random.Generator or an int seed) instead")
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral)
                       for v in lengths):
        if any(v < 0 for v in lengths) or not math.isclose(sum(lengths), 1.0, abs_tol=1e-9):
            raise ValueError(f"random_split: fractions must be non-negative and sum to 1, got "
                             f"{lengths!r}")
        counts = [int(math.floor(n * v)) for v in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
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
