"""Precision, recall and F1 (scikit-learn's definitions), exact over an epoch of batches.

These metrics do not average: the F1 of an epoch is not the mean of its batches' F1 (nor
weighted by batch size). Each function returns a float that also carries the per-class counts
it was computed from (a ``Counted``); the Trainer's epoch logs (``MeanTracker``) add up the
counts of the batches and compute the metric once from the sums, so the epoch's value is the
metric of the whole epoch, as scikit-learn's on all of its samples.

>>> import numpy as np
>>> round(f1_score(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 1])), 4)
0.5
"""

from __future__ import annotations

import functools
import math

from ..backend import asnumpy, numpy
from .metrics import Counted, _is_one_hot, _labels, _raw

__all__ = ["f1_score", "precision", "recall"]

_AVERAGES = ("binary", "micro", "macro", "weighted")


def _counts(who: str, y_true, y_pred, threshold: float, average: str, multilabel: bool = False):
    """Per-class (true positives, predicted, true) counts, shape (3, C), on the host."""
    if average not in _AVERAGES:
        raise ValueError(f"{who}: average must be one of {list(_AVERAGES)}, got {average!r}")
    raw_true, raw_pred = numpy.asarray(asnumpy(_raw(y_true))), numpy.asarray(asnumpy(_raw(y_pred)))
    one_hot = not multilabel and raw_pred.shape == raw_true.shape and _is_one_hot(numpy, raw_true)
    scores = raw_pred.ndim == raw_true.ndim + 1 and raw_pred.shape[-1] > 1
    classes = raw_pred.shape[-1] if scores or one_hot else 0  # the score columns count too
    _, t, p = _labels(who, y_true, y_pred, threshold, multilabel)
    t, p = asnumpy(t).ravel(), asnumpy(p).ravel()
    if t.size == 0:
        raise ValueError(f"{who}: got empty arrays")
    for name, y in (("y_true", t), ("y_pred", p)):
        if y.dtype.kind == "f" and bool((y != numpy.floor(y)).any()) or bool((y < 0).any()):
            raise ValueError(
                f"{who}: {name} must hold class labels (integers >= 0), got values "
                f"from {y.min()} to {y.max()}"
            )
    t, p = t.astype("int64"), p.astype("int64")
    classes = max(classes, int(t.max()) + 1, int(p.max()) + 1)
    if average == "binary" and classes > 2:
        raise ValueError(
            f"{who}: average='binary' scores the positive class 1 of 0/1 labels, but the labels "
            f"go up to {classes - 1}; pass average='macro', 'micro' or 'weighted' (as a metric: "
            f"'macro_{who}', or ('{who}', functools.partial({who}, average='macro')))"
        )
    tp = numpy.bincount(t[t == p], minlength=classes)
    return numpy.stack(
        [tp, numpy.bincount(p, minlength=classes), numpy.bincount(t, minlength=classes)]
    )


def _ratio(num, den, zero_division: float):
    out = numpy.full(num.shape, zero_division, dtype="float64")
    numpy.divide(num, den, out=out, where=den > 0)
    return out


def _finish(counts, *, kind: str, average: str, zero_division: float) -> float:
    """The metric of summed counts (3, C): true positives, predicted, true, per class."""
    tp, pred, true = counts.astype("float64")
    if average == "binary":
        tp, pred, true = tp[1:2], pred[1:2], true[1:2]
        tp, pred, true = [a if a.size else numpy.zeros(1) for a in (tp, pred, true)]
    elif average == "micro":
        tp, pred, true = tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True)
    else:  # the classes that occur among the labels or the predictions, as scikit-learn's
        present = (pred + true) > 0
        tp, pred, true = tp[present], pred[present], true[present]
    den = {"precision": pred, "recall": true, "f1": pred + true}[kind]
    values = _ratio(tp * (2.0 if kind == "f1" else 1.0), den, zero_division)
    # As scikit-learn's average: classes whose value is NaN (zero_division=nan) are left out,
    # and weights that are all zero count equally.
    kept = ~numpy.isnan(values)
    if not kept.any():
        return math.nan
    values, weights = values[kept], true[kept]
    if average != "weighted" or weights.sum() == 0:
        return float(values.mean())
    return float((values * weights).sum() / weights.sum())


def _metric(kind: str, y_true, y_pred, average: str, threshold: float, zero_division,
            multilabel: bool = False) -> Counted:
    who = "f1_score" if kind == "f1" else kind
    if isinstance(zero_division, bool) or not (
        zero_division in (0, 1) or (isinstance(zero_division, float) and math.isnan(zero_division))
    ):
        raise ValueError(f"{who}: zero_division must be 0.0, 1.0 or nan, got {zero_division!r}")
    counts = _counts(who, y_true, y_pred, threshold, average, multilabel)
    finish = functools.partial(
        _finish, kind=kind, average=average, zero_division=float(zero_division)
    )
    return Counted(finish(counts), counts, finish)


def precision(
    y_true, y_pred, *, average: str = "binary", threshold: float = 0.5, zero_division: float = 0.0,
    multilabel: bool = False,
) -> float:
    """Precision, ``tp / (tp + fp)``, as scikit-learn's ``precision_score``.

    Args:
        y_true, y_pred: as ``accuracy``'s: labels, class scores (argmax) or binary scores
            (positive above ``threshold``).
        average: "binary" (the positive class 1 of 0/1 labels), "micro" (over all samples),
            "macro" (the mean over the classes found among the labels and predictions) or
            "weighted" (that mean weighted by each class's number of true samples).
        zero_division: the value where nothing was predicted (0.0, 1.0 or nan).
        multilabel: as ``accuracy``'s (0/1 targets per entry, never read as one-hot rows).

    Returns:
        A float, which also carries the counts the Trainer sums over an epoch (``Counted``).
    """
    return _metric("precision", y_true, y_pred, average, threshold, zero_division, multilabel)


def recall(
    y_true, y_pred, *, average: str = "binary", threshold: float = 0.5, zero_division: float = 0.0,
    multilabel: bool = False,
) -> float:
    """Recall, ``tp / (tp + fn)``, as scikit-learn's ``recall_score`` (arguments as
    ``precision``'s; ``zero_division`` where a class has no true sample)."""
    return _metric("recall", y_true, y_pred, average, threshold, zero_division, multilabel)


def f1_score(
    y_true, y_pred, *, average: str = "binary", threshold: float = 0.5, zero_division: float = 0.0,
    multilabel: bool = False,
) -> float:
    """F1, ``2 tp / (2 tp + fp + fn)``, as scikit-learn's ``f1_score`` (arguments as
    ``precision``'s; ``zero_division`` where a class has neither true nor predicted samples)."""
    return _metric("f1", y_true, y_pred, average, threshold, zero_division, multilabel)
