"""Max unpooling (1-D, 2-D, 3-D): the values of a max pool put back at their winners' places.

``max_unpool*d(x, indices, ...)`` takes a pool's output and the ``indices`` its
``return_indices=True`` gave (flat per-plane, PyTorch's) and writes each value at its index in a
zero output, as PyTorch does (an index met twice keeps one of its values: overlapping pool
windows repeat a winner, with the same value). Its gradient, as PyTorch's, reads the output
gradient at each index, every copy of a repeated one too; that gather's own gradient adds back at
the indices, so the op is differentiable to any order.
"""

from __future__ import annotations

import math
import operator

from ..autograd.function import Function
from ..autograd.mode import _trace_recorder
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._pool_index import max_pool_indices
from ._unbatched import batch_optional
from ._windows import LAYOUT, check_rank, ints, no_stride
from .adaptive_pool import _IndexGather
from .elementwise import where

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d"]


def dilated_max_pool(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode):
    """Max pooling with gaps in its windows (PyTorch's ``dilation``), any ``nd``: the winners
    found by ``max_pool_indices``, then their values gathered. The gradient of that gather adds
    each window's gradient at its winner, which is max pooling's gradient (PyTorch's).

    Returns:
        (values, indices), the indices flat per plane as ``return_indices`` gives them.
    """
    check_rank(op, tuple(x.shape), x.dtype, nd)
    kernel = ints(op, "kernel_size", kernel_size, nd, 1)
    stride = kernel if no_stride(stride) else ints(op, "stride", stride, nd, 1)
    padding = ints(op, "padding", padding, nd, 0)
    dilation = ints(op, "dilation", dilation, nd, 1)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    out = []
    for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation):
        span = n + 2 * p - d * (k - 1) - 1  # PyTorch's output size, rounded down or up
        size = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (size - 1) * s >= n + p:
            size -= 1
        if size < 1:
            raise ValueError(f"{op}: kernel size {kernel} with dilation {dilation} spans more "
                             f"than the padded input (input shape {tuple(x.shape)}, padding "
                             f"{padding})")
        out.append(size)
    idx, found = max_pool_indices(x, kernel, stride, padding, tuple(out), dilation,
                                  return_found=True)
    xp = get_array_module(idx._data)
    planes, plane = x.shape[0] * x.shape[1], math.prod(x.shape[2:])
    empty = not found.all()  # a window wholly in the padding: -inf, as PyTorch's, no gradient
    safe = xp.where(found, idx._data, 0) if empty else idx._data
    flat = safe.reshape(planes, math.prod(out)) + (xp.arange(planes) * plane)[:, None]
    # ``pool`` names the windows for readers of the recording (chainrule.onnx.export's MaxPool)
    y = _IndexGather.apply(x, flat=flat.reshape(idx.shape), shape=idx.shape,
                           pool=(kernel, stride, padding, dilation, tuple(out)))
    if empty:
        low = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min
        y = where(Tensor(found), y, Tensor(xp.full(y.shape, low, dtype=x.dtype)))
    if _trace_recorder.get() is not None:  # indices a replay (or an ONNX file) computes again
        idx = max_pool_indices(x, kernel, stride, padding, tuple(out), dilation)
    return y, idx


class _MaxUnpool(Function):
    """Each value of x written at its flat position ``flat`` of a zero array of ``shape``."""

    def forward(self, x):
        xp = get_array_module(x)
        out = xp.zeros(math.prod(self.shape), dtype=x.dtype)
        out[self.flat.ravel()] = x.ravel()
        return out.reshape(self.shape)

    def backward(self, g):
        return _IndexGather.apply(g, flat=self.flat, shape=self.inputs[0].shape)


def _output_size(op, nd, in_size, kernel, stride, padding, output_size):
    """PyTorch's size: (in - 1) * stride - 2 * padding + kernel, or ``output_size`` (its last
    ``nd`` entries) when it lies strictly within one stride of that."""
    default = tuple((n - 1) * s - 2 * p + k for n, k, s, p in zip(in_size, kernel, stride, padding))
    if output_size is None:
        size = default
    else:
        given = tuple(output_size) if isinstance(output_size, (tuple, list)) else None
        if given is not None and len(given) == nd + 2:
            given = given[2:]
        if given is None or len(given) != nd:
            raise ValueError(f"{op}: output_size must be {nd} sizes (or {nd + 2} with N and C), "
                             f"got {output_size!r}")
        try:
            size = tuple(operator.index(v) for v in given)
        except TypeError:
            raise TypeError(f"{op}: output_size must hold ints, got {output_size!r}") from None
        for a, (o, d, s) in enumerate(zip(size, default, stride)):
            if not d - s < o < d + s:
                raise ValueError(f"{op}: output_size {output_size!r} is invalid: spatial axis {a} "
                                 f"must be between {d - s} and {d + s} (exclusive) for input "
                                 f"size {tuple(in_size)}, kernel {kernel}, stride {stride}, "
                                 f"padding {padding}")
    if any(o < 1 for o in size):
        raise ValueError(f"{op}: the output would be {size} (input size {tuple(in_size)}, kernel "
                         f"{kernel}, stride {stride}, padding {padding})")
    return size


