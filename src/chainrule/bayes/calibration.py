"""How sure is the network, and is it right to be? Calibration metrics and temperature scaling.

A classifier is calibrated when, of the inputs it gives confidence 0.8, 80% are right.
``expected_calibration_error`` bins the predictions by confidence and averages
``|accuracy - confidence|`` weighted by the bin sizes (Guo et al., 2017). ``nll`` and ``brier`` are
proper scoring rules. ``TemperatureScaling`` divides the logits by one scalar T fitted on
validation data, which changes confidence but never the predicted class. ``mc_dropout_predict``
keeps dropout switched on at test time and averages the sampled predictions (Gal & Ghahramani,
2016); ``predictive_entropy`` and ``mutual_information`` split the uncertainty of such samples.
"""

from __future__ import annotations

import math

from ..autograd import Tensor, grad, no_grad
from ..backend import asnumpy, get_array_module
from ..nn import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout
from ..ops import cross_entropy, softmax
from ._checks import (
    check_batch,
    check_int,
    check_positive,
    check_probs,
    eval_modes,
    restore_modes,
)

__all__ = ["nll", "brier", "reliability", "expected_calibration_error", "softmax_probs",
           "TemperatureScaling", "predictive_entropy", "mutual_information", "mc_dropout_predict"]


def softmax_probs(logits):
    """Row-wise softmax of an array of logits (N, C), computed stably, as an array."""
    logits = asnumpy(logits)
    if logits.ndim != 2 or logits.shape[1] == 0:
        raise ValueError("softmax_probs: logits must be 2-D (N, C) with C >= 1, got shape "
                         f"{logits.shape}")
    xp = get_array_module(logits)
    e = xp.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _floor(p):
    """The smallest probability a logarithm here sees: 1e-300, or the dtype's smallest normal
    number where 1e-300 is not representable (float32 would round it to 0, whose log is -inf)."""
    xp = get_array_module(p)
    return max(1e-300, float(xp.finfo(p.dtype).tiny)) if p.dtype.kind == "f" else 1e-300


def nll(probs, labels) -> float:
    """Mean negative log-likelihood ``-log p(label)`` of predicted probabilities (N, C)."""
    probs, labels = check_probs("nll", probs, labels)
    xp = get_array_module(probs)
    p = probs[xp.arange(len(labels)), labels]
    return float(-xp.log(xp.maximum(p, _floor(p))).mean())


def brier(probs, labels) -> float:
    """Mean over examples of ``sum_c (p_c - [c == label])^2`` (0 is perfect, 2 the worst)."""
    probs, labels = check_probs("brier", probs, labels)
    xp = get_array_module(probs)
    onehot = xp.zeros_like(probs)
    onehot[xp.arange(len(labels)), labels] = 1.0
    return float(((probs - onehot) ** 2).sum(axis=1).mean())


def reliability(probs, labels, *, n_bins: int = 15) -> dict:
    """Bin predictions by confidence (max probability) into ``n_bins`` equal-width bins of [0, 1].

    A confidence exactly on an inner edge goes to the bin below it (bins are ``(lo, hi]``, the
    first ``[0, hi]``), as in Guo et al.

    Returns:
        ``{"edges" (n_bins + 1,), "confidence", "accuracy" (mean per bin, NaN where empty),
        "count" (examples per bin)}`` as arrays.
    """
    return _reliability("reliability", probs, labels, n_bins)


