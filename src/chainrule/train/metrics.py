"""Metrics on arrays (accuracy, top-k accuracy, confusion matrix, MSE, MAE) and streaming means.

The metric functions take ``(y_true, y_pred)`` in scikit-learn's order, as NumPy or CuPy arrays (or
Tensors), and return Python floats. Class predictions may be given as labels or as scores (logits or
probabilities) with the classes on the last axis, which are then reduced with argmax.

>>> import numpy as np
>>> accuracy(np.array([0, 1, 1]), np.array([[2.0, 1.0], [0.0, 3.0], [4.0, 1.0]]))
0.6666666666666666
"""

from __future__ import annotations

import functools
import math
import re

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..data.arguments import check_int

__all__ = [
    "Counted",
    "Mean",
    "MeanTracker",
    "accuracy",
    "as_log",
    "confusion_matrix",
    "get_metric",
    "mae",
    "metric_list",
    "mse",
    "top_k_accuracy",
]


def _raw(x):
    return x._data if isinstance(x, Tensor) else x


def _is_one_hot(xp, y):
    """True for targets with a class axis whose rows sum to 1: probabilities, or one-hot rows
    of floats, integers or bools (as ``data.transforms.one_hot(..., dtype=int)`` makes)."""
    if y.ndim < 2 or y.shape[-1] < 2:
        return False
    if y.dtype.kind == "f":
        return bool(xp.allclose(y.sum(axis=-1), 1.0))
    return y.dtype.kind in "biu" and bool(((y == 0) | (y == 1)).all()) \
        and bool((y.sum(axis=-1) == 1).all())


def _check_classes(who: str, xp, y_true, classes: int) -> None:
    """Labels compared with ``classes`` class scores must be integers in [0, classes): another
    value (an ignored position's -100, a label past the scores) can never be predicted, and
    counting it as a miss would be a plausible wrong number."""
    if not y_true.size:
        return
    bad = (y_true < 0) | (y_true >= classes)
    if y_true.dtype.kind == "f":
        bad |= y_true != xp.floor(y_true)
    if bool(bad.any()):
        raise ValueError(
            f"{who}: y_true must hold class labels in [0, {classes}) for scores over {classes} "
            f"classes, got {int(bad.sum())} other value(s) (from {y_true.min()} to "
            f"{y_true.max()}); pass the loss's ignore_index (accuracy(..., ignore_index=-100)), or "
            "drop those positions first"
        )


def _labels(who: str, y_true, y_pred, threshold: float, multilabel: bool = False):
    """``y_true`` and ``y_pred`` as label arrays of one shape (scores reduced or thresholded;
    ``multilabel``: 0/1 targets per entry, never read as one-hot rows)."""
    y_true, y_pred = _raw(y_true), _raw(y_pred)
    xp = get_array_module(y_true, y_pred)
    y_true, y_pred = xp.asarray(y_true), xp.asarray(y_pred)
    shape = tuple(y_pred.shape)
    if not multilabel and _is_one_hot(xp, y_true) and y_pred.shape == y_true.shape:
        # One-hot (or probability) targets: compare classes, not elementwise thresholds.
        y_true, y_pred = y_true.argmax(axis=-1), y_pred.argmax(axis=-1)
        return xp, y_true, y_pred
    if y_pred.ndim == y_true.ndim + 1:
        if y_pred.shape[-1] != 1 and y_pred.shape[:-1] == y_true.shape:
            _check_classes(who, xp, y_true, y_pred.shape[-1])
        y_pred = y_pred[..., 0] if y_pred.shape[-1] == 1 else y_pred.argmax(axis=-1)
    if y_pred.shape != y_true.shape:
        raise ValueError(
            f"{who}: y_pred must be labels shaped like y_true {tuple(y_true.shape)} or scores with "
            f"one more (class) axis, got shape {shape}"
        )
    if y_pred.dtype.kind == "f":
        # Float predictions shaped like the labels are binary scores: with labels beyond 0 and 1
        # (float labels such as argmax(...).astype(float)) thresholding them would be nonsense.
        if y_true.size and bool(((y_true != 0) & (y_true != 1)).any()):
            raise ValueError(
                f"{who}: y_pred holds floats shaped like y_true {tuple(y_true.shape)}, which are "
                f"read as binary scores (positive above threshold={threshold:g}), but y_true "
                f"holds labels other than 0 and 1 (from {y_true.min()} to {y_true.max()}); pass "
                "integer predicted labels, or scores with an extra class axis"
            )
        y_pred = y_pred > threshold
    return xp, y_true, y_pred


