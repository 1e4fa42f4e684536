"""Converters of scatter-adds and bag reductions for ``chainrule.onnx.export``: ``F.fold`` and
``nn.Fold`` (and other sums of rows at an integer-array index) as ONNX's ScatterND, whose ``add``
reduction (opset 16) sums repeated positions; ``EmbeddingBag`` of a 2-D input (bags of one
length) as a Gather and a ReduceSum or ReduceMax over each bag."""

from __future__ import annotations

from ..backend import numpy as np
from ..ops.embedding_bag import SegmentMax, SegmentSum
from ..ops.shape import ScatterAdd
from ._export_ops import converts

__all__: list[str] = []

_BIG = 2**63 - 1


@converts(ScatterAdd, dynamic=("shape",))
def _scatter_add(g, s):
    """Zeros of ``shape`` with the input added (or written) at ``index``, an integer array into
    the first axis: the input's shape is the index's then ``shape[1:]``, whose sizes may change
    with the dynamic axes (read from the input)."""
    index, shape = s["index"], tuple(s["shape"])
    if not (hasattr(index, "dtype") and index.dtype.kind in "iu"):
        raise s.refuse("a scatter-add at an index other than one integer array (istft's "
                       "overlap-add, an indexed write's gradient) has no converter")
    alt = shape if s.alt is None else tuple(s.alt["shape"])
    if alt[0] != shape[0] or not np.array_equal(index, s.alt["index"] if s.alt else index):
        raise s.refuse("its index or first axis changes with the dynamic axes")
    accumulate = bool(s["accumulate"])
    if accumulate and g.opset < 16:
        raise s.refuse(f"a scatter-add (F.fold/nn.Fold) needs ONNX's ScatterND with "
                       f"reduction='add', from opset 16; got opset_version={g.opset}")
    x = s.inputs[0]
    positions = g.const((np.asarray(index, np.int64) % shape[0])[..., None], "scatter_index")
    rest = g.op("Slice", [g.op("Shape", [x]), g.ints([index.ndim]), g.ints([_BIG])])
    target = g.op("Concat", [g.ints([shape[0]]), rest], axis=0)
    zeros = g.op("Expand", [g.scalar(0, s.dtype), target])
    return [g.op("ScatterND", [zeros, positions, x],
                 reduction="add" if accumulate else None)]


def _bag_length(s):
    """The one length of every bag (EmbeddingBag of a 2-D input), in both recordings."""
    lengths = {int(n) for step in (s.params, s.alt or s.params) for n in step["counts"]}
    n_rows = {s.in_shapes[0][0], s.alt_in_shapes[0][0]}
    if len(lengths) != 1 or 0 in lengths:
        raise s.refuse("EmbeddingBag exports for a 2-D input (bags of one length, no "
                       "padding_idx); bags given by offsets have no converter")
    (n,) = lengths
    if any(rows % n for rows in n_rows):  # pragma: no cover - the op's own invariant
        raise s.refuse("its bags do not cover its rows")
    return n


@converts(SegmentSum, dynamic=("starts", "counts", "segment"))
def _segment_sum(g, s):
    n = _bag_length(s)
    bags = g.op("Reshape", [s.inputs[0], g.ints([-1, n, s.in_shapes[0][1]])])
    return [g.reduce("ReduceSum", bags, [1], False)]


@converts(SegmentMax, dynamic=("starts", "counts", "segment", "segment_of_full"))
def _segment_max(g, s):
    n = _bag_length(s)
    bags = g.op("Reshape", [s.inputs[0], g.ints([-1, n, s.in_shapes[0][1]])])
    return [g.reduce("ReduceMax", bags, [1], False)]
