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
from ..kernels import K
from ._windows import pool_setup
from .activation import ReLUMask
from .shape import squeeze, unsqueeze

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool1d_relu", "max_pool2d", "max_pool2d_relu",
    "min_pool1d", "min_pool2d",
]


class _ExtremumPool(Function):
    """Max (``largest``) or min pooling; backward routes the gradient to each window's winner."""

    def forward(self, x):
        return K.extremum_pool(x, self.geom, self.largest, compiled=self.recording)

    def backward(self, g):
        return _RouteToWinners.apply(g, x=self.inputs[0]._data, y=self.output._data, geom=self.geom,
                                     largest=self.largest)


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

    def backward(self, g):
        return _AvgPoolAdjoint.apply(g, geom=self.geom, count_include_pad=self.count_include_pad)


class _AvgPoolAdjoint(Function):
    """Spread each window's gradient evenly over it: the adjoint (and gradient) of avg pooling."""

    def forward(self, g):
        return K.spread_over_windows(g, self.geom, self.count_include_pad)

    def backward(self, gg):
        return _AvgPool.apply(gg, geom=self.geom, count_include_pad=self.count_include_pad)


def _pool(fn, op, nd, x, kernel_size, stride, padding, *, floating=False, **options):
    """Check the arguments of ``op`` and apply the pool ``fn`` (with ``options``), a 1-D pool as a
    2-D one: its sequences (N, C, L) seen as images one row high, (N, C, 1, L)."""
    a = x._data if isinstance(x, Tensor) else x
    geom = pool_setup(op, nd, floating, a.shape, a.dtype, kernel_size, stride, padding)
    if nd == 2:
        return fn.apply(x, geom=geom, **options)
    return squeeze(fn.apply(unsqueeze(x, 2), geom=geom, **options), 2)


