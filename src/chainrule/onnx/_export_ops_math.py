"""Converters of ``chainrule.ops.math`` and related ops for ``chainrule.onnx.export``: the unary
functions (rsqrt, log1p, erf...), the steps (floor, ceil, round, trunc), nan_to_num, remainder
and fmod, norms and products over axes, einsum, roll, clone.

Functions ONNX lacks are written as their formulas in ONNX nodes (rsqrt as 1 / sqrt, log1p as
log(1 + x)): equal in exact arithmetic, rounded as those nodes round.
"""

from __future__ import annotations

import math

from ..backend import numpy as np
from ..ops import math as m
from ..ops import special_fns as sf
from ..ops.adaptive_pool import _AdaptiveExtremum
from ..ops.distance import _ClampMinStraight
from ..ops.einsum import Einsum
from ..ops.indexing import ScatterAddAlong
from ..ops.methods import Clone
from ..ops.rearrange import Roll
from ..ops.reciprocal import Reciprocal
from ..ops.stats import Norm2, Prod
from ._export_ops import _as_output_dtype, converts

__all__: list[str] = []


def _float_in(g, s):
    """The input in the output's float dtype (an integer input of erf is computed in float)."""
    return _as_output_dtype(g, s, (0,))[0]


def _with_constant(op_type, value, *, before=None, after=None, constant_first=False):
    """``op_type(x, value)`` (or ``op_type(value, x)``), with unary ops before and after."""

    def convert(g, s):
        x = _float_in(g, s)
        if before:
            x = g.op(before, [x])
        c = g.scalar(value, s.dtype)
        y = g.op(op_type, [c, x] if constant_first else [x, c])
        return [g.op(after, [y]) if after else y]

    return convert


def _native(op_type):
    def convert(g, s):
        return [g.op(op_type, [_float_in(g, s)])]
    return convert


for _cls, _onnx in ((m.Tan, "Tan"), (m.Atan, "Atan"), (m.Asin, "Asin"), (m.Acos, "Acos"),
                    (m.Sinh, "Sinh"), (m.Cosh, "Cosh"), (m.Erf, "Erf"), (sf.Asinh, "Asinh"),
                    (sf.Acosh, "Acosh"), (sf.Atanh, "Atanh"), (Reciprocal, "Reciprocal")):
    converts(_cls)(_native(_onnx))

converts(m.Rsqrt)(_with_constant("Div", 1.0, before="Sqrt", constant_first=True))
converts(m.Expm1)(_with_constant("Sub", 1.0, before="Exp"))
converts(m.Log1p)(_with_constant("Add", 1.0, after="Log"))
converts(m.Log2)(_with_constant("Div", math.log(2.0), before="Log"))
converts(m.Log10)(_with_constant("Div", math.log(10.0), before="Log"))
converts(m.Exp2)(_with_constant("Mul", math.log(2.0), after="Exp"))
converts(m.Erfc)(_with_constant("Sub", 1.0, before="Erf", constant_first=True))


def _refused(why):
    """A converter that refuses its op with the user's name for it (the op's class is internal)."""
    def convert(g, s):
        raise s.refuse(why)
    return convert


converts(_AdaptiveExtremum)(_refused(
    "adaptive max pooling whose windows do not tile the input has no ONNX form here (windows "
    "that tile it, an output size dividing the input's, export as MaxPool)"))
converts(ScatterAddAlong)(_refused(
    "a scatter-add along an axis (conv_transpose3d, scatter_add) has no converter"))


@converts(Clone)
def _clone(g, s):
    return [g.op("Identity", s.inputs[:1])]


@converts(_ClampMinStraight)
def _clamp_min_straight(g, s):
    return [g.op("Max", [s.inputs[0], g.scalar(s["low"], s.dtype)])]


