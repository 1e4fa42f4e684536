"""Converters of running ops and ``atan2`` for ``chainrule.onnx.export``: ``cumprod``, ``cummax``,
``cummin`` and ``logcumsumexp`` (ONNX has only CumSum), written as one node per position along
the axis, so the axis must keep its size (not a dynamic one); and ``atan2``, as ONNX's Atan of a
ratio put in its quadrant (ONNX has no Atan2).
"""

from __future__ import annotations

import math

from ..backend import numpy as np
from ..ops.math import Atan2
from ..ops.scan import CumProd, LogCumSumExp, RunningExtreme
from ._export_ops import _as_output_dtype, converts

__all__: list[str] = []


def _static_length(s, what):
    axis = s["axis"] % len(s.in_shapes[0])
    n = s.in_shapes[0][axis]
    if s.alt_in_shapes[0][axis] != n:
        raise s.refuse(f"{what} along axis {axis}, whose size changes with the dynamic axes (ONNX "
                       "has no running product or extreme: it is written per position)")
    return axis, n


def _running(g, x, axis, n, op_type):
    """y_0 = x_0, y_k = op(y_{k-1}, x_k) along ``axis``: the same products, in the same order,
    as NumPy's running ones (``accumulate``)."""
    if n <= 1:
        return g.op("Identity", [x])
    parts = g.op("Split", [x, g.ints([1] * n)], axis=axis, n_out=n)
    out = [parts[0]]
    for part in parts[1:]:
        out.append(g.op(op_type, [out[-1], part]))
    return g.op("Concat", out, axis=axis)


@converts(CumProd)
def _cumprod(g, s):
    axis, n = _static_length(s, "cumprod")
    return [_running(g, s.inputs[0], axis, n, "Mul")]


@converts(LogCumSumExp)
def _logcumsumexp(g, s):
    """NumPy's running ``logaddexp`` (its formula, position by position): equal values give
    ``a + log 2`` (infinities stay), others ``max + log1p(exp(-|a - b|))``, NaN spreading. A
    ``log(cumsum(exp(x - max)))`` would be one CumSum but lose early values far below the max
    (their exp underflows to 0, their log to -inf)."""
    axis, n = _static_length(s, "logcumsumexp")
    dtype = s.dtype
    c = lambda v: g.scalar(v, dtype)  # noqa: E731
    if n <= 1:
        return [g.op("Identity", [s.inputs[0]])]
    parts = g.op("Split", [s.inputs[0], g.ints([1] * n)], axis=axis, n_out=n)
    out = [parts[0]]
    for b in parts[1:]:
        a = out[-1]
        e = g.op("Exp", [g.op("Neg", [g.op("Abs", [g.op("Sub", [a, b])])])])
        u = g.op("Add", [c(1), e])  # log1p(e) as log(u) * e / (u - 1), exact where u rounds
        w = g.op("Sub", [u, c(1)])
        log1p = g.op("Where", [g.op("Equal", [w, c(0)]), e,
                               g.op("Div", [g.op("Mul", [g.op("Log", [u]), e]), w])])
        apart = g.op("Add", [g.op("Max", [a, b]), log1p])
        out.append(g.op("Where", [g.op("Equal", [a, b]), g.op("Add", [a, c(math.log(2))]),
                                  apart]))
    return [g.op("Concat", out, axis=axis)]


@converts(RunningExtreme)
def _running_extreme(g, s):
    """The running max (min) and, as chainrule's, the last position holding it (or a NaN):
    the running max of the positions where x equals the running value."""
    axis, n = _static_length(s, "cummax/cummin")
    x = s.inputs[0]
    values = _running(g, x, axis, n, "Max" if s["largest"] else "Min")
    hit = g.op("Equal", [x, values])
    if s.in_dtypes[0].kind == "f":
        hit = g.op("Or", [hit, g.op("IsNaN", [x])])
    shape = [1] * len(s.in_shapes[0])
    shape[axis] = n
    positions = g.const(np.arange(n, dtype=np.int64).reshape(shape), "positions")
    picked = g.op("Where", [hit, positions, g.scalar(0, np.int64)])
    return [values, _running(g, picked, axis, n, "Max")]


@converts(Atan2)
def _atan2(g, s):
    """The angle in the first quadrant from |y| and |x| (the smaller over the larger, so Atan
    stays accurate, and equal magnitudes exact: pi/4, or 0 at the origin), then mirrored by the
    signs of x and y, their zeros' signs included (found as 1 / 0 = +-inf), as NumPy's arctan2."""
    y, x = _as_output_dtype(g, s, (0, 1))
    dtype = s.dtype
    c = lambda v: g.scalar(v, dtype)  # noqa: E731
    ay, ax = g.op("Abs", [y]), g.op("Abs", [x])
    low = g.op("Atan", [g.op("Div", [ay, ax])])
    high = g.op("Sub", [c(math.pi / 2), g.op("Atan", [g.op("Div", [ax, ay])])])
    angle = g.op("Where", [g.op("GreaterOrEqual", [ax, ay]), low, high])
    diagonal = g.op("Where", [g.op("Equal", [ay, c(0)]), c(0), c(math.pi / 4)])
    angle = g.op("Where", [g.op("Equal", [ay, ax]), diagonal, angle])

    def negative(v):  # v < 0, or v is -0
        return g.op("Or", [g.op("Less", [v, c(0)]),
                           g.op("Less", [g.op("Div", [c(1), v]), c(0)])])

    angle = g.op("Where", [negative(x), g.op("Sub", [c(math.pi), angle]), angle])
    return [g.op("Where", [negative(y), g.op("Neg", [angle]), angle])]