def _reliability(who: str, probs, labels, n_bins: int) -> dict:
    probs, labels = check_probs(who, probs, labels)
    check_int(who, "n_bins", n_bins)
    xp = get_array_module(probs)
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(float)
    # k / n_bins correctly rounded: linspace's k * (1 / n_bins) fell an ulp below it for some k
    # (5/6, 5/7, ...), so a confidence exactly on that edge went to the bin above
    edges = xp.arange(n_bins + 1) / n_bins
    which = xp.clip(xp.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    count = xp.bincount(which, minlength=n_bins)
    with_any = xp.maximum(count, 1)
    mean_conf = xp.where(count > 0, xp.bincount(which, conf, n_bins) / with_any, xp.nan)
    mean_acc = xp.where(count > 0, xp.bincount(which, correct, n_bins) / with_any, xp.nan)
    return {"edges": edges, "confidence": mean_conf, "accuracy": mean_acc, "count": count}


def expected_calibration_error(probs, labels, *, n_bins: int = 15) -> float:
    """ECE: ``sum_b (n_b / N) |accuracy_b - confidence_b|`` over confidence bins (Guo et al.)."""
    r = _reliability("expected_calibration_error", probs, labels, n_bins)
    xp = get_array_module(r["count"])
    gap = xp.abs(xp.nan_to_num(r["accuracy"]) - xp.nan_to_num(r["confidence"]))
    return float((r["count"] * gap).sum() / max(int(r["count"].sum()), 1))


class TemperatureScaling:
    """Divide logits by one temperature T, fitted by minimizing the NLL on validation data.

    The NLL of ``softmax(z / T)`` is convex in ``1 / T``; ``fit`` finds the zero of its derivative
    (computed by chainrule's autograd) by bisection, so the answer is the exact minimizer to
    ``tol``, where it lies in ``fit``'s range [low, high]. Where the NLL still falls at an end of
    the range, T is that end: validation data that the logits separate (every argmax right) is
    fitted better the sharper the softmax, so its T is ``low``. T > 1 softens an over-confident
    model; argmax, hence accuracy, is unchanged.

    >>> ts = TemperatureScaling().fit(val_logits, val_labels)    # doctest: +SKIP
    >>> probs = ts.probs(test_logits)                             # doctest: +SKIP
    """

    def __init__(self, temperature: float = 1.0):
        self.temperature = check_positive("TemperatureScaling", "temperature", temperature)

    @staticmethod
    def _slope(logits, labels, inv_t: float) -> float:
        beta = Tensor(logits.dtype.type(inv_t), requires_grad=True)
        (g,) = grad(cross_entropy(Tensor(logits) * beta, Tensor(labels)), [beta])
        return float(g._data)

    def fit(self, logits, labels, *, low: float = 1e-3, high: float = 1e3,
            tol: float = 1e-7) -> TemperatureScaling:
        """Fit T on validation ``logits`` (N, C) and ``labels`` (N,), searched in [low, high];
        returns self."""
        who = "TemperatureScaling.fit"
        low, high = check_positive(who, "low", low), check_positive(who, "high", high)
        check_positive(who, "tol", tol)
        if not low < high:
            raise ValueError(f"{who}: low must be below high, got low={low!r}, high={high!r}")
        logits = asnumpy(logits)
        if logits.ndim != 2 or not len(logits) or logits.dtype.kind not in "fiu":
            raise ValueError("TemperatureScaling.fit: logits must be a non-empty real 2-D array "
                             f"(N, C), got shape {logits.shape} and dtype {logits.dtype}")
        logits = logits.astype("float64")
        if not bool(get_array_module(logits).isfinite(logits).all()):
            raise ValueError("TemperatureScaling.fit: logits must be finite, got NaN or infinite "
                             "entries")
        _, labels = check_probs("TemperatureScaling.fit", softmax_probs(logits), labels)
        lo, hi = math.log(1.0 / high), math.log(1.0 / low)  # bisect on log(1/T)
        if self._slope(logits, labels, math.exp(lo)) >= 0:
            self.temperature = high
            return self
        if self._slope(logits, labels, math.exp(hi)) <= 0:
            self.temperature = low  # separable data: sharper is always better
            return self
        while hi - lo > tol:
            mid = 0.5 * (lo + hi)
            if self._slope(logits, labels, math.exp(mid)) < 0:
                lo = mid
            else:
                hi = mid
        self.temperature = math.exp(-0.5 * (lo + hi))
        return self

    def logits(self, logits):
        """The scaled logits ``logits / T`` (an array)."""
        return asnumpy(logits) / self.temperature

    def probs(self, logits):
        """Calibrated probabilities ``softmax(logits / T)``."""
        return softmax_probs(self.logits(logits))


def predictive_entropy(probs) -> object:
    """Entropy ``-sum_c p_c log p_c`` of each row of averaged probabilities (N, C), in nats."""
    probs = _distributions("predictive_entropy", "probs", asnumpy(probs))
    xp = get_array_module(probs)
    return -(probs * xp.log(xp.maximum(probs, _floor(probs)))).sum(axis=-1)


def _distributions(who: str, name: str, probs):
    """``probs`` if its last axis holds probability distributions (real, finite, >= 0, summing
    to 1), else a ValueError: the entropy of logits or of unnormalized scores is a number of
    nothing."""
    xp = get_array_module(probs)
    if probs.ndim == 0 or probs.shape[-1] == 0 or probs.dtype.kind not in "fiub":
        raise ValueError(f"{who}: {name} must be real probabilities along a last axis of at least "
                         f"one class, got shape {probs.shape} and dtype {probs.dtype}")
    if not probs.size:  # no example: an empty answer
        return probs
    sums = probs.sum(axis=-1)
    if (not bool(xp.isfinite(probs).all()) or probs.min() < 0
            or float(abs(sums - 1).max()) > 1e-3):
        raise ValueError(f"{who}: {name} must be finite, non-negative and sum to 1 over the last "
                         f"axis (softmax outputs, not logits); got values "
                         f"{float(probs.min()):.4g}..{float(probs.max()):.4g}, sums "
                         f"{float(sums.min()):.4g}..{float(sums.max()):.4g}")
    return probs


def mutual_information(sample_probs) -> object:
    """BALD's mutual information of sampled probabilities (S, N, C): H[mean] - mean H (nats).

    The total uncertainty (entropy of the mean) minus the expected entropy of each sample: what
    the samples disagree about, the part a larger training set would remove.
    """
    sample_probs = asnumpy(sample_probs)
    if sample_probs.ndim != 3:
        raise ValueError("mutual_information: sample_probs must be 3-D (samples, N, C), got "
                         f"shape {sample_probs.shape}")
    _distributions("mutual_information", "sample_probs", sample_probs)
    return predictive_entropy(sample_probs.mean(axis=0)) - predictive_entropy(sample_probs).mean(0)


def _dropout_layers(model):
    # the alpha dropouts of SELU networks too: left in eval mode they made a model with both
    # kinds only partly random, silently, and one with alpha dropout only "without dropout"
    kinds = (Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout, FeatureAlphaDropout)
    return [m for m in model.modules() if isinstance(m, kinds)]


def mc_dropout_predict(model, x, *, samples: int = 20, batch_size: int = 512) -> object:
    """Softmax outputs of ``samples`` forward passes with dropout on: an array (S, N, C).

    Dropout means ``nn.Dropout``, ``Dropout1d/2d/3d`` and the alpha dropouts of SELU networks
    (``AlphaDropout``, ``FeatureAlphaDropout``).

    Everything else runs in eval mode (batch norm uses its running statistics); the dropout
    layers draw from their own generators, so a model built with ``rng=`` repeats bit for bit.
    Average over axis 0 for the predictive distribution.

    Raises:
        ValueError: the model has no dropout layer (every sample would be the same).
    """
    check_int("mc_dropout_predict", "samples", samples)
    x = check_batch("mc_dropout_predict", "x", x)
    check_int("mc_dropout_predict", "batch_size", batch_size)
    layers = _dropout_layers(model)
    if not layers or all(m.p == 0 for m in layers):
        raise ValueError("mc_dropout_predict: the model has no dropout layer with p > 0; MC "
                         "dropout needs one (e.g. MLP(..., dropout=0.5))")
    modes = eval_modes(model)
    for m in layers:
        m.train()
    try:
        return probability_draws(model, x, samples, batch_size, "mc_dropout_predict")
    finally:
        restore_modes(modes)


def probability_draws(model, x, samples: int, batch_size: int, who: str):
    """Softmax outputs of ``samples`` forward passes of ``model`` as it is set (its random
    layers drawing), in batches, without recording: an array (S, N, C)."""
    xs, out = asnumpy(x), []
    with no_grad():
        for _ in range(samples):
            parts = [softmax(_logits(who, model(Tensor(xs[i:i + batch_size]))), axis=-1)._data
                     for i in range(0, len(xs), batch_size)]
            out.append(get_array_module(parts[0]).concatenate(parts))
    return get_array_module(out[0]).stack(out)


def _logits(who: str, out):
    """``out`` if it holds 2 or more classes along its last axis (softmax over one entry is 1
    whatever the input: every sampled probability would be 1)."""
    if out.ndim < 2 or out.shape[-1] < 2:
        raise ValueError(f"{who}: the model's outputs must be logits (N, C) with C >= 2 to take "
                         f"their softmax, got shape {tuple(out.shape)} (a regression model's "
                         "samples are its outputs: draw them with the model in that mode)")
    return out