def accuracy(y_true, y_pred, *, threshold: float = 0.5, ignore_index: int | None = None,
             multilabel: bool = False) -> float:
    """Fraction of correct class predictions.

    Args:
        y_true: integer class labels, one-hot (or probability) rows over the last axis, or 0/1
            targets for a binary problem.
        y_pred: predicted labels of the same shape, class scores with the classes on an extra last
            axis (reduced by argmax), or one float score per sample (binary: positive when above
            ``threshold``; use 0 for logits).
        ignore_index: None, or a label value (the loss's ``ignore_index``, such as -100 for
            padding) whose positions are left out. The result then carries its counts (a
            ``Counted``), so the Trainer's epoch value is the accuracy over all kept positions
            of the epoch, however many each batch held.
        multilabel: 0/1 targets per entry (a BCE loss's), each entry a binary decision (Keras'
            binary_accuracy), never rows read as one-hot (a batch whose rows each held one 1).

    Returns:
        The accuracy in [0, 1].
    """
    if ignore_index is not None:
        return _accuracy_ignoring(y_true, y_pred, threshold, ignore_index)
    xp, y_true, y_pred = _labels("accuracy", y_true, y_pred, threshold, multilabel)
    if y_true.size == 0:
        raise ValueError("accuracy: got empty arrays")
    return float(xp.mean(y_true == y_pred))


def _accuracy_ignoring(y_true, y_pred, threshold, ignore_index) -> Counted:
    ignore_index = check_int("accuracy", "ignore_index", ignore_index, None, why="or None")
    y_true, y_pred = _raw(y_true), _raw(y_pred)
    xp = get_array_module(y_true, y_pred)
    y_true, y_pred = xp.asarray(y_true), xp.asarray(y_pred)
    if y_pred.shape[: y_true.ndim] != y_true.shape or _is_one_hot(xp, y_true):
        raise ValueError(f"accuracy: ignore_index applies to label targets, with y_pred shaped "
                         f"like them or with a class axis more; got shapes {tuple(y_true.shape)} "
                         f"and {tuple(y_pred.shape)}")
    kept = y_true != ignore_index
    if y_true.size and not bool(kept.any()):
        raise ValueError(f"accuracy: every label is ignore_index={ignore_index}; nothing to score")
    xp, y_true, y_pred = _labels("accuracy", y_true[kept], y_pred[kept], threshold)
    if y_true.size == 0:
        raise ValueError("accuracy: got empty arrays")
    counts = xp.asarray([[int((y_true == y_pred).sum())], [y_true.size]], dtype="int64")
    return Counted(float(counts[0, 0] / counts[1, 0]), counts, _fraction)


def _fraction(counts) -> float:
    """The epoch accuracy of summed (right, counted) ``counts``."""
    return float(counts[0].sum() / counts[1].sum())


def top_k_accuracy(y_true, y_score, k: int = 5) -> float:
    """Fraction of samples whose true class is among the ``k`` highest scores.

    Args:
        y_true: integer class labels, shape (N,) (or any batch shape).
        y_score: class scores, shape (N, C): y_true's shape plus a class axis.
        k: how many of the top scores count as a hit, 1 <= k <= C.

    >>> import numpy as np
    >>> top_k_accuracy(np.array([2, 0]), np.array([[0.1, 0.5, 0.4], [0.2, 0.3, 0.5]]), k=2)
    0.5
    """
    y_true, y_score = _raw(y_true), _raw(y_score)
    xp = get_array_module(y_true, y_score)
    y_true, y_score = xp.asarray(y_true), xp.asarray(y_score)
    if y_score.ndim != y_true.ndim + 1 or y_score.shape[:-1] != y_true.shape:
        raise ValueError(
            f"top_k_accuracy: y_score must have y_true's shape {tuple(y_true.shape)} plus a class "
            f"axis, got shape {tuple(y_score.shape)}"
        )
    classes = y_score.shape[-1]
    k = check_int("top_k_accuracy", "k", k, low=1, high=classes)
    if y_true.size == 0:
        raise ValueError("top_k_accuracy: got empty arrays")
    _check_classes("top_k_accuracy", xp, y_true, classes)
    # The rank of the true class, ties going to the lower class index as argmax's do (so that
    # top-1 is accuracy): the classes scored higher, and those scored equal and listed before it.
    labels = y_true.astype("int64")[..., None]
    true_score = xp.take_along_axis(y_score, labels, axis=-1)
    before = xp.arange(classes) < labels
    rank = (y_score > true_score).sum(axis=-1) + ((y_score == true_score) & before).sum(axis=-1)
    return float(xp.mean(rank < k))


