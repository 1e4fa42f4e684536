"""Argument checks shared by chainrule.bayes: every message names the argument and the value."""

from __future__ import annotations

import math

from ..data import as_generator
from ..data.arguments import check_finite, check_number
from ..data.arguments import check_int as check_int  # an int >= low, for the modules here


def check_positive(who: str, name: str, value, *, allow_zero: bool = False) -> float:
    """``value`` (a Python or NumPy real) as a finite float > 0 (>= 0 with ``allow_zero``)."""
    if allow_zero:
        return check_number(who, name, value, low=0)
    return check_number(who, name, value, above=0)


def resolve_rng(who: str, rng):
    """A numpy Generator from a Generator, an int seed or None."""
    try:
        return as_generator(rng)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{who}: rng must be a numpy Generator, an int seed or None, "
                         f"got {rng!r}") from err


def eval_modes(model) -> list:
    """Put ``model`` in eval mode; returns each module's own mode, for ``restore_modes``.

    ``model.train(was)`` would set every module to the model's mode, so a module the user keeps
    in another mode (a BatchNorm frozen in eval inside a model that trains) would change.
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    return modes


def restore_modes(modes: list) -> None:
    """Give every module the mode ``eval_modes`` found it in."""
    for m, mode in modes:
        m.training = mode


def check_batch(who: str, name: str, x):
    """``x`` as a host array of at least one example (axis 0), else a ValueError naming it."""
    from ..backend import asnumpy
    x = asnumpy(x)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"{who}: {name} must hold at least one example along axis 0, got shape "
                         f"{x.shape}")
    return x


def check_finite_batch(who: str, name: str, x):
    """``check_batch``, and for a float or complex ``x`` every value finite (a NaN input makes
    every curvature NaN, silently or as a LinAlgError far from the cause)."""
    return check_finite(who, name, check_batch(who, name, x))


def check_probs(who: str, probs, labels):
    """``(probs, labels)`` checked: probs (N, C), N >= 1, finite rows summing to 1, labels (N,)
    integers (of any dtype) in [0, C)."""
    from ..backend import asnumpy
    probs, labels = asnumpy(probs), asnumpy(labels)
    if probs.ndim != 2:
        raise ValueError(f"{who}: probs must be 2-D (N, C), got shape {probs.shape}")
    if labels.shape != (probs.shape[0],):
        raise ValueError(f"{who}: labels must have shape ({probs.shape[0]},) to match probs, "
                         f"got {labels.shape}")
    if probs.shape[0] == 0:
        raise ValueError(f"{who}: probs and labels hold no example (shape {probs.shape}); the "
                         "score of an empty set is undefined")
    if probs.dtype.kind not in "fiub":
        raise ValueError(f"{who}: probs must be real numbers, got dtype {probs.dtype}")
    check_finite(who, "probs", probs)
    if probs.min() < 0 or abs(probs.sum(axis=1) - 1).max() > 1e-3:
        raise ValueError(f"{who}: probs must be non-negative rows summing to 1 (softmax "
                         "outputs); got rows summing to "
                         f"{float(probs.sum(axis=1).min()):.4g}..{float(probs.sum(axis=1).max()):.4g}")
    return probs, check_labels(who, labels, probs.shape[1])


def check_labels(who: str, labels, n_classes: int, name: str = "labels"):
    """``labels`` (an array of integers, of any dtype) as int64 class indices in
    [0, ``n_classes``), else a ValueError naming them."""
    from ..backend import asnumpy, get_array_module
    labels = asnumpy(labels)
    xp = get_array_module(labels)
    if labels.dtype.kind not in "iub" and not (
            labels.dtype.kind == "f" and bool((labels == xp.round(labels)).all())):
        raise ValueError(f"{who}: {name} must be integer class indices, got dtype "
                         f"{labels.dtype} (first values {labels.reshape(-1)[:4].tolist()})")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{who}: {name} must be in [0, {n_classes}), got "
                         f"{int(labels.min())}..{int(labels.max())}")
    return labels.astype("int64")


def check_targets(who: str, y, out_shape: tuple, name: str = "y"):
    """Regression targets ``y`` for outputs of shape ``out_shape`` as a float64 array of that
    shape, else a ValueError naming them: real, finite, and either of the outputs' shape or, for
    one output per example, ``(N,)`` or ``(N, 1)`` (any other arrangement of the same number of
    values would pair targets with the wrong outputs)."""
    from ..backend import asnumpy
    y, out_shape = asnumpy(y), tuple(out_shape)
    n = out_shape[0] if out_shape else 1
    column = ((n,), (n, 1))
    if y.shape != out_shape and not (y.shape in column and out_shape in column):
        size = math.prod(out_shape)
        want = f"({n},) or ({n}, 1)" if out_shape in column else f"{out_shape}"
        raise ValueError(f"{who}: {name} must hold one target per output ({size} for outputs "
                         f"of shape {out_shape}), shape {want}, got shape {y.shape}")
    if y.dtype.kind not in "fiub":
        raise ValueError(f"{who}: {name} must hold real numbers, got dtype {y.dtype}")
    return check_finite(who, name, y).astype("float64").reshape(out_shape)
