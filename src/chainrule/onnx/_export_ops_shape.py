"""Converters of shape ops for ``chainrule.onnx.export``: reshape, permute, broadcast, concatenate,
stack, split, pad and indexing (the registry and the builder: ``_export_ops``).

A recorded reshape holds its target shape in numbers, e.g. ``(8, 400)`` for ``x.view(x.size(0),
-1)`` at batch 8. With dynamic axes the export records the model a second time at other sizes:
a target size that changed and equals the input's size on the same axis in both recordings is
written as 0 ("copy it", ONNX's Reshape), one other that changed as -1 ("the rest"); more than
that cannot be written from the two recordings, and the export refuses the op.
"""

from __future__ import annotations

from ..backend import numpy as np
from ..ops.creation import _Triangle
from ..ops.indexing import Gather
from ..ops.join import Concat, ConstantPad, Split, Stack
from ..ops.rearrange import CumSum, Flip
from ..ops.shape import BroadcastTo, GetItem, Permute, Reshape
from ._export_ops import converts

__all__: list[str] = []

_BIG = 2**63 - 1  # an open end of a Slice (ONNX clamps it to the axis)


def _dynamic_target(s, target, alt_target):
    """The Reshape target: numbers where both recordings agree, 0 or -1 where they do not."""
    if alt_target is None:
        return list(target), False
    if len(target) != len(alt_target):
        raise s.refuse(f"its target rank changes with the dynamic axes ({target} and "
                       f"{alt_target})")
    source, alt_source = s.in_shapes[0], s.alt_in_shapes[0]
    out, rest = [], []
    for i, (a, b) in enumerate(zip(target, alt_target)):
        if a == b:
            out.append(a)
        elif i < len(source) and source[i] == a and alt_source[i] == b:
            out.append(0)  # copied from the input's axis i
        else:
            out.append(-1)
            rest.append(i)
    if len(rest) > 1:
        raise s.refuse(
            f"the target shape {tuple(target)} changes on axes {rest} with the dynamic axes "
            f"(to {tuple(alt_target)}), more than one of which is not copied from the input's "
            "same axis; ONNX's Reshape can infer one size only"
        )
    return out, True


def _shaped_like(g, target, alt_target):
    """A value of the graph shaped as the target in both recordings, where more than one of
    its sizes changes (group_norm's way back to its input's shape): its Shape is the target."""
    if alt_target is None or len(target) != len(alt_target):
        return None
    shapes = tuple(int(n) for n in target), tuple(int(n) for n in alt_target)
    if sum(a != b for a, b in zip(*shapes)) < 2:
        return None
    return next((name for name, seen in g.shapes.items() if seen == shapes), None)


@converts(Reshape, dynamic=("shape",))
def _reshape(g, s):
    alt = None if s.alt is None else s.alt["shape"]
    like = _shaped_like(g, tuple(s["shape"]), alt)
    if like is not None:
        return [g.op("Reshape", [s.inputs[0], g.op("Shape", [like])])]
    target, dynamic = _dynamic_target(s, tuple(s["shape"]), alt)
    # A literal 0 is an empty axis, not "copy": allowzero says so (never mixed with a copy).
    zero = 1 if not dynamic and 0 in target and g.opset >= 14 else None
    if zero is None and not dynamic and 0 in target:
        raise s.refuse(f"an empty target shape {tuple(target)} needs opset 14 or later")
    return [g.op("Reshape", [s.inputs[0], g.ints(target)], allowzero=zero)]


@converts(Gather)
def _gather(g, s):
    """``gather`` along an axis (``sort``'s and ``topk``'s values): GatherElements."""
    return [g.op("GatherElements", s.inputs[:2], axis=int(s["axis"]))]


@converts(Permute)
def _permute(g, s):
    return [g.op("Transpose", s.inputs[:1], perm=[int(a) for a in s["axes"]])]


@converts(BroadcastTo, dynamic=("shape",))
def _broadcast_to(g, s):
    """Expand, with 1 wherever the target keeps the input's size (so that size may change)."""
    shape, source = tuple(s["shape"]), s.in_shapes[0]
    alt_shape = shape if s.alt is None else tuple(s.alt["shape"])
    alt_source = source if s.alt is None else s.alt_in_shapes[0]
    lead, alt_lead = len(shape) - len(source), len(alt_shape) - len(alt_source)
    target = []
    for i, (a, b) in enumerate(zip(shape, alt_shape)):
        j = i - lead
        if j >= 0 and source[j] == a and alt_source[i - alt_lead] == b:
            target.append(1)
        elif a == b:
            target.append(a)
        else:
            raise s.refuse(f"it broadcasts to a size that changes with the dynamic axes "
                           f"({shape} and {alt_shape}) on axis {i}")
    return [g.op("Expand", [s.inputs[0], g.ints(target)])]


