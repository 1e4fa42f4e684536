"""Adaptive pooling: average or max over PyTorch's adaptive windows, to a fixed output size.

Adaptive average pooling multiplies by two small averaging matrices (an input holding inf or NaN
sums each window's own inputs instead, so that 0 * inf adds no NaN); adaptive max pooling reuses
max pooling when the windows tile the input, and otherwise gathers its unequal windows by index
and scatters back with ``bincount``.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._pool_index import adaptive_bounds as _adaptive_bounds
from ._pool_index import max_pool_indices
from ._unbatched import batch_optional
from ._windows import PoolGeom, check_rank
from ._windows import ints as _ints
from .activation import _kept
from .pool import _ExtremumPool
from .shape import squeeze, unsqueeze

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
           "adaptive_max_pool2d"]


def _apply_last(x, a):
    """``x @ a.T`` over the last axis of x: a matrix product when x is finite. Otherwise each
    output sums only the inputs its row of ``a`` covers, so that an inf or NaN reaches just the
    windows holding it (a product would add 0 * inf = NaN into every output of its row)."""
    xp = get_array_module(x)
    flat = x.reshape(-1, x.shape[-1])
    if x.dtype.kind != "f" or xp.isfinite(flat).all():
        y = flat @ a.T
    else:
        y = xp.empty((flat.shape[0], a.shape[0]), dtype=xp.result_type(x, a))
        for j in range(a.shape[0]):
            cols = xp.flatnonzero(a[j])
            y[:, j] = flat[:, cols] @ a[j, cols]
    return y.reshape(x.shape[:-1] + (a.shape[0],))


class _Separable(Function):
    """``A_h @ x @ A_w.T`` over the last two axes (``A_h`` None: last axis only); linear."""

    def forward(self, x):
        a_h, a_w = self.mats
        dtype = x.dtype  # float16 is summed in float32 (mats too), as PyTorch's kernel does
        y = _apply_last(x.astype(a_w.dtype) if dtype != a_w.dtype else x, a_w)
        if a_h is not None:
            y = _apply_last(y.swapaxes(-1, -2), a_h).swapaxes(-1, -2)
        return get_array_module(y).ascontiguousarray(y, dtype=dtype)

    def backward(self, g):  # recorded, x keeps a zero gradient through it, as PyTorch's
        return _kept(_Separable.apply(g, mats=tuple(None if a is None else a.T
                                                    for a in self.mats)), self.inputs[0])


def _averaging_matrix(xp, n, m, dtype):
    start, end = _adaptive_bounds(xp, n, m)
    pos = xp.arange(n)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class _AdaptiveExtremum(Function):
    """Adaptive max pooling of (N, C, H, W); ``self.flat`` is each window's winner as an index of
    ``x.ravel()``."""

    def forward(self, x):
        xp = get_array_module(x)
        n, c, h, w = x.shape
        (sh, eh), (sw, ew) = (_adaptive_bounds(xp, n_, m) for n_, m in zip((h, w), self.out_size))
        kh, kw = int((eh - sh).max()), int((ew - sw).max())
        best = arg = None
        nan = x.dtype.kind == "f" and bool(xp.isnan(x).any())
        for k in range(kh * kw):
            # Offset k of every window; short windows repeat their last element, which never wins.
            rows = xp.minimum(sh + k // kw, eh - 1)[:, None]
            cols = xp.minimum(sw + k % kw, ew - 1)[None, :]
            v = x[:, :, rows, cols]
            if best is None:
                best, arg = v, xp.zeros(v.shape, dtype=xp.int64)
                continue
            step = v > best
            if nan:  # a NaN wins each time it comes, so the last NaN: PyTorch's rule
                step |= xp.isnan(v)
            step = step.astype(arg.dtype)
            step *= k
            xp.maximum(arg, step, out=arg)  # k grows, so this sets arg = k where v won
            xp.maximum(best, v, out=best)
        rows = xp.minimum(sh[:, None] + arg // kw, eh[:, None] - 1)
        cols = xp.minimum(sw + arg % kw, ew - 1)
        self.flat = rows * w + cols + (xp.arange(n * c) * (h * w)).reshape(n, c, 1, 1)
        return best

    def backward(self, g):
        return _kept(_IndexScatter.apply(g, flat=self.flat, shape=self.inputs[0].shape),
                     self.inputs[0])


class _IndexScatter(Function):
    """Sum ``g`` into a zero array of ``shape`` at the flat positions ``flat`` (repeats add up)."""

    def forward(self, g):
        xp = get_array_module(g)
        size = 1
        for s in self.shape:
            size *= s
        out = xp.bincount(self.flat.ravel(), weights=g.ravel(), minlength=size)
        return out.astype(g.dtype).reshape(self.shape)

    def backward(self, gg):
        return _IndexGather.apply(gg, flat=self.flat, shape=self.inputs[0].shape)


class _IndexGather(Function):
    def forward(self, x):
        return x.ravel()[self.flat].reshape(self.shape)

    def backward(self, g):
        return _IndexScatter.apply(g, flat=self.flat, shape=self.inputs[0].shape)


def _adaptive_size(op, x, nd, output_size, floating=False):
    check_rank(op, tuple(x.shape), x.dtype, nd, floating, nonempty=True)
    if isinstance(output_size, (tuple, list)) and len(output_size) == nd:
        given = tuple(x.shape[2 + a] if v is None else v for a, v in enumerate(output_size))
    else:
        given = output_size
    return _ints(op, "output_size", given, nd, 1, spread=False)


def _adaptive_avg(op, nd, x, output_size):
    out = _adaptive_size(op, x, nd, output_size, floating=True)
    xp = get_array_module(x._data if isinstance(x, Tensor) else x)
    dtype = "float32" if x.dtype == "float16" else x.dtype
    mats = [_averaging_matrix(xp, n, m, dtype) for n, m in zip(x.shape[2:], out)]
    return _Separable.apply(x, mats=(None, mats[0]) if nd == 1 else tuple(mats))


@batch_optional(1)
def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    """Average (N, C, L) down to (N, C, output_size) over PyTorch's adaptive windows."""
    x = input  # taken by PyTorch's name, input=
    return _adaptive_avg("adaptive_avg_pool1d", 1, x, output_size)


