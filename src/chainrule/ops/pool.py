"""Pooling (1-D and 2-D): max, min (the lecture's min pooling), average and their adaptive forms.

Max (min) pooling takes the extremum of every window, ``y[n, c, a, b] = max_{i, j} x[n, c,
a * sh + i, b * sw + j]`` (-inf padding; +inf for min), and saves nothing: its gradient goes to
each window's winner, the first input (never the padding) in row-major order equal to the output,
or the last NaN of a NaN window (PyTorch's rules), summed where windows overlap. Average pooling
takes the mean; its gradient is spread evenly over the window. Each gradient is a Function whose
own backward is its adjoint (routing and gathering at the winners; spreading and averaging), so
the gradients are differentiable again.

``max_pool2d_relu`` is ReLU then max pooling as one explicit op. The Functions take 2-D images
(N, C, H, W); a 1-D pool is the 2-D one of its sequences seen as images one row high (``_pool``).
The array work is in ``kernels.pooling``, with its plain references (run in
``chainrule.reference_mode()``). The adaptive pools live in ``adaptive_pool`` and are re-exported
here.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..kernels import K
from ..kernels.pooling import fill_value
from ._pool_index import max_pool_indices
from ._unbatched import add_batch, drop_batch, input_shape
from ._windows import ints, no_stride, pool_setup, positive_int
from .activation import ReLUMask, _kept
from .elementwise import mul
from .join import pad
from .pool_integer import integer_average
from .shape import squeeze, unsqueeze

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool1d_relu", "max_pool2d", "max_pool2d_relu",
    "min_pool1d", "min_pool2d",
]

_INT64 = get_array_module().dtype("int64")  # PyTorch averages it (pool_integer)


class _ExtremumPool(Function):
    """Max (``largest``) or min pooling; backward routes the gradient to each window's winner."""

    def forward(self, x):
        return K.extremum_pool(x, self.geom, self.largest, compiled=self.recording)

    def backward(self, g):  # recorded, x keeps a zero gradient through it, as PyTorch's
        return _kept(_RouteToWinners.apply(g, x=self.inputs[0]._data, y=self.output._data,
                                           geom=self.geom, largest=self.largest), self.inputs[0])


class _MaxPoolReLU(_ExtremumPool):
    """``relu(max_pool(x))``, which equals max pooling of ``relu(x)``: the two commute, and the
    ReLU then runs over the pooled (smaller) array.

    Backward masks the gradient by output > 0, as ReLU's does, then routes it to the winners.
    The winners are found by comparing x with this op's output: where the output is positive it
    is the window's maximum; elsewhere the masked gradient is zero, so no winner is needed.
    """

    largest = True

    def forward(self, x):
        return K.relu(_ExtremumPool.forward(self, x), inplace=True)

    def backward(self, g):
        return _ExtremumPool.backward(self, ReLUMask.apply(g, self.output))


class _RouteToWinners(Function):
    """Each window's gradient sent to its winner in ``x`` (given ``y``, the pool's output)."""

    def forward(self, g):
        return K.route_to_winners(g, self.x, self.y, self.geom, self.largest)

    def backward(self, gg):
        return _GatherAtWinners.apply(gg, x=self.x, y=self.y, geom=self.geom,
                                      largest=self.largest)


class _GatherAtWinners(Function):
    """The value at each window's winner: max pooling with its winners fixed (the adjoint)."""

    def forward(self, v):
        return K.gather_at_winners(v, self.x, self.y, self.geom, self.largest)

    def backward(self, g):
        return _RouteToWinners.apply(g, x=self.x, y=self.y, geom=self.geom, largest=self.largest)


class _AvgPool(Function):
    """Average pooling; backward spreads each window's gradient evenly over it."""

    def forward(self, x):
        return K.average_pool(x, self.geom, self.count_include_pad)

    def backward(self, g):  # recorded, x keeps a zero gradient through it, as PyTorch's
        spread = _AvgPoolAdjoint.apply(g, geom=self.geom,
                                       count_include_pad=self.count_include_pad)
        return _kept(spread, self.inputs[0])


class _AvgPoolAdjoint(Function):
    """Spread each window's gradient evenly over it: the adjoint (and gradient) of avg pooling."""

    def forward(self, g):
        return K.spread_over_windows(g, self.geom, self.count_include_pad)

    def backward(self, gg):
        return _AvgPool.apply(gg, geom=self.geom, count_include_pad=self.count_include_pad)


