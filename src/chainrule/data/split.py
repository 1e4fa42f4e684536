"""Hold out part of a training set for validation: the same fraction of every class, seeded."""

from __future__ import annotations

import numpy as np

from .arguments import check_number

__all__ = ["holdout_split", "take_split"]


def holdout_split(labels, fraction: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, val)`` that split a training set into two parts, stratified by class.

    Each class gives ``round(fraction * its count)`` of its samples, drawn by ``rng``, to the
    validation part, so both parts keep the classes' proportions. Both index arrays are sorted.

    Args:
        labels: the class of every sample (any values that compare equal within a class).
        fraction: the share to hold out, 0 <= fraction < 1; 0 gives an empty validation part.
        rng: a ``numpy.random.Generator`` or int seed; the same one gives the same split.

    Returns:
        Two int64 arrays of sample indices, disjoint, together every index once.

    Raises:
        ValueError: ``fraction`` outside [0, 1), or a non-zero ``fraction`` that leaves either
            part empty.

    >>> train, val = holdout_split([0, 0, 0, 0, 1, 1, 1, 1, 1, 1], 0.5, rng=0)
    >>> len(train), len(val), sorted(int(v) >= 4 for v in val)
    (5, 5, [False, False, True, True, True])
    """
    fraction = check_number("holdout_split", "fraction", fraction, low=0, below=1)
    labels = np.asarray(labels)
    everything = np.arange(len(labels), dtype=np.int64)
    if fraction == 0:
        return everything, everything[:0]
    rng = np.random.default_rng(rng)
    held = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        held[idx[: int(round(fraction * len(idx)))]] = True
    train, val = everything[~held], everything[held]
    if len(train) == 0 or len(val) == 0:
        raise ValueError(f"validation split {fraction:g} of {len(labels)} training samples leaves "
                         f"{len(train)} for training and {len(val)} for validation; both need at "
                         "least one (choose another fraction, or 0 for no validation)")
    return train, val


def take_split(x, y, fit_idx, val_idx) -> tuple:
    """``(x_fit, y_fit), (x_val, y_val)`` (None without a validation part): the two parts of a
    training set, the fit part made in ``x``'s own memory, so that ``x`` no longer holds the set
    as it was: the caller keeps only the parts.

    Indexing ``x[fit_idx]`` would copy the fit part while ``x`` still holds the whole set, so
    both would be in memory at once (MNIST's training images are 180 MiB as float32). Instead
    the fit rows move to the front of ``x`` a block at a time: ``fit_idx`` ascends (as
    ``holdout_split`` gives it), so each block reads rows at or after those it writes, and
    no row is overwritten before it is read. The values and their order are those of
    ``x[fit_idx]``; without a validation part (``fit_idx`` is every index in order) the fit
    part is ``x`` itself. A read-only ``x`` is left alone and the parts are copies.

    Raises:
        TypeError: ``fit_idx`` is not a 1-D array of integers (a boolean mask, say).
        ValueError: ``fit_idx`` not strictly ascending within ``[0, len(x))``.
    """
    fit_idx = np.asarray(fit_idx)
    if fit_idx.ndim != 1 or fit_idx.dtype.kind not in "iu":
        raise TypeError(f"take_split: fit_idx must be a 1-D array of integer indices, got dtype "
                        f"{fit_idx.dtype} and shape {fit_idx.shape}")
    n = len(fit_idx)
    if n and (fit_idx[0] < 0 or fit_idx[-1] >= len(x) or np.any(fit_idx[1:] <= fit_idx[:-1])):
        raise ValueError(f"take_split: fit_idx must ascend strictly within [0, {len(x)}), got "
                         f"{n} indices from {fit_idx.min()} to {fit_idx.max()}")
    if len(val_idx) == 0 and n == len(x):
        return (x, y), None
    validation = (x[val_idx], y[val_idx]) if len(val_idx) else None  # copied before rows move
    if not x.flags.writeable:  # not ours to rearrange (a read-only or memory-mapped array)
        return (x[fit_idx], y[fit_idx]), validation
    for start in range(0, n, _SPLIT_BLOCK):
        rows = fit_idx[start:start + _SPLIT_BLOCK]
        x[start:start + len(rows)] = x[rows]  # x[rows] is read whole before the write
    return (x[:n], y[fit_idx]), validation


_SPLIT_BLOCK = 4096  # rows moved per step: MNIST's 12.8 MB, a small fraction of the set
