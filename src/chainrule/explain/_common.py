"""What every explanation shares: checked inputs, the explained score, batches and a progress bar.

An explanation asks how a model's *score* for one class, ``f(x) = model(x)[:, target]`` (a logit
by default, or a softmax probability), depends on the input. ``score_gradients`` evaluates the
scores of a batch and their input gradients in one backward pass: the samples of a batch are
independent in eval mode, so the gradient of the summed scores holds each sample's own gradient.
"""

from __future__ import annotations

import sys
import time

from ..autograd import Tensor, grad, no_grad
from ..backend import asnumpy, numpy
from ..data import as_generator as generator  # None: the default generator (manual_seed's)
from ..data.arguments import check_int as check_positive_int  # an int >= low (1 by default)
from ..nn.modes import eval_mode  # each module's own mode back after (a frozen BatchNorm)
from ..ops import softmax
from ..train.progress import bar_line

__all__ = ["Progress", "as_batch", "baseline_shapes", "batches", "check_positive_int",
           "chosen_scores", "copied", "eval_mode", "generator", "model_dtype", "one_batch",
           "predict_scores", "resolve_targets", "score_gradients", "scores_of"]

OUTPUTS = ("logit", "probability")


def model_dtype(model):
    """The float dtype of the model's parameters (None when it has none)."""
    for p in model.parameters():
        return p.dtype
    return None


def one_batch(who: str, x) -> None:
    """Refuse a tuple ``x`` (Captum's several inputs), which NumPy would stack as one batch."""
    if isinstance(x, tuple):
        raise TypeError(f"{who}: x is a tuple of {len(x)} inputs, and {who} takes one batch "
                        "(N, ...); the attribution methods of multi_input take tuples of "
                        "inputs (saliency, gradient_x_input, guided_backprop, deconvnet, lrp, "
                        "integrated_gradients, gradient_shap, deeplift, deeplift_shap, "
                        "occlusion, feature_ablation, feature_permutation, shapley_values, "
                        "shapley_value_sampling)")


def as_batch(who: str, model, x, *, min_ndim: int = 2):
    """``x`` (array or Tensor) as a float NumPy array in the model's dtype, checked finite."""
    one_batch(who, x)
    if isinstance(x, Tensor):
        x = asnumpy(x._data)
    x = numpy.asarray(x)
    if x.ndim < min_ndim:
        raise ValueError(f"{who}: x must be a batch with at least {min_ndim} axes (N, ...), "
                         f"got shape {x.shape}; add a batch axis with x[None]")
    if x.shape[0] == 0:
        raise ValueError(f"{who}: x is an empty batch (shape {x.shape})")
    if x.dtype.kind not in "fiub":
        raise ValueError(f"{who}: x must hold numbers, got dtype {x.dtype}")
    dtype = model_dtype(model) or (x.dtype if x.dtype.kind == "f" else numpy.float32)
    x = x.astype(dtype, copy=False)
    if not numpy.isfinite(x).all():
        raise ValueError(f"{who}: x holds {int((~numpy.isfinite(x)).sum())} NaN or infinite "
                         "values")
    return x


def baseline_shapes(x) -> tuple:
    """The shapes a baseline for the batch ``x`` may have: a number, one sample, one sample with
    a leading 1 (Captum's broadcast form) or one per sample."""
    return ((), x.shape[1:], (1, *x.shape[1:]), x.shape)


def copied(value):
    """A hook's Tensor (or tuple of Tensors) cloned, else None (the value is kept as it is).

    A layer hook that keeps a value and hands the model a clone of it keeps that value intact
    when a later layer changes what it is given in place (``ReLU(inplace=True)``), as Captum's
    layer methods do: otherwise the kept activation would hold the ReLU's output, and its node
    in the graph would be the ReLU's."""
    if isinstance(value, Tensor):
        return value.clone()
    if isinstance(value, tuple) and value and all(isinstance(v, Tensor) for v in value):
        return tuple(v.clone() for v in value)
    return None