@converts(Concat)
def _concat(g, s):
    return [g.op("Concat", s.inputs, axis=int(s["axis"]))]


@converts(Stack)
def _stack(g, s):
    axis = int(s["axis"]) % len(s.out_shapes[0])
    return [g.op("Concat", [g.unsqueeze(x, [axis]) for x in s.inputs], axis=axis)]


@converts(Split)
def _split(g, s):
    """ONNX's Split with the pieces' sizes; where the axis changes size with the dynamic axes
    (the cuts do not: the recordings agree on them), the last piece runs to the end, so the
    pieces are Slices."""
    axis = int(s["axis"]) % len(s.in_shapes[0])
    edges = [0, *s["cuts"], s.in_shapes[0][axis]]
    if s.alt_in_shapes[0][axis] != s.in_shapes[0][axis]:
        return [g.op("Slice", [s.inputs[0], g.ints([a]), g.ints([b if i < len(edges) - 2
                                                                 else _BIG]), g.ints([axis])])
                for i, (a, b) in enumerate(zip(edges, edges[1:]))]
    sizes = [max(0, b - a) for a, b in zip(edges, edges[1:])]
    outs = g.op("Split", [s.inputs[0], g.ints(sizes)], axis=axis, n_out=len(sizes))
    return outs if len(sizes) > 1 else [outs]


@converts(ConstantPad)
def _constant_pad(g, s):
    pairs = [tuple(p) for p in s["pairs"]]
    pads = [b for b, _ in pairs] + [a for _, a in pairs]
    value = g.scalar(s["value"], s.dtype)
    return [g.op("Pad", [s.inputs[0], g.ints(pads), value], mode="constant")]


@converts(_Triangle)
def _triangle(g, s):
    """tril/triu: ONNX's Trilu (opset 14)."""
    if g.opset < 14:
        raise s.refuse(f"ONNX's Trilu needs opset 14 or later, got {g.opset}")
    k = g.const(np.asarray(s["diagonal"], dtype=np.int64), "diagonal")
    return [g.op("Trilu", [s.inputs[0], k], upper=int(not s["lower"]))]


@converts(Flip)
def _flip(g, s):
    x = s.inputs[0]
    for axis in s["axes"]:
        x = _slice(g, x, axis % len(s.in_shapes[0]), slice(None, None, -1))
    return [x if x != s.inputs[0] else g.op("Identity", [x])]


@converts(CumSum)
def _cumsum(g, s):
    axis = g.const(np.asarray(s["axis"], dtype=np.int64), "axis")
    return [g.op("CumSum", [s.inputs[0], axis])]


def _slice(g, x, axis, item):
    """``x[..., item, ...]`` for a slice on ``axis``, with Python's rules for its ends."""
    step = 1 if item.step is None else item.step
    start = item.start if item.start is not None else (0 if step > 0 else _BIG)
    stop = item.stop if item.stop is not None else (_BIG if step > 0 else -_BIG - 1)
    return g.op("Slice", [x, g.ints([start]), g.ints([stop]), g.ints([axis]), g.ints([step])])


@converts(GetItem)
def _getitem(g, s):
    """Basic indexing (ints, slices, None, Ellipsis) and one integer array (an embedding's ids,
    an upsampling's source rows): Slice, Gather, Unsqueeze. Boolean masks and several integer
    arrays (whose result shapes depend on values or pair up) are refused."""
    x = s.inputs[0]
    if len(s.inputs) == 2:  # x[ids] with ids an input of the op (nn.Embedding)
        return [g.op("Gather", [x, s.inputs[1]], axis=0)]
    index = s["index"]
    items = list(index) if isinstance(index, tuple) else [index]
    arrays = [i for i in items if hasattr(i, "dtype")]
    if any(a.dtype.kind == "b" for a in arrays):
        raise s.refuse("a boolean mask index gives a shape that depends on the values")
    if len(arrays) > 1 or (arrays and any(isinstance(i, int) for i in items)):
        raise s.refuse("only one integer-array index (and no int beside it) is supported")
    consumed = sum(1 for i in items if i is not None and i is not Ellipsis)
    ndim = len(s.in_shapes[0])
    axis = 0
    for item in items:
        if item is Ellipsis:
            axis += ndim - consumed
        elif item is None:
            x = g.unsqueeze(x, [axis])
            axis += 1
        elif isinstance(item, slice):
            if item != slice(None):
                x = _slice(g, x, axis, item)
            axis += 1
        elif hasattr(item, "dtype"):
            ids = g.const(np.asarray(item, dtype=np.int64), "index")
            x = g.op("Gather", [x, ids], axis=axis)
            axis += item.ndim
        else:  # an int: that position, its axis removed
            x = g.op("Gather", [x, g.const(np.asarray(int(item), dtype=np.int64), "index")],
                     axis=axis)
    if x == s.inputs[0]:
        x = g.op("Identity", [x])
    return [x]
