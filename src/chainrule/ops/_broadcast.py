"""Undoing broadcasting: the one place where a gradient is summed back to its input's shape."""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module, numpy

__all__ = ["BroadcastTo", "SumTo", "broadcast_to", "sum_to"]


def _reduced_axes(big: tuple[int, ...], small: tuple[int, ...]) -> tuple[int, ...]:
    """Axes of ``big`` that broadcasting from ``small`` created or stretched."""
    lead = len(big) - len(small)
    axes = list(range(lead))
    axes += [lead + i for i, n in enumerate(small) if n == 1 and big[lead + i] != 1]
    return tuple(axes)


class SumTo(Function):
    """Sum a broadcast gradient back down to ``shape`` (the adjoint of broadcasting)."""

    complex_grad = True

    def forward(self, x):
        axes = _reduced_axes(x.shape, self.shape)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(self.shape)

    def backward(self, g):
        return broadcast_to(g, self.inputs[0].shape)


class BroadcastTo(Function):
    complex_grad = True

    def forward(self, x):
        return get_array_module(x).broadcast_to(x, self.shape)

    def backward(self, g):
        return sum_to(g, self.inputs[0].shape)


def sum_to(x, shape):
    """Sum ``x`` over its broadcast axes so that it has ``shape`` (identity when it already has)."""
    shape = tuple(shape)
    if (x._data.shape if isinstance(x, Tensor) else x.shape) == shape:
        return x
    return SumTo.apply(x, shape=shape)


def broadcast_to(x, shape):
    """Broadcast ``x`` to ``shape`` like NumPy (a read-only view); the gradient is summed back."""
    shape = tuple(shape)
    have = x._data.shape if isinstance(x, Tensor) else x.shape
    if have == shape:
        return x
    try:
        numpy.broadcast_shapes(have, shape)  # shapes only: NumPy's rule serves every device
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {have} to {shape}") from None
    return BroadcastTo.apply(x, shape=shape)