def _pool(fn, op, nd, x, kernel_size, stride, padding, *, floating=False, ceil_mode=False,
          **options):
    """Check the arguments of ``op`` and apply the pool ``fn`` (with ``options``), a 1-D pool as a
    2-D one: its sequences (N, C, L) seen as images one row high, (N, C, 1, L). An unbatched
    input (C, *spatial) runs as a batch of one.

    ``ceil_mode`` (PyTorch's): output sizes round up, so a last, partial window may run past the
    padded input; that part is added to the input as values that never win (max, min pools) or
    zeros (average pools, whose divisors ``_average`` sets).
    """
    a = x._data if isinstance(x, Tensor) else x
    if len(input_shape(op, a)) == nd + 1:  # unbatched (C, *spatial), as PyTorch takes
        return drop_batch(_pool(fn, op, nd, add_batch(x), kernel_size, stride, padding,
                                floating=floating, ceil_mode=ceil_mode, **options))
    geom = pool_setup(op, nd, floating, a.shape, a.dtype, ceil_mode, kernel_size, stride,
                      padding)
    if ceil_mode:
        extra = ceil_extra(geom)
        if any(extra):
            fill = 0 if fn is _AvgPool else fill_value(get_array_module(a), a.dtype,
                                                       options["largest"])
            x = pad(x, [(0, 0)] * (a.ndim - nd) + [(0, e) for e in extra[2 - nd:]], value=fill)
            a = x._data
            geom = pool_setup(op, nd, floating, a.shape, a.dtype, ceil_mode, kernel_size,
                              stride, padding)
    if nd == 2:
        return fn.apply(x, geom=geom, **options)
    return squeeze(fn.apply(unsqueeze(x, 2), geom=geom, **options), 2)


def _ndim(x, op):
    return len(input_shape(op, x))