def confusion_matrix(y_true, y_pred, num_classes: int):
    """Counts of (true class, predicted class) pairs: rows are true classes, columns predictions.

    Args:
        y_true: integer labels in [0, num_classes).
        y_pred: predicted labels, or class scores with the classes on an extra last axis.
        num_classes: the number of classes C.

    Returns:
        An int64 array of shape (C, C) on the arrays' device.

    >>> import numpy as np
    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2).tolist()
    [[1, 0], [1, 1]]
    """
    num_classes = check_int("confusion_matrix", "num_classes", num_classes)
    xp, y_true, y_pred = _labels("confusion_matrix", y_true, y_pred, 0.5)
    y_true, y_pred = y_true.ravel(), y_pred.ravel()
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.dtype.kind == "f" or (y.size and (int(y.min()) < 0 or int(y.max()) >= num_classes)):
            raise ValueError(
                f"confusion_matrix: {name} must hold integer labels in [0, {num_classes}), got "
                f"dtype {y.dtype}" + (f" with values in [{y.min()}, {y.max()}]" if y.size else "")
            )
    pairs = y_true.astype("int64") * num_classes + y_pred.astype("int64")
    counts = xp.bincount(pairs, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype("int64")


def _regression(who: str, y_true, y_pred):
    y_true, y_pred = _raw(y_true), _raw(y_pred)
    xp = get_array_module(y_true, y_pred)
    y_true, y_pred = xp.asarray(y_true), xp.asarray(y_pred)
    # Equal shapes are required: (N,) against (N, 1) would broadcast to (N, N) and give nonsense.
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{who}: y_true and y_pred must have the same shape, got {tuple(y_true.shape)} and "
            f"{tuple(y_pred.shape)}"
        )
    if y_true.size == 0:
        raise ValueError(f"{who}: got empty arrays")
    return xp, y_pred.astype("float64") - y_true.astype("float64")


def mse(y_true, y_pred) -> float:
    """Mean squared error over all elements.

    >>> import numpy as np
    >>> mse(np.array([1.0, 2.0]), np.array([1.0, 4.0]))
    2.0
    """
    xp, diff = _regression("mse", y_true, y_pred)
    return float(xp.mean(diff * diff))


def mae(y_true, y_pred) -> float:
    """Mean absolute error over all elements.

    >>> import numpy as np
    >>> mae(np.array([1.0, 2.0]), np.array([1.0, 4.0]))
    1.0
    """
    xp, diff = _regression("mae", y_true, y_pred)
    return float(xp.mean(xp.abs(diff)))


_NAMED = {"accuracy": accuracy, "acc": accuracy, "mse": mse, "mae": mae}
_TOP_K = re.compile(r"top_?(\d+)_accuracy")
_COUNTED = re.compile(r"(?:(micro|macro|weighted)_)?(precision|recall|f1|f1_score)")


def get_metric(spec, threshold: float = 0.5, multilabel: bool = False):
    """Resolve a Trainer metric into ``(name, fn)`` with ``fn(y_true, y_pred) -> float``.

    Args:
        spec: a name ("accuracy", "mse", "mae", "top_5_accuracy" for any k; "precision",
            "recall", "f1" (or "f1_score"), binary, or with a "micro_", "macro_" or "weighted_"
            prefix, which are exact over an epoch), a function (named by its ``__name__``), or
            a ``(name, fn)`` pair.
        threshold, multilabel: the named accuracy's, precision's, recall's and F1's (the
            Trainer passes threshold 0 for a loss on logits, multilabel for a BCE loss).

    >>> get_metric("top_3_accuracy")[0]
    'top_3_accuracy'
    """
    if isinstance(spec, str):
        if spec in _NAMED:
            fn = _NAMED[spec]
            plain = fn is not accuracy or (threshold == 0.5 and not multilabel)
            return spec, fn if plain else functools.partial(
                accuracy, threshold=threshold, multilabel=multilabel)
        match = _TOP_K.fullmatch(spec)
        if match:
            k = int(match.group(1))
            return spec, lambda y_true, y_pred: top_k_accuracy(y_true, y_pred, k)
        match = _COUNTED.fullmatch(spec)
        if match:  # exact over an epoch: see train.classification
            from . import classification

            fn = getattr(classification, "f1_score" if match.group(2) == "f1" else match.group(2))
            return spec, functools.partial(fn, average=match.group(1) or "binary",
                                           threshold=threshold, multilabel=multilabel)
        raise ValueError(
            f"get_metric: unknown metric {spec!r}; expected one of {sorted(_NAMED)}, "
            "'top_<k>_accuracy', '[micro_|macro_|weighted_]precision' (recall, f1), a function "
            "or a (name, function) pair"
        )
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str) \
            and callable(spec[1]):
        return spec
    if callable(spec):
        name = getattr(spec, "__name__", None)
        if not name or name == "<lambda>":
            raise ValueError(
                "get_metric: a metric function without a name (lambda, partial) must be given as a "
                "(name, function) pair"
            )
        return name, spec
    raise TypeError(f"get_metric: expected a metric name or function, got {type(spec).__name__}")