def torch_defaults(op, *, dilation=1, ceil_mode=False, return_indices=False,
                   divisor_override=None) -> None:
    """Accept PyTorch's pooling arguments at the values chainrule computes (windows without gaps,
    floor-mode output sizes, no indices, the usual divisor); refuse the others by name."""
    if not (dilation == 1 or (isinstance(dilation, (tuple, list)) and set(dilation) == {1})):
        raise ValueError(f"{op}: dilation={dilation!r} is not supported (windows without gaps: 1)")
    if ceil_mode is not False:
        raise ValueError(f"{op}: ceil_mode={ceil_mode!r} is not supported (output sizes round "
                         "down, PyTorch's default ceil_mode=False)")
    if return_indices is not False:
        raise ValueError(f"{op}: return_indices={return_indices!r} is not supported (the "
                         "backward pass finds each window's winner itself)")
    if divisor_override is not None:
        raise ValueError(f"{op}: divisor_override={divisor_override!r} is not supported")


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of a batch of sequences (N, C, L) -> (N, C, L_out).

    Args:
        x: input of shape (N, C, L).
        kernel_size: window length.
        stride: step between windows (default: ``kernel_size``).
        padding: -inf added at both ends (at most half the kernel).

    Returns:
        Tensor of shape (N, C, (L + 2 * padding - kernel_size) // stride + 1). The gradient goes to
        the first maximum of each window (PyTorch's rule) and adds up where windows overlap.

    PyTorch's ``dilation``, ``ceil_mode`` and ``return_indices`` are accepted at their defaults.
    """
    if dilation != 1 or ceil_mode or return_indices:  # PyTorch's arguments, beyond defaults
        torch_defaults("max_pool1d", dilation=dilation, ceil_mode=ceil_mode,
                       return_indices=return_indices)
    return _pool(_ExtremumPool, "max_pool1d", 1, x, kernel_size, stride, padding, largest=True)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of a batch of images (N, C, H, W) -> (N, C, H_out, W_out).

    Args:
        x: input of shape (N, C, H, W).
        kernel_size: window size, an int or (kh, kw).
        stride: step between windows (default: ``kernel_size``).
        padding: -inf border (at most half the kernel), an int or (ph, pw).

    Returns:
        Tensor of shape (N, C, H_out, W_out), H_out = (H + 2 * padding - kh) // stride + 1. The
        gradient goes to the first maximum of each window in row-major order (PyTorch's rule),
        summed over overlapping windows. PyTorch's ``dilation``, ``ceil_mode`` and
        ``return_indices`` are accepted at their defaults (1, False, False).

    >>> import chainrule as cr
    >>> max_pool2d(cr.tensor([[[[1.0, 2.0], [4.0, 3.0]]]]), 2).tolist()
    [[[[4.0]]]]
    """
    if dilation != 1 or ceil_mode or return_indices:  # PyTorch's arguments, beyond defaults
        torch_defaults("max_pool2d", dilation=dilation, ceil_mode=ceil_mode,
                       return_indices=return_indices)
    return _pool(_ExtremumPool, "max_pool2d", 2, x, kernel_size, stride, padding, largest=True)


def max_pool1d_relu(x, kernel_size, stride=None, padding=0):
    """``relu(max_pool1d(x, ...))`` as one op, equal to ``max_pool1d(relu(x), ...)``.

    The arguments are those of ``max_pool1d``; values and gradients are those of ReLU followed
    by ``max_pool1d``, the ReLU run over the pooled output.
    """
    return _pool(_MaxPoolReLU, "max_pool1d_relu", 1, x, kernel_size, stride, padding, largest=True)


def max_pool2d_relu(x, kernel_size, stride=None, padding=0):
    """``relu(max_pool2d(x, ...))`` as one op, equal to ``max_pool2d(relu(x), ...)``.

    ReLU and max pooling commute (both are monotone, and max(max(a, b), 0) = max(max(a, 0),
    max(b, 0))), so a ReLU before a pool may run after it, over an array kh * kw times smaller.
    Values and gradients are those of ``relu`` then ``max_pool2d`` (the same winners get the
    gradient); this is the fused op a model uses for that pair (e.g. through ``nn.fuse``).

    Args:
        x: input of shape (N, C, H, W).
        kernel_size, stride, padding: as in ``max_pool2d``.

    Returns:
        Tensor of shape (N, C, H_out, W_out), all entries >= 0.

    >>> import chainrule as cr
    >>> max_pool2d_relu(cr.tensor([[[[-1.0, -2.0], [4.0, 3.0]], [[-1.0, -2.0], [-4.0, -3.0]]]]),
    ...                 2).tolist()
    [[[[4.0]], [[0.0]]]]
    """
    return _pool(_MaxPoolReLU, "max_pool2d_relu", 2, x, kernel_size, stride, padding, largest=True)


def min_pool1d(x, kernel_size, stride=None, padding=0):
    """Min over sliding windows of (N, C, L): ``max_pool1d`` with min, +inf padding, first min."""
    return _pool(_ExtremumPool, "min_pool1d", 1, x, kernel_size, stride, padding, largest=False)


def min_pool2d(x, kernel_size, stride=None, padding=0):
    """Min pooling (the lecture's): like ``max_pool2d``, +inf padding, gradient to the first min.

    Args:
        x: input of shape (N, C, H, W).
        kernel_size, stride, padding: as in ``max_pool2d``.

    Returns:
        Tensor of shape (N, C, H_out, W_out).
    """
    return _pool(_ExtremumPool, "min_pool2d", 2, x, kernel_size, stride, padding, largest=False)


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over sliding windows of (N, C, L); zero padding, counted unless told otherwise.

    Args:
        x: input of shape (N, C, L).
        kernel_size, stride, padding: as in ``max_pool1d``.
        ceil_mode: PyTorch's argument, accepted at its default (False).
        count_include_pad: divide by the kernel size (True) or by the non-padding elements.

    Returns:
        Tensor of shape (N, C, L_out).
    """
    if ceil_mode:
        torch_defaults("avg_pool1d", ceil_mode=ceil_mode)
    return _pool(_AvgPool, "avg_pool1d", 1, x, kernel_size, stride, padding, floating=True,
                 count_include_pad=bool(count_include_pad))


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over sliding windows of (N, C, H, W), as PyTorch's ``avg_pool2d``.

    Args:
        x: input of shape (N, C, H, W).
        kernel_size, stride, padding: as in ``max_pool2d`` (zero padding).
        ceil_mode, divisor_override: PyTorch's arguments, accepted at their defaults (False,
            None), in PyTorch's order.
        count_include_pad: divide by kh * kw (True) or by the number of non-padding elements.

    Returns:
        Tensor of shape (N, C, H_out, W_out).
    """
    if ceil_mode or divisor_override is not None:
        torch_defaults("avg_pool2d", ceil_mode=ceil_mode, divisor_override=divisor_override)
    return _pool(_AvgPool, "avg_pool2d", 2, x, kernel_size, stride, padding, floating=True,
                 count_include_pad=bool(count_include_pad))


# Re-exported so that the whole pooling family is reachable from here (``nn.pool`` uses them).
from .adaptive_pool import (  # noqa: E402 - adaptive_pool imports _ExtremumPool from this module
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
)