def ceil_extra(geom):
    """How far ``ceil_mode``'s last windows run past the padded input, per axis (H, W).

    PyTorch's rule: ``out = ceil((n + 2p - k) / s) + 1``, less one if the last window would start
    in the right padding; the extra is what that last window covers beyond ``n + 2p``.
    """
    extra = []
    for n, k, s, p in zip(geom.size, geom.kernel, geom.stride, geom.padding):
        out = -(-(n + 2 * p - k) // s) + 1
        if (out - 1) * s >= n + p:
            out -= 1
        extra.append(max(0, (out - 1) * s + k - (n + 2 * p)))
    return tuple(extra)


def _window_sizes(geom, count_include_pad):
    """PyTorch's divisor for each window of an average pool in ``ceil_mode`` along each axis:
    the window cut at the end of the padding, and (without ``count_include_pad``) to the input."""
    sizes = []
    for n, k, s, p, extra in zip(geom.size, geom.kernel, geom.stride, geom.padding,
                                 ceil_extra(geom)):
        row = []
        for o in range((n + 2 * p + extra - k) // s + 1):
            start, end = o * s - p, min(o * s - p + k, n + p)
            row.append(end - start if count_include_pad else min(end, n) - max(start, 0))
        sizes.append(row)
    return sizes


def _average(op, nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
             divisor_override):
    """Average pooling; with ``ceil_mode`` or ``divisor_override``, a window's sum (the mean that
    counts zero padding, times kh * kw) over PyTorch's divisor for it."""
    if getattr(x._data if isinstance(x, Tensor) else x, "dtype", None) == _INT64:
        return integer_average(op, nd, x, kernel_size, stride, padding, ceil_mode,
                               count_include_pad, divisor_override)  # PyTorch's, no gradient
    if not ceil_mode and divisor_override is None:
        return _pool(_AvgPool, op, nd, x, kernel_size, stride, padding, floating=True,
                     count_include_pad=count_include_pad)
    a = x._data if isinstance(x, Tensor) else x
    if len(input_shape(op, a)) == nd + 1:  # unbatched, as in _pool
        return drop_batch(_average(op, nd, add_batch(x), kernel_size, stride, padding, ceil_mode,
                                   count_include_pad, divisor_override))
    geom = pool_setup(op, nd, True, a.shape, a.dtype, ceil_mode, kernel_size, stride, padding)
    means = _pool(_AvgPool, op, nd, x, kernel_size, stride, padding, floating=True,
                  ceil_mode=ceil_mode, count_include_pad=True)
    window = geom.kernel[0] * geom.kernel[1]
    if divisor_override is not None:
        if (divisor := positive_int(divisor_override)) is None:
            raise ValueError(f"{op}: divisor_override must be a positive int or None, got "
                             f"{divisor_override!r}")
        return mul(means, window / divisor)
    xp = get_array_module(a)
    rows, cols = (xp.asarray(v, dtype=a.dtype) for v in _window_sizes(geom, count_include_pad))
    scale = window / (rows[:, None] * cols[None, :])
    return mul(means, scale if nd == 2 else scale[0])


def torch_defaults(op, *, ceil_mode=False, return_indices=False) -> None:
    """Check that ``ceil_mode`` and ``return_indices`` are bools."""
    if not isinstance(ceil_mode, bool):
        raise TypeError(f"{op}: ceil_mode must be a bool, got {ceil_mode!r}")
    if not isinstance(return_indices, bool):
        raise TypeError(f"{op}: return_indices must be a bool, got {return_indices!r}")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False, return_indices=False):
    """Max over sliding windows of a batch of sequences (N, C, L) -> (N, C, L_out).

    Args:
        input: of shape (N, C, L).
        kernel_size: window length.
        stride: step between windows (default: ``kernel_size``).
        padding: -inf added at both ends (at most half the kernel).
        ceil_mode: round the output length up (a last window may be partial), as PyTorch's.

        return_indices: also return each window's winner as an index into its sequence
            (PyTorch's, what ``max_unpool1d`` takes).

    Returns:
        Tensor of shape (N, C, (L + 2 * padding - kernel_size) // stride + 1) (and the int64
        indices). The gradient goes to the first maximum of each window (PyTorch's rule) and
        adds up where windows overlap. ``dilation`` (PyTorch's) spaces a window's elements; its
        windows are found by the winners' indices (slower than the default 1).
    """
    x = input  # taken by PyTorch's name, input=
    if dilation != 1 or ceil_mode is not False or return_indices:  # beyond the defaults
        torch_defaults("max_pool1d", ceil_mode=ceil_mode, return_indices=return_indices)
        if _ndim(x, "max_pool1d") == 2:  # unbatched, a batch of one (the indices too), as in _pool
            return drop_batch(max_pool1d(add_batch(x), kernel_size, stride, padding, dilation,
                                         ceil_mode, return_indices))
        if dilation != 1 and dilation != (1,):  # windows with gaps
            y, idx = dilated_max_pool("max_pool1d", 1, x, kernel_size, stride, padding,
                                      dilation, ceil_mode)
            return (y, idx) if return_indices else y
    y = _pool(_ExtremumPool, "max_pool1d", 1, x, kernel_size, stride, padding, largest=True,
              ceil_mode=ceil_mode)
    return (y, _indices(y, x, kernel_size, stride, padding)) if return_indices else y


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False, return_indices=False):
    """Max over sliding windows of a batch of images (N, C, H, W) -> (N, C, H_out, W_out).

    Args:
        input: of shape (N, C, H, W).
        kernel_size: window size, an int or (kh, kw).
        stride: step between windows (default: ``kernel_size``).
        padding: -inf border (at most half the kernel), an int or (ph, pw).

    Returns:
        Tensor of shape (N, C, H_out, W_out), H_out = (H + 2 * padding - kh) // stride + 1. The
        gradient goes to the first maximum of each window in row-major order (PyTorch's rule),
        summed over overlapping windows. ``ceil_mode=True`` rounds the output sizes up, as
        PyTorch's (a last window may be partial). ``return_indices=True`` also returns each
        winner as a flat index into its (H, W) plane (PyTorch's, for ``max_unpool2d``).
        ``dilation`` (PyTorch's) spaces a window's elements, through the winners' indices.

    >>> import chainrule as cr
    >>> max_pool2d(cr.tensor([[[[1.0, 2.0], [4.0, 3.0]]]]), 2).tolist()
    [[[[4.0]]]]
    """
    x = input  # taken by PyTorch's name, input=
    if dilation != 1 or ceil_mode is not False or return_indices:  # beyond the defaults
        torch_defaults("max_pool2d", ceil_mode=ceil_mode, return_indices=return_indices)
        if _ndim(x, "max_pool2d") == 3:  # unbatched, a batch of one (the indices too), as in _pool
            return drop_batch(max_pool2d(add_batch(x), kernel_size, stride, padding, dilation,
                                         ceil_mode, return_indices))
        if dilation != 1 and dilation != (1, 1):  # windows with gaps
            y, idx = dilated_max_pool("max_pool2d", 2, x, kernel_size, stride, padding,
                                      dilation, ceil_mode)
            return (y, idx) if return_indices else y
    y = _pool(_ExtremumPool, "max_pool2d", 2, x, kernel_size, stride, padding, largest=True,
              ceil_mode=ceil_mode)
    return (y, _indices(y, x, kernel_size, stride, padding)) if return_indices else y


def _indices(y, x, kernel_size, stride, padding):
    """The winners of the (checked) max pool of ``x`` to ``y``, PyTorch's ``return_indices``."""
    nd = y.ndim - 2
    kernel = ints("max_pool", "kernel_size", kernel_size, nd, 1)
    stride = kernel if no_stride(stride) else ints("max_pool", "stride", stride, nd, 1)
    return max_pool_indices(x, kernel, stride, ints("max_pool", "padding", padding, nd, 0),
                            y.shape[2:])