def _scores(who: str, model, xb, output: str):
    out = model(xb)
    if out.ndim == 1:
        out = out.reshape(out.shape[0], 1)
    if out.ndim != 2:
        raise ValueError(f"{who}: the model must return (N, classes) scores, got shape "
                         f"{out.shape}")
    return softmax(out, axis=1) if output == "probability" else out


def predict_scores(model, x, *, output: str = "logit", batch_size: int = 256):
    """The model's (N, classes) scores for ``x`` as a NumPy array, without recording."""
    check_output("predict_scores", output)
    parts = []
    with no_grad(), eval_mode(model):
        for sl in batches(len(x), batch_size):
            parts.append(asnumpy(_scores("predict_scores", model, Tensor(x[sl]), output)._data))
    return numpy.concatenate(parts)


def chosen_scores(model, x, t, output, batch_size):
    """``f(x)[i, t[i]]`` (N,) in float64, without recording."""
    s = predict_scores(model, x, output=output, batch_size=batch_size)
    if t.max() >= s.shape[1]:
        raise ValueError(f"target {int(t.max())} is out of range for a model with {s.shape[1]} "
                         "outputs")
    return s[numpy.arange(len(x)), t].astype(numpy.float64)


def check_output(who: str, output: str) -> None:
    if output not in OUTPUTS:
        raise ValueError(f"{who}: output must be one of {OUTPUTS}, got {output!r}")


def resolve_targets(who: str, model, x, target, *, output: str = "logit", batch_size: int = 256):
    """One class index per sample: ``target`` broadcast, or the predicted class when None."""
    if target is None:
        return predict_scores(model, x, output=output, batch_size=batch_size).argmax(axis=1)
    t = numpy.asarray(target)
    if t.dtype.kind not in "iu" or t.ndim > 1 or (t.ndim == 1 and len(t) != len(x)):
        raise ValueError(f"{who}: target must be None, a class index or one index per sample "
                         f"({len(x)}), got {target!r}")
    t = numpy.broadcast_to(t, (len(x),)).astype(numpy.int64)
    if (t < 0).any():
        raise ValueError(f"{who}: target holds negative class indices: {sorted(set(t[t < 0]))}")
    return t


def scores_of(who: str, model, xt, targets, *, output: str = "logit"):
    """The recorded scores ``f(xt)[i, targets[i]]`` (N,) as a Tensor."""
    out = _scores(who, model, xt, output)
    if targets.max() >= out.shape[1]:
        raise ValueError(f"{who}: target {int(targets.max())} is out of range for a "
                         f"model with {out.shape[1]} outputs")
    pick = numpy.zeros(out.shape, dtype=out._data.dtype)
    pick[numpy.arange(out.shape[0]), targets] = 1
    return (out * Tensor(pick)).sum(axis=1)


def score_gradients(model, x, targets, *, output: str = "logit"):
    """Scores ``f(x)[i, targets[i]]`` (N,) and their gradients with respect to ``x``, as arrays."""
    xt = Tensor(x, requires_grad=True)
    chosen = scores_of("score_gradients", model, xt, targets, output=output)
    (g,) = grad(chosen.sum(), xt)
    return asnumpy(chosen._data), asnumpy(g._data)


def batches(n: int, size: int):
    """Slices ``[0, size), [size, 2 size), ...`` covering ``range(n)``."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


class Progress:
    """A one-line progress bar on stderr (train.progress's format), or nothing when off.

    Args:
        title: what is being computed ("integrated gradients").
        steps: how many units of work in all.
        enabled: draw it (False: every call does nothing).
        out: the stream (default sys.stderr).
    """

    def __init__(self, title: str, steps: int, *, enabled: bool = True, out=None):
        self.title, self.steps, self.enabled = title, max(int(steps), 1), enabled
        self.out = sys.stderr if out is None else out
        self.done, self.start, self._last = 0, time.perf_counter(), 0.0

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done, and redraw at most ten times a second (and at the end)."""
        self.done += n
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last >= 0.1 or self.done >= self.steps:
            self._last = now
            self.out.write("\r" + bar_line(self.title, self.done, self.steps,
                                           now - self.start, {}, 79))
            self.out.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled and self.done:
            self.out.write("\n")
            self.out.flush()
