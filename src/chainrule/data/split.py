"""Hold out part of a training set for validation: the same fraction of every class, seeded."""

from __future__ import annotations

import numpy as np

__all__ = ["holdout_split"]


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
    ok = (isinstance(fraction, (int, float)) and not isinstance(fraction, bool)
          and 0.0 <= fraction < 1.0)
    if not ok:
        raise ValueError(f"holdout_split: fraction must be a number >= 0 and < 1, got {fraction!r}")
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
