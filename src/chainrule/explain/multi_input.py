"""Captum's multi-input models and ``additional_forward_args`` for the attributions.

``saliency``, ``gradient_x_input``, ``guided_backprop``, ``deconvnet``, ``lrp``,
``integrated_gradients``, ``gradient_shap``, ``deeplift``, ``deeplift_shap``, ``occlusion``,
``feature_ablation``, ``feature_permutation`` and the Shapley values take, as
Captum's ``attribute``, a tuple (not a list) of input batches ``(x1, x2, ...)`` (each (N, ...))
for a model called as ``model(x1, x2, ..., *additional_forward_args)``, and return one
attribution per input in a tuple; a single batch with ``additional_forward_args`` gives one
array. The extra
arguments are not attributed: a Tensor or array whose first axis has the N samples goes with its
sample (each row of an interpolated or doubled batch gets its own sample's entry, as Captum
repeats them), anything else is passed unchanged.

How: the inputs are flattened and laid side by side in one (N, D1 + D2 + ... + 1) batch whose
last column is the sample's index, and a wrapper module splits each row back into the inputs,
picks the extra arguments of its sample by that index and calls the model. The single-input
code then runs unchanged: baselines carry the same index column, so an interpolation or a
difference leaves it as it is and its attribution is exactly 0 (it is dropped).
"""

from __future__ import annotations

import math

from ..autograd import Tensor
from ..backend import asnumpy, numpy
from ..nn import Module
from ._common import as_batch

__all__ = ["Extra", "Packed", "pack", "with_extra"]


class _Unpacking(Module):
    """``model(*inputs split from a packed row, *the extra arguments of its sample)``."""

    def __init__(self, model, shapes, extra, n):
        super().__init__()
        self.model = model
        self._shapes, self._extra, self._n = shapes, extra, n
        self.training = model.training

    def forward(self, flat):
        idx = asnumpy(flat._data[:, -1]).round().astype(numpy.int64)
        parts, start = [], 0
        for shape in self._shapes:
            size = math.prod(shape)
            parts.append(flat[:, start:start + size].reshape(flat.shape[0], *shape))
            start += size
        return self.model(*parts, *(_rows(a, idx, self._n) for a in self._extra))


def _rows(arg, idx, n):
    if isinstance(arg, Tensor) and arg.ndim and arg.shape[0] == n:
        return Tensor(arg._data[idx])
    if isinstance(arg, numpy.ndarray) and arg.ndim and arg.shape[0] == n:
        return arg[idx]
    return arg


class Packed:
    """The packed model and batch, and the conversions of per-input values to and from it."""

    def __init__(self, who, model, x, extra):
        self.who, self.multi = who, isinstance(x, tuple)
        xs = [as_batch(who, model, xi) for xi in (x if self.multi else (x,))]
        if not xs:
            raise ValueError(f"{who}: x is an empty tuple of inputs")
        n = len(xs[0])
        if any(len(xi) != n for xi in xs):
            raise ValueError(f"{who}: the inputs must have the same number of samples, got "
                             f"{[len(xi) for xi in xs]}")
        self.xs, self.n = xs, n
        self.shapes = [xi.shape[1:] for xi in xs]
        dtype = numpy.result_type(*xs)
        self.index = numpy.arange(n, dtype=dtype)[:, None]
        self.x = numpy.concatenate([xi.reshape(n, -1) for xi in xs] + [self.index], axis=1)
        extra = () if extra is None else extra if isinstance(extra, tuple) else (extra,)
        exact = 2 ** (numpy.finfo(dtype).nmant + 1)  # the index column picks extra arguments
        if extra and n - 1 > exact:
            raise ValueError(f"{who}: {n} samples with additional_forward_args are more than "
                             f"{dtype} numbers exactly (0 to {exact}); explain them in batches "
                             f"of at most {exact + 1}, or with the model in float32")
        self.model = _Unpacking(model, self.shapes, extra, n)

    def each(self, name, value):
        """``value`` as one entry per input: with several inputs, a tuple or list with one entry
        per input gives them in turn; anything else is the same for each input."""
        if self.multi and isinstance(value, (tuple, list)) and len(value) == len(self.xs):
            return list(value)
        return [value] * len(self.xs)

    def like_x(self, name, value, mean=False):
        """A per-input ``value`` (a number, an array shaped like one sample or like that input,
        or with ``mean`` "mean": each sample's mean of that input) as a packed (N, D + 1) batch
        whose index column is the samples' own."""
        cols = []
        for xi, v in zip(self.xs, self.each(name, value)):
            if mean and isinstance(v, str) and v == "mean":
                v = xi.reshape(self.n, -1).mean(axis=1).reshape((-1,) + (1,) * (xi.ndim - 1))
            if isinstance(v, Tensor):
                v = asnumpy(v._data)
            arr = numpy.asarray(v)
            if arr.dtype.kind not in "fiub" or arr.shape not in (
                    (), xi.shape[1:], (1, *xi.shape[1:]), (self.n, *(1,) * (xi.ndim - 1)),
                    xi.shape):
                raise ValueError(f"{self.who}: {name} must be a number or an array shaped like "
                                 f"one sample {xi.shape[1:]} or like the input {xi.shape}, got "
                                 f"{v!r:.80}")
            cols.append(numpy.broadcast_to(arr, xi.shape).reshape(self.n, -1))
        return numpy.concatenate(cols + [self.index], axis=1).astype(self.x.dtype)

    def embed(self, k, mask):
        """Input ``k``'s mask (shaped like one of its samples) as a mask of a packed row."""
        out = numpy.zeros(self.x.shape[1], dtype=bool)
        start = sum(math.prod(s) for s in self.shapes[:k])
        out[start:start + mask.size] = mask.reshape(-1)
        return out

    def unpack(self, flat):
        """Packed (N, D + 1) attributions as one array per input (a tuple when several)."""
        parts, start = [], 0
        for shape in self.shapes:
            size = math.prod(shape)
            parts.append(numpy.ascontiguousarray(flat[:, start:start + size]).reshape(
                self.n, *shape))
            start += size
        return tuple(parts) if self.multi else parts[0]


class Extra(Module):
    """``model(x, *additional_forward_args)``, a per-sample argument cut to the samples of the
    rows (``rows``; all N samples, in order, when None)."""

    def __init__(self, model, extra, n):
        super().__init__()
        self.model, self._extra, self._n, self.rows = model, extra, n, None

    def forward(self, x):
        idx = numpy.arange(self._n) if self.rows is None else self.rows
        return self.model(x, *(_rows(a, idx, self._n) for a in self._extra))


def with_extra(model, additional_forward_args, n):
    """``model`` called with ``additional_forward_args`` after its input (``Extra``)."""
    extra = (additional_forward_args if isinstance(additional_forward_args, tuple)
             else (additional_forward_args,))
    return Extra(model, extra, n)


def pack(who, model, x, additional_forward_args):
    """A ``Packed`` for a tuple of inputs or extra arguments; None for a plain single batch."""
    if isinstance(x, tuple) or additional_forward_args is not None:
        return Packed(who, model, x, additional_forward_args)
    return None