def metric_list(metrics, threshold: float = 0.5, multilabel: bool = False,
                class_axis: int = -1) -> list:
    """The Trainer's ``metrics`` as ``(name, fn)`` pairs: None (Keras' default) or an empty
    list is none, a name or function is one, a list lists them (a dict is a TypeError);
    ``threshold``, ``multilabel``: as ``get_metric``'s; ``class_axis`` 1: named class metrics
    read scores (N, C, d1, ...) as PyTorch's cross_entropy does, the classes on axis 1."""
    if metrics is None:
        return []
    if isinstance(metrics, str) or (callable(metrics) and not isinstance(metrics, type)):
        metrics = [metrics]
    if isinstance(metrics, dict) or not hasattr(metrics, "__iter__"):  # Keras' per-output dict
        raise TypeError(f"Trainer: metrics must be None, a metric (a name or a function) or a "
                        f"list of them, got {type(metrics).__name__} {metrics!r}")
    found = [(m, get_metric(m, threshold, multilabel)) for m in metrics]
    return [(name, _classes_first(fn)) if class_axis == 1 and isinstance(m, str)
            and fn not in (mse, mae) else (name, fn) for m, (name, fn) in found]


def _classes_first(fn):
    def read(y_true, y_pred):  # fn reads the classes on the last axis
        t, p = _raw(y_true), _raw(y_pred)
        if p.ndim >= 3 and p.ndim in (t.ndim, t.ndim + 1):  # labels, or probabilities
            xp = get_array_module(p)
            t, p = (xp.moveaxis(t, 1, -1) if t.ndim == p.ndim else t), xp.moveaxis(p, 1, -1)
        return fn(t, p)
    return read


class Counted(float):
    """A batch's metric value that also carries the counts it was computed from
    (``finish(counts) -> value``): precision, recall and F1 (``train.classification``), whose
    epoch value is ``finish`` of the batches' summed counts, not a mean of their values."""

    def __new__(cls, value: float, counts, finish):
        self = super().__new__(cls, value)
        self.counts, self.finish = counts, finish
        return self

    def __reduce__(self):  # pickled (or copied) as the plain number it is
        return float, (float(self),)


def as_log(value):
    """A metric's value for the logs: a float, or the ``Counted`` it is."""
    return value if isinstance(value, Counted) else float(value)


class _CountedMean:
    """The epoch value of ``Counted`` batch values: their counts summed, then ``finish``."""

    def __init__(self, finish):
        self.finish, self.total = finish, None

    def update(self, value, weight: float = 1.0) -> None:
        if not isinstance(value, Counted):
            raise TypeError(f"MeanTracker: a log that counted (precision, recall, F1) got the "
                            f"plain number {value!r}; a metric must return the same kind each "
                            "batch")
        counts, total = value.counts, self.total
        if total is not None and total.shape != counts.shape:  # more classes seen: pad both
            width = max(total.shape[-1], counts.shape[-1])
            total = get_array_module(total).pad(total, ((0, 0), (0, width - total.shape[-1])))
            counts = get_array_module(counts).pad(counts,
                                                  ((0, 0), (0, width - counts.shape[-1])))
        self.total = counts.copy() if total is None else total + counts

    def result(self) -> float:
        return math.nan if self.total is None else float(self.finish(self.total))


class Mean:
    """A running weighted mean of scalars, e.g. of per-batch losses weighted by batch size.

    >>> m = Mean()
    >>> m.update(1.0, weight=3); m.update(2.0, weight=1)
    >>> m.result()
    1.25
    """

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.total = 0.0
        self.weight = 0.0

    def update(self, value: float, weight: float = 1.0) -> None:
        self.total += float(value) * weight
        self.weight += weight

    def result(self) -> float:
        return self.total / self.weight if self.weight else math.nan


class MeanTracker:
    """One ``Mean`` per name of the logs dicts it is fed: the epoch averages of per-batch results.

    >>> t = MeanTracker()
    >>> t.update({"loss": 1.0}, weight=2); t.update({"loss": 4.0}, weight=1)
    >>> t.result()
    {'loss': 2.0}
    """

    def __init__(self):
        self.means: dict[str, Mean] = {}

    def update(self, logs: dict, weight: float = 1.0) -> None:
        for name, value in logs.items():
            if name not in self.means:
                counted = isinstance(value, Counted)
                self.means[name] = _CountedMean(value.finish) if counted else Mean()
            self.means[name].update(value, weight)

    def result(self) -> dict:
        return {name: m.result() for name, m in self.means.items()}
