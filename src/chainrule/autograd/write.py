"""The recorded write ``out[index] = v`` (PyTorch's CopySlices): the ``WriteInto`` node.

``autograd.inplace_record`` writes the values into the buffer's own array, as every in-place
method does (aliases see them, the version counts the change), and then makes a ``WriteInto``
node the buffer's ``_ctx``: the buffer's gradient reaches ``v`` at the written positions, and the
earlier node (``chained``: an earlier write, or the op that computed the buffer) at the positions
this write left alone. A write's backward never reads values, only the index.
"""

from __future__ import annotations

import math
import warnings

from ..backend import get_array_module
from .function import Function
from .tensor import Tensor

__all__ = ["PutAt", "TakeAt", "WriteInto", "put", "sequence_as_tuple", "take"]


def _sequence_like(i) -> bool:
    return (
        i is None
        or i is Ellipsis
        or isinstance(i, (list, tuple, range, slice, Tensor))
        or (getattr(i, "ndim", 0) > 0)
    )


def sequence_as_tuple(index):
    """A list index read as PyTorch 2.13 reads it: a list of fewer than 32 items holding a
    sequence, a Tensor, an array, a slice, None or Ellipsis is a tuple of indices, with PyTorch's
    deprecation warning (``x[[rows, cols]]`` is ``x[rows, cols]``, where NumPy would stack the
    two lists into one index array); any other index is returned as it is."""
    if type(index) is not list or len(index) >= 32 or not any(map(_sequence_like, index)):
        return index
    warnings.warn(
        "Using a non-tuple sequence for multidimensional indexing is deprecated (as in PyTorch, "
        "which reads it as a tuple, as chainrule does); use x[tuple(seq)] instead of x[seq]",
        UserWarning,
        stacklevel=3,
    )
    return tuple(index)


def take(arr, index):
    """``arr[index]`` by chainrule's rule (an int beside an array selects first; ``ints_first``)."""
    from .inplace import ints_first  # a sibling module that imports this one

    steps = ints_first(index)
    return arr[index] if steps is None else arr[steps[0]][steps[1]]


def put(arr, index, value) -> None:
    """``arr[index] = value`` by the rule of ``take`` (the ints' selection is a view of ``arr``)."""
    from .inplace import ints_first

    steps = ints_first(index)
    if steps is None:
        arr[index] = value
    else:
        arr[steps[0]][steps[1]] = value


class WriteInto(Function):
    """The buffer after ``buffer[index] = value``; inputs ``(value,)`` for a buffer that had no
    gradient, ``(earlier, value)`` for one an earlier write made (``earlier``: that write's output,
    handed over). Settings: ``index`` (arrays, ints, slices...), ``chained``."""

    complex_grad = True  # its backward selects and masks: right for complex values as it is
    reads_inputs = False  # the index and the value's shape: `z[0] = z[1]` changes what it wrote

    def backward(self, g):
        value = self.inputs[-1]
        gv = None
        if self.needs_input_grad[-1]:
            gv = _reduce_to(g[self.index], value._data.shape)
        if not self.chained:
            return (gv,)
        ge = None
        if self.needs_input_grad[0]:  # the positions written here hide the earlier values
            keep = get_array_module(g._data).ones(g._data.shape, dtype=g._data.dtype)
            put(keep, self.index, 0)
            ge = g * Tensor(keep)
        return ge, gv


def _reduce_to(r: Tensor, shape) -> Tensor:
    """The gradient ``r`` of the written region summed to the value's ``shape``: the value was
    broadcast to the region, NumPy's way (leading size-1 axes of the value dropped first)."""
    if r._data.shape == shape:
        return r
    if len(shape) > r._data.ndim:
        r = r.reshape((1,) * (len(shape) - r._data.ndim) + r._data.shape)
    lead = r._data.ndim - len(shape)
    if lead:
        r = r.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, (a, b) in enumerate(zip(r._data.shape, shape)) if b == 1 and a != 1)
    return r.sum(axis=axes, keepdims=True) if axes else r


class TakeAt(Function):
    """The elements of ``source`` at the flat ``positions`` (an int array of the output's shape):
    a view rebuilt from its root after the root was written (``inplace_record._change_view``)."""

    complex_grad = True  # it and the other write nodes move values, with real coefficients
    reads_inputs = False  # backward puts the gradient back by position

    def forward(self, source):
        return source.reshape(-1)[self.positions]

    def backward(self, g):
        return PutAt.apply(g, positions=self.positions, shape=self.inputs[0]._data.shape)


class PutAt(Function):
    """Zeros of ``shape`` with ``g`` at the flat ``positions``: ``TakeAt``'s adjoint."""

    complex_grad = True

    def forward(self, g):
        flat = get_array_module(g).zeros(math.prod(self.shape), dtype=g.dtype)
        flat[self.positions] = g
        return flat.reshape(self.shape)

    def backward(self, g):
        return TakeAt.apply(g, positions=self.positions)