def max_pool1d_relu(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """``relu(max_pool1d(x, ...))`` as one op, equal to ``max_pool1d(relu(x), ...)``.

    The arguments are those of ``max_pool1d``; values and gradients are those of ReLU followed
    by ``max_pool1d``, the ReLU run over the pooled output.
    """
    if ceil_mode is not False:
        torch_defaults("max_pool1d_relu", ceil_mode=ceil_mode)
    return _pool(_MaxPoolReLU, "max_pool1d_relu", 1, x, kernel_size, stride, padding, largest=True,
                 ceil_mode=ceil_mode)


def max_pool2d_relu(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """``relu(max_pool2d(x, ...))`` as one op, equal to ``max_pool2d(relu(x), ...)``.

    ReLU and max pooling commute (both are monotone, and max(max(a, b), 0) = max(max(a, 0),
    max(b, 0))), so a ReLU before a pool may run after it, over an array kh * kw times smaller.
    Values and gradients are those of ``relu`` then ``max_pool2d`` (the same winners get the
    gradient); this is the fused op a model uses for that pair (e.g. through ``nn.fuse``).

    Args:
        x: input of shape (N, C, H, W).
        kernel_size, stride, padding, ceil_mode: as in ``max_pool2d``.

    Returns:
        Tensor of shape (N, C, H_out, W_out), all entries >= 0.

    >>> import chainrule as cr
    >>> max_pool2d_relu(cr.tensor([[[[-1.0, -2.0], [4.0, 3.0]], [[-1.0, -2.0], [-4.0, -3.0]]]]),
    ...                 2).tolist()
    [[[[4.0]], [[0.0]]]]
    """
    if ceil_mode is not False:
        torch_defaults("max_pool2d_relu", ceil_mode=ceil_mode)
    return _pool(_MaxPoolReLU, "max_pool2d_relu", 2, x, kernel_size, stride, padding, largest=True,
                 ceil_mode=ceil_mode)


def min_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Min over sliding windows of (N, C, L): ``max_pool1d`` with min, +inf padding, first min."""
    if ceil_mode is not False:
        torch_defaults("min_pool1d", ceil_mode=ceil_mode)
    return _pool(_ExtremumPool, "min_pool1d", 1, x, kernel_size, stride, padding, largest=False,
                 ceil_mode=ceil_mode)


def min_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Min pooling (the lecture's): like ``max_pool2d``, +inf padding, gradient to the first min.

    Args:
        x: input of shape (N, C, H, W).
        kernel_size, stride, padding, ceil_mode: as in ``max_pool2d``.

    Returns:
        Tensor of shape (N, C, H_out, W_out).
    """
    if ceil_mode is not False:
        torch_defaults("min_pool2d", ceil_mode=ceil_mode)
    return _pool(_ExtremumPool, "min_pool2d", 2, x, kernel_size, stride, padding, largest=False,
                 ceil_mode=ceil_mode)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True):
    """Mean over sliding windows of (N, C, L); zero padding, counted unless told otherwise.

    Args:
        input: of shape (N, C, L).
        kernel_size, stride, padding, ceil_mode: as in ``max_pool1d``; a partial last window
            of ``ceil_mode`` divides by its part inside the padded input (PyTorch's rule).
        count_include_pad: divide by the kernel size (True) or by the non-padding elements.

    Returns:
        Tensor of shape (N, C, L_out).
    """
    x = input  # taken by PyTorch's name, input=
    if ceil_mode is not False:
        torch_defaults("avg_pool1d", ceil_mode=ceil_mode)
    return _average("avg_pool1d", 1, x, kernel_size, stride, padding, ceil_mode,
                    bool(count_include_pad), None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """Mean over sliding windows of (N, C, H, W), as PyTorch's ``avg_pool2d``.

    Args:
        input: of shape (N, C, H, W).
        kernel_size, stride, padding: as in ``max_pool2d`` (zero padding).
        ceil_mode: round the output sizes up; a partial last window divides by its part inside
            the padded input (PyTorch's rule).
        count_include_pad: divide by kh * kw (True) or by the number of non-padding elements.
        divisor_override: divide every window's sum by this int instead.

    Returns:
        Tensor of shape (N, C, H_out, W_out).
    """
    x = input  # taken by PyTorch's name, input=
    if ceil_mode is not False:
        torch_defaults("avg_pool2d", ceil_mode=ceil_mode)
    return _average("avg_pool2d", 2, x, kernel_size, stride, padding, ceil_mode,
                    bool(count_include_pad), divisor_override)


# Re-exported so that the whole pooling family is reachable from here (``nn.pool`` uses them).
from .adaptive_pool import (  # noqa: E402 - adaptive_pool imports _ExtremumPool from this module
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
)
from .unpool import dilated_max_pool  # noqa: E402 - unpool imports adaptive_pool, which needs pool