@converts(m.Flat, dynamic=("fn",))  # round(decimals=k) makes a new function at every call
def _flat(g, s):
    kind, decimals = s.params.get("kind"), s.params.get("decimals", 0)
    if kind not in ("floor", "ceil", "round", "trunc"):
        raise s.refuse(f"an unknown step {kind!r}")
    x = s.inputs[0]
    if kind == "trunc":  # toward zero: ceil below 0, floor above
        negative = g.op("Less", [x, g.scalar(0, s.dtype)])
        return [g.op("Where", [negative, g.op("Ceil", [x]), g.op("Floor", [x])])]
    if kind != "round" or not decimals:
        return [g.op(kind.capitalize(), [x])]
    scale = g.scalar(10.0 ** abs(decimals), s.dtype)  # as chainrule's: x * s or x / s first
    up, down = ("Mul", "Div") if decimals > 0 else ("Div", "Mul")
    return [g.op(down, [g.op("Round", [g.op(up, [x, scale])]), scale])]


@converts(m.NanToNum)
def _nan_to_num(g, s):
    """Where(IsNaN) and Where(IsInf) per sign; the default infinities become the dtype's
    extremes, as NumPy's."""
    x, info = s.inputs[0], np.finfo(s.dtype)
    nan, pos, neg = (s["nan"], info.max if s["posinf"] is None else s["posinf"],
                     info.min if s["neginf"] is None else s["neginf"])
    y = g.op("Where", [g.op("IsNaN", [x]), g.scalar(nan, s.dtype), x])
    y = g.op("Where", [g.op("IsInf", [x], detect_negative=0), g.scalar(pos, s.dtype), y])
    return [g.op("Where", [g.op("IsInf", [x], detect_positive=0), g.scalar(neg, s.dtype), y])]


@converts(m.Remainder)
def _remainder(g, s):
    """fmod: ONNX's Mod(fmod=1). remainder (the divisor's sign): for integers Mod(fmod=0);
    for floats fmod, plus the divisor where the two signs differ (NumPy's rule)."""
    a, b = _as_output_dtype(g, s, (0, 1))
    if s["truncate"] or s.dtype.kind in "iu":
        return [g.op("Mod", [a, b], fmod=int(bool(s["truncate"]) or s.dtype.kind == "f"))]
    r = g.op("Mod", [a, b], fmod=1)
    zero = g.scalar(0, s.dtype)
    other_sign = g.op("Xor", [g.op("Less", [r, zero]), g.op("Less", [b, zero])])
    shift = g.op("And", [g.op("Not", [g.op("Equal", [r, zero])]), other_sign])
    return [g.op("Where", [shift, g.op("Add", [r, b]), r])]


@converts(Norm2)
def _norm2(g, s):
    if s.in_dtypes[0].kind == "c":
        raise s.refuse("ONNX has no complex tensors")
    axes = list(s["axes"]) if s["axes"] is not None else list(range(len(s.in_shapes[0])))
    return [g.reduce("ReduceL2", s.inputs[0], axes, s["keepdims"])]


@converts(Prod)
def _prod(g, s):
    return [g.reduce("ReduceProd", s.inputs[0], [s["axis"]], s["keepdims"])]


@converts(Einsum)
def _einsum(g, s):
    if any(d.kind == "c" for d in s.in_dtypes):
        raise s.refuse("ONNX has no complex tensors")
    return [g.op("Einsum", s.inputs, equation=s["equation"].replace(" ", ""))]


@converts(Roll)
def _roll(g, s):
    """Two slices of each axis joined in the other order; an axis whose size changes with the
    dynamic axes is refused (the cut point depends on it)."""
    axes = s["axes"] if isinstance(s["axes"], tuple) else (s["axes"],)
    shifts = s["shifts"] if isinstance(s["shifts"], tuple) else (s["shifts"],)
    y, shape = s.inputs[0], s.in_shapes[0]
    for axis, shift in zip(axes, shifts):
        axis = axis % len(shape)
        if s.alt is not None and s.alt_in_shapes[0][axis] != shape[axis]:
            raise s.refuse(f"it rolls axis {axis}, whose size changes with the dynamic axes")
        cut = shape[axis] - shift % shape[axis] if shape[axis] else 0
        if cut in (0, shape[axis]):
            continue
        head = g.op("Slice", [y, g.ints([cut]), g.ints([shape[axis]]), g.ints([axis])])
        tail = g.op("Slice", [y, g.ints([0]), g.ints([cut]), g.ints([axis])])
        y = g.op("Concat", [head, tail], axis=axis)
    return [y if y != s.inputs[0] else g.op("Identity", [y])]
