"""``unique`` along a dim and ``unique_consecutive`` (PyTorch's names); not differentiable.

With ``dim``, the "values" are the slices of the input along ``dim`` (``x[i]`` for ``dim=0``):
``unique`` sorts them lexicographically (first differing entry decides, as PyTorch) and keeps one
of each; ``unique_consecutive`` keeps the input's order and merges only runs of equal neighbours.
Without ``dim`` the input is flattened (``unique_consecutive``) and the inverse index has the
input's shape; with it the inverse index has one entry per slice. Slices (or entries) holding
NaN never equal anything, so each stays on its own, as in PyTorch.
"""

from __future__ import annotations

import math

from ..autograd.function import nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._real_only import refuse_complex
from .shape import _one_axis

__all__ = ["unique", "unique_consecutive"]


def _slices(op, x, dim):
    """``x``'s slices along ``dim`` as the rows of a 2-D array, with the axis."""
    a = x._data
    if a.ndim == 0:
        raise IndexError(f"{op}: dim={dim} was given but the input has no dimensions")
    axis = _one_axis(op, dim, a.ndim)
    n = a.shape[axis]
    if n and a.size == 0:
        raise ValueError(f"{op}: the input of shape {tuple(a.shape)} has a zero-size dimension "
                         f"other than dim={dim}, so its slices cannot be compared (as PyTorch)")
    xp = get_array_module(a)
    width = math.prod(s for d, s in enumerate(a.shape) if d != axis)
    return xp.moveaxis(a, axis, 0).reshape(n, width), axis


def _result(values, inverse, counts, return_inverse, return_counts):
    out = [Tensor(values)]
    if return_inverse:
        out.append(Tensor(inverse.astype("int64")))
    if return_counts:
        out.append(Tensor(counts.astype("int64")))
    return out[0] if len(out) == 1 else tuple(out)


def _runs(rows, xp):
    """Group numbers of the rows (runs of equal neighbours) and the run lengths."""
    n = rows.shape[0]
    if n == 0:
        return xp.zeros(0, "int64"), xp.zeros(0, "int64")
    starts = xp.ones(n, bool)
    starts[1:] = (rows[1:] != rows[:-1]).any(axis=1)
    group = xp.cumsum(starts) - 1
    first = xp.flatnonzero(starts)
    counts = xp.diff(xp.concatenate([first, xp.asarray([n])]))
    return group, counts


def unique_dim(op, x, dim, return_inverse, return_counts, consecutive):
    """The distinct slices of ``x`` along ``dim``: sorted (``unique``) or in runs."""
    rows, axis = _slices(op, x, dim)
    xp = get_array_module(rows)
    n = rows.shape[0]
    if consecutive or n == 0:
        order = xp.arange(n)
    else:  # lexsort takes its last key as the primary one: the slices' first entry
        order = xp.lexsort(rows.T[::-1]) if rows.shape[1] else xp.arange(n)
    group, counts = _runs(rows[order], xp)
    inverse = xp.empty(n, "int64")
    inverse[order] = group
    keep = order[xp.flatnonzero(xp.diff(xp.concatenate([xp.asarray([-1]), group])))]
    values = xp.moveaxis(xp.moveaxis(x._data, axis, 0)[keep], 0, axis)
    return _result(values, inverse, counts, return_inverse, return_counts)


def unique(input, sorted: bool = True, return_inverse: bool = False,  # noqa: A002 - PyTorch's
           return_counts: bool = False, dim=None):
    """The distinct values of ``input`` (sorted), with the inverse index and counts if asked.
    Each output is a nondiff step, which a trace (``cr.trace``, ``onnx.export``) computes again
    from its input (or refuses) rather than freezing the example's values."""
    refuse_complex("unique", input)
    if dim is not None:  # the distinct slices along dim, sorted
        return unique_dim("unique", input, dim, return_inverse, return_counts, consecutive=False)
    xp = get_array_module(input._data)
    # each NaN is its own value, as in PyTorch (NumPy's default merges them into one)
    nan_kw = {"equal_nan": False} if xp.__name__ == "numpy" else {}

    def part(k):
        def unique_of(a):
            values, inverse, counts = xp.unique(a, return_inverse=True, return_counts=True,
                                                **nan_kw)
            return (values, inverse.reshape(a.shape).astype("int64"), counts.astype("int64"))[k]
        return nondiff(unique_of, input)

    out = [part(k) for k in (0, *[1] * return_inverse, *[2] * return_counts)]
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(input, return_inverse: bool = False,  # noqa: A002 - PyTorch's names
                       return_counts: bool = False, dim=None):
    """``input`` with each run of equal neighbours (entries, or slices along ``dim``) merged
    into one, in order; the inverse index and run lengths if asked."""
    if not isinstance(input, Tensor):
        raise TypeError(f"unique_consecutive: input must be a Tensor, got {type(input).__name__}")
    refuse_complex("unique_consecutive", input)
    if dim is not None:
        return unique_dim("unique_consecutive", input, dim, return_inverse, return_counts, True)
    a = input._data
    group, counts = _runs(a.reshape(-1, 1), get_array_module(a))
    values = a.reshape(-1)[get_array_module(a).cumsum(counts) - counts]
    return _result(values, group.reshape(a.shape), counts, return_inverse, return_counts)


Tensor.unique_consecutive = unique_consecutive
