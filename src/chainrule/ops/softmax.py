"""Softmax and log-softmax over an axis: the output layer's probabilities, one per class.

Each backward uses its output y: ``y * (g - sum(g * y))`` for the softmax, ``g - exp(y) * sum(g)``
for its logarithm, so both can be differentiated again.
"""

from __future__ import annotations

import numbers
import warnings

from ..autograd.function import OutputOnly
from ..autograd.tensor import Tensor
from ..backend import get_array_module, quiet
from ._args import dim_or_axis
from ._wide import call_in_float32
from ._zero_d import on_one_axis, scalar_dim
from .activation import _float_input
from .elementwise import cast, exp
from .reduce import sum as _sum

__all__ = ["log_softmax", "softmax"]


def implicit_softmax_dim(op: str, ndim: int, stacklevel: int = 3) -> int:
    """PyTorch's axis for ``F.softmax``/``nn.Softmax`` given no ``dim``: 0 for 0-, 1- and 3-D
    input, else 1 (not the last axis), with PyTorch's deprecation warning.

    ``chainrule.nn.functional`` and the ``nn`` modules follow it so that a ported program gets
    PyTorch's numbers; ``chainrule.functional.softmax`` (NumPy's style) defaults to the last axis.
    """
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to "
                  "include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def normalize_axis(op, axis, ndim, shape):
    """``axis`` as an index in [0, ndim), else a clear error naming ``op`` and the shape."""
    if type(axis) is not int and (not isinstance(axis, numbers.Integral) or isinstance(axis, bool)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for input of shape {shape}")
    return int(axis) % ndim


class Softmax(OutputOnly):
    def forward(self, x):
        xp = get_array_module(x)
        if x.size == 0:  # the maximum of an empty axis is undefined: nothing to normalize
            return xp.empty_like(x)
        with quiet(xp):  # a row of only -inf (a fully masked query) is NaN, silently as PyTorch's
            e = x - x.max(axis=self.axis, keepdims=True)  # shift: exp never overflows
            xp.exp(e, out=e)
            e /= e.sum(axis=self.axis, keepdims=True)
        return e

    def backward(self, g):
        y = self.output
        return y * (g - _sum(g * y, axis=self.axis, keepdims=True))


class LogSoftmax(OutputOnly):
    def forward(self, x):
        xp = get_array_module(x)
        if x.size == 0:
            return xp.empty_like(x)
        with quiet(xp):  # as Softmax's
            shifted = x - x.max(axis=self.axis, keepdims=True)
            return shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, g):
        return g - exp(self.output) * _sum(g, axis=self.axis, keepdims=True)


def softmax(input, axis: int = None, dtype=None, *, dim=None) -> Tensor:  # noqa: A002
    """Softmax exp(x) / sum(exp(x)) along ``axis``, stable (the maximum is subtracted first).

    The backward pass uses the output y: ``g_in = y * (g - sum(g * y, axis))``.

    Args:
        x: input Tensor (logits).
        axis: the axis that sums to 1 (default -1; ``dim`` is PyTorch's name for it).
        dtype: cast ``input`` to this dtype first (PyTorch's option; third, as in
            ``torch.softmax(x, 1, torch.float64)`` and ``x.softmax(1, torch.float64)``).

    Shape:
        any -> same

    >>> import chainrule as cr
    >>> cr.F.softmax(cr.tensor([0.0, 0.0, 1000.0])).tolist()
    [0.0, 0.0, 1.0]
    """
    axis = dim_or_axis("softmax", axis, dim, -1)
    if dtype is not None and isinstance(input, Tensor):
        # first, as PyTorch: an integer Tensor with a float dtype= works
        input = cast(input, dtype)  # noqa: A001
    input = _float_input("softmax", input)  # noqa: A001
    if dtype is not None:
        input = cast(input, dtype)  # noqa: A001
    if scalar_dim(input, axis):
        return on_one_axis(softmax, input)
    return _in_float32(Softmax, input, normalize_axis("softmax", axis, input.ndim, input.shape))


def log_softmax(x, axis: int = None, dtype=None, *, dim=None) -> Tensor:
    """log(softmax(x)) along ``axis``, computed stably as ``x - max - log(sum(exp(x - max)))``.

    The backward pass uses the output y: ``g_in = g - exp(y) * sum(g, axis)``.

    Args:
        x: input Tensor (logits).
        axis: the axis over which the probabilities sum to 1 (default -1; or ``dim``).
        dtype: cast ``x`` to this dtype first (PyTorch's option).

    Shape:
        any -> same
    """
    axis = dim_or_axis("log_softmax", axis, dim, -1)
    if dtype is not None and isinstance(x, Tensor):
        x = cast(x, dtype)  # first, as PyTorch: an integer Tensor with a float dtype= works
    x = _float_input("log_softmax", x)
    if dtype is not None:
        x = cast(x, dtype)
    if scalar_dim(x, axis):
        return on_one_axis(log_softmax, x)
    return _in_float32(LogSoftmax, x, normalize_axis("log_softmax", axis, x.ndim, x.shape))


def _in_float32(op, x, axis):
    """float16 (given, or asked for by ``dtype``) as PyTorch's: in float32, rounded once; in
    float16 two in three values differed from PyTorch's and the gradients were units off."""
    if x.dtype == "float16":
        return call_in_float32(op.apply, (x,), {"axis": axis})
    return op.apply(x, axis=axis)


Tensor.softmax = softmax
Tensor.log_softmax = log_softmax