@batch_optional(2)
def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """Average (N, C, H, W) down to (N, C, *output_size) (``1`` gives global average pooling).

    Args:
        input: of shape (N, C, H, W).
        output_size: an int or (h, w); None in the tuple keeps that input size. Window i of m
            along an axis of n elements covers [floor(i * n / m), ceil((i + 1) * n / m)), as in
            PyTorch.

    Returns:
        Tensor of shape (N, C, h, w).
    """
    x = input  # taken by PyTorch's name, input=
    return _adaptive_avg("adaptive_avg_pool2d", 2, x, output_size)


def _adaptive_max(op, nd, x, output_size, return_indices):
    out = _adaptive_size(op, x, nd, output_size)
    if not isinstance(return_indices, bool):
        raise TypeError(f"{op}: return_indices must be a bool, got {return_indices!r}")
    if nd == 1:  # the 2-D pool of the sequences seen as images one row high
        y = squeeze(_adaptive_max_2d(unsqueeze(x, 2), (1,) + out), 2)
    else:
        y = _adaptive_max_2d(x, out)
    return (y, max_pool_indices(x, None, None, None, out)) if return_indices else y


def _adaptive_max_2d(x, out_size):
    if all(n % m == 0 for n, m in zip(x.shape[2:], out_size)):  # windows that tile x
        kernel = tuple(n // m for n, m in zip(x.shape[2:], out_size))
        geom = PoolGeom(kernel, kernel, (0, 0), tuple(x.shape[2:]))
        return _ExtremumPool.apply(x, geom=geom, largest=True)
    return _AdaptiveExtremum.apply(x, out_size=out_size)


@batch_optional(1)
def adaptive_max_pool1d(input, output_size, return_indices=False):  # noqa: A002
    """Max of (N, C, L) over ``output_size`` adaptive windows; gradient to the first maximum.
    ``return_indices=True`` also returns the winners' indices (PyTorch's)."""
    x = input  # taken by PyTorch's name, input=
    return _adaptive_max("adaptive_max_pool1d", 1, x, output_size, return_indices)


@batch_optional(2)
def adaptive_max_pool2d(input, output_size, return_indices=False):  # noqa: A002
    """Max of (N, C, H, W) over adaptive windows (as ``adaptive_avg_pool2d``): (N, C, h, w).

    Args:
        input: of shape (N, C, H, W).
        output_size: an int or (h, w); None keeps that input size.
        return_indices: also return the winners' flat indices into each (H, W) plane.

    Returns:
        Tensor of shape (N, C, h, w) (and the int64 indices); the gradient goes to the first
        maximum of each window.
    """
    x = input  # taken by PyTorch's name, input=
    return _adaptive_max("adaptive_max_pool2d", 2, x, output_size, return_indices)
