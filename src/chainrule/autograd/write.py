"""The one recorded in-place op: ``out[index] = v`` into a fresh buffer (PyTorch's CopySlices).

``autograd.inplace`` writes the values into the buffer's own array, as every in-place method does
(aliases see them, the version counts the change), and then makes a ``WriteInto`` node the
buffer's ``_ctx``: the buffer's gradient reaches ``v`` at the written positions, and, for a buffer
written before (``out[0] = h0; out[1] = h1``), the earlier write's node at the positions this
write left alone. Only a buffer that shares its memory with no other tensor is written this way
(``inplace.record_write`` checks it); anything else keeps the refusal of ``inplace.check_values``.

A write's backward never reads values, only the index, so the earlier node's output can be handed
over to a stand-in (``_hand_over``) holding the same memory at the version that node made: the
backward walk then finds both nodes' outputs unchanged, while an op that read the buffer before
the write still sees it changed and refuses, as for any in-place change.
"""

from __future__ import annotations

import weakref

from ..backend import get_array_module
from .function import Function
from .tensor import Tensor

__all__ = ["WriteInto", "attach", "put", "take"]


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


def _hand_over(node, buffer: Tensor) -> Tensor:
    """A stand-in for ``buffer`` as the output of the earlier write ``node``: the same memory, a
    count of its own at the version ``node`` made, attached to ``node`` in the buffer's place.
    (A node already released by a backward keeps no version: the stand-in then leads to the
    "already freed" error of a second backward through it, as it should.)"""
    standin = Tensor(buffer._data)
    standin._counter = [getattr(node, "_out_versions", (0,))[0]]
    standin.requires_grad = True
    standin._ctx = node
    standin._out_idx = 0
    node._outputs = (weakref.ref(standin),)
    return standin


def attach(t: Tensor, index, value: Tensor) -> None:
    """Make a ``WriteInto`` node ``t``'s ``_ctx`` after ``t[index] = value`` was written (and
    counted); the bookkeeping is ``Function.apply``'s for a single-output node."""
    earlier = t._ctx
    node = object.__new__(WriteInto)
    node.index = index
    node.chained = earlier is not None
    inputs = (_hand_over(earlier, t), value) if node.chained else (value,)
    node.recording = True
    node.inputs = inputs
    node.needs_input_grad = tuple(x.requires_grad for x in inputs)
    node._versions = [x._counter[0] for x in inputs]
    node._outputs = (weakref.ref(t),)
    node._out_meta = ((t._data.shape, t._data.dtype),)
    node._out_versions = (t._counter[0],)
    t.requires_grad = True
    t._ctx = node
    t._out_idx = 0
