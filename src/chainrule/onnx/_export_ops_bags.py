"""``EmbeddingBag`` with offsets or a ``padding_idx`` for ``chainrule.onnx.export``.

While a model is recorded, such bags are the matrix ``M`` (bags x ids) of a recorded
non-differentiable op of the ids and offsets (``ops._bag_record``), then a product or a masked
maximum with the rows. This writes ``M`` from the ids and offsets given at run time: position
``i`` of the flattened ids is in bag ``b`` when ``start_b <= i < end_b`` (the offsets, with the
input's length as the last end, or ``b * N <= i < (b + 1) * N`` for a 2-D input of ``N`` ids
per bag), and not equal to ``padding_idx``; for ``mean`` each row divided by its count (at
least 1).
"""

from __future__ import annotations

from ..backend import numpy as np

__all__ = ["bag_matrix"]

_BIG = 2**63 - 1


def bag_matrix(s, fn, free):
    """The non-differentiable op recognizer (see ``_export_ops_nondiff``)."""
    spec = getattr(fn, "embedding_bag", None)
    if spec is None:
        return None
    mode, padding_idx, include_last = spec
    two_d = len(s.in_shapes[0]) == 2
    if two_d and s.in_shapes[0][1] != s.alt_in_shapes[0][1]:
        raise s.refuse("EmbeddingBag of a 2-D input with a padding_idx: the bag length (axis 1) "
                       "must not be a dynamic axis")

    def emit(g):
        i64 = lambda v: g.op("Cast", [v], to=g.onnx.TensorProto.INT64)  # noqa: E731
        flat = i64(g.op("Reshape", [s.inputs[0], g.ints([-1])]))
        length = g.op("Shape", [flat])  # (1,)
        i = g.op("Range", [g.scalar(0, np.int64), g.squeeze(length, [0]), g.scalar(1, np.int64)])
        if two_d:
            n = s.in_shapes[0][1]
            bags = g.op("Slice", [g.op("Shape", [s.inputs[0]]), g.ints([0]), g.ints([1])])
            count = g.op("Range", [g.scalar(0, np.int64), g.squeeze(bags, [0]),
                                   g.scalar(1, np.int64)])
            first = g.op("Mul", [count, g.scalar(n, np.int64)])
            starts, ends = first, g.op("Add", [first, g.scalar(n, np.int64)])
        else:
            off = i64(s.inputs[1])
            rest = g.op("Slice", [off, g.ints([1]), g.ints([_BIG])])
            if include_last:
                starts, ends = g.op("Slice", [off, g.ints([0]), g.ints([-1])]), rest
            else:
                starts, ends = off, g.op("Concat", [rest, length], axis=0)
        row = g.unsqueeze(i, [0])
        inside = g.op("And", [g.op("GreaterOrEqual", [row, g.unsqueeze(starts, [1])]),
                              g.op("Less", [row, g.unsqueeze(ends, [1])])])
        if padding_idx is not None:
            keep = g.op("Not", [g.op("Equal", [flat, g.scalar(padding_idx, np.int64)])])
            inside = g.op("And", [inside, g.unsqueeze(keep, [0])])
        m = g.op("Cast", [inside], to=_onnx_type(g, s.dtype))
        if mode == "mean":
            count = g.reduce("ReduceSum", m, [1], True)
            m = g.op("Div", [m, g.op("Max", [count, g.scalar(1, s.dtype)])])
        return m

    return emit, fn


def _onnx_type(g, dtype) -> int:
    return int(g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