def _unpool(op, nd, x, indices, kernel_size, stride, padding, output_size):
    shape = tuple(x.shape)
    if len(shape) != nd + 2:
        raise ValueError(f"{op}: input must be {nd + 2}-D {LAYOUT[nd]}, got shape {shape}")
    idx = indices._data if isinstance(indices, Tensor) else indices
    if not hasattr(idx, "dtype") or idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be an integer Tensor (a max pool's return_indices), "
                        f"got {type(indices).__name__} of dtype {getattr(idx, 'dtype', None)}")
    if tuple(idx.shape) != shape:
        raise ValueError(f"{op}: indices must have the input's shape {shape}, got "
                         f"{tuple(idx.shape)}")
    kernel = ints(op, "kernel_size", kernel_size, nd, 1)
    stride = kernel if stride is None else ints(op, "stride", stride, nd, 1)
    padding = ints(op, "padding", padding, nd, 0)
    size = _output_size(op, nd, shape[2:], kernel, stride, padding, output_size)
    plane = math.prod(size)
    xp = get_array_module(idx)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= plane):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise ValueError(f"{op}: index {bad} lies outside the output's {size} planes of "
                         f"{plane} elements")
    planes = shape[0] * shape[1]
    flat = idx.reshape(planes, math.prod(shape[2:])).astype(xp.int64) + (
        xp.arange(planes) * plane)[:, None]
    return _MaxUnpool.apply(x, flat=flat.reshape(shape), shape=shape[:2] + size)


@batch_optional(1, paired="indices")
def max_unpool1d(input, indices, kernel_size, stride=None, padding=0,  # noqa: A002
                 output_size=None):
    """The inverse of ``max_pool1d`` on its winners: (N, C, L) values back at ``indices``.

    Args:
        input: the pooled values, (N, C, L).
        indices: ``max_pool1d(..., return_indices=True)``'s, the same shape as x.
        kernel_size, stride, padding: those of the pool (stride defaults to kernel_size).
        output_size: the length to restore (PyTorch's rule: within one stride of the default
            (L - 1) * stride - 2 * padding + kernel_size); a tuple, N and C optional.

    Returns:
        Tensor (N, C, L_out), zero except at the indices.
    """
    x = input  # taken by PyTorch's name, input=
    return _unpool("max_unpool1d", 1, x, indices, kernel_size, stride, padding, output_size)


@batch_optional(2, paired="indices")
def max_unpool2d(input, indices, kernel_size, stride=None, padding=0,  # noqa: A002
                 output_size=None):
    """The inverse of ``max_pool2d`` on its winners: (N, C, H, W) values back at ``indices``.

    Args:
        input: the pooled values, (N, C, H, W).
        indices: ``max_pool2d(..., return_indices=True)``'s (flat per-plane), the shape of x.
        kernel_size, stride, padding: those of the pool (ints or pairs).
        output_size: (h, w) or (N, C, h, w) to restore, as ``max_unpool1d``'s.

    Returns:
        Tensor (N, C, H_out, W_out), zero except at the indices.

    >>> import chainrule as cr
    >>> from chainrule.ops.pool import max_pool2d
    >>> y, i = max_pool2d(cr.tensor([[[[1.0, 2.0], [4.0, 3.0]]]]), 2, return_indices=True)
    >>> max_unpool2d(y, i, 2).tolist()
    [[[[0.0, 0.0], [4.0, 0.0]]]]
    """
    x = input  # taken by PyTorch's name, input=
    return _unpool("max_unpool2d", 2, x, indices, kernel_size, stride, padding, output_size)


@batch_optional(3, paired="indices")
def max_unpool3d(input, indices, kernel_size, stride=None, padding=0,  # noqa: A002
                 output_size=None):
    """The inverse of ``max_pool3d`` on its winners: (N, C, D, H, W) values back at ``indices``.

    The arguments are those of ``max_unpool2d`` with three spatial axes.
    """
    x = input  # taken by PyTorch's name, input=
    return _unpool("max_unpool3d", 3, x, indices, kernel_size, stride, padding, output_size)
