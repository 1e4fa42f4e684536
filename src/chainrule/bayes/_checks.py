"""Argument checks shared by chainrule.bayes: every message names the argument and the value."""

from __future__ import annotations

import math

from ..data import as_generator


def check_int(who: str, name: str, value, low: int = 1) -> int:
    """``value`` as an int >= ``low``, else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{who}: {name} must be an int >= {low}, got {value!r}")
    return value


def check_positive(who: str, name: str, value, *, allow_zero: bool = False) -> float:
    """``value`` as a finite float > 0 (>= 0 with ``allow_zero``)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{who}: {name} must be a finite number {bound}, got {value!r}")
    return float(value)


def resolve_rng(who: str, rng):
    """A numpy Generator from a Generator, an int seed or None."""
    try:
        return as_generator(rng)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{who}: rng must be a numpy Generator, an int seed or None, "
                         f"got {rng!r}") from err


def check_probs(who: str, probs, labels):
    """``(probs, labels)`` checked: probs (N, C) rows summing to 1, labels (N,) ints in [0, C)."""
    from ..backend import asnumpy
    probs, labels = asnumpy(probs), asnumpy(labels)
    if probs.ndim != 2:
        raise ValueError(f"{who}: probs must be 2-D (N, C), got shape {probs.shape}")
    if labels.shape != (probs.shape[0],):
        raise ValueError(f"{who}: labels must have shape ({probs.shape[0]},) to match probs, "
                         f"got {labels.shape}")
    if probs.size and (probs.min() < 0 or abs(probs.sum(axis=1) - 1).max() > 1e-3):
        raise ValueError(f"{who}: probs must be non-negative rows summing to 1 (softmax "
                         "outputs); got rows summing to "
                         f"{float(probs.sum(axis=1).min()):.4g}..{float(probs.sum(axis=1).max()):.4g}")
    if labels.size and (labels.min() < 0 or labels.max() >= probs.shape[1]):
        raise ValueError(f"{who}: labels must be in [0, {probs.shape[1]}), got "
                         f"{int(labels.min())}..{int(labels.max())}")
    return probs, labels.astype("int64")
