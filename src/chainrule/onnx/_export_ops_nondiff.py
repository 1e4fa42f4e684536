"""Converters of non-differentiable ops for ``chainrule.onnx.export``: comparisons, sign, argmax
and argmin, dtype casts, and the reductions var and std.

A non-differentiable op (``autograd.function.nondiff``) is recorded as a function of arrays, not
as a class with settings. The ones the library makes are recognized by the function
(``sign_array``) or by the names its closure holds (``_compare``'s operator name, ``_arg``'s axis),
and every guess is checked: the ONNX formula is evaluated with NumPy on the values the op had in
both recordings and must give exactly the recorded results, or the export refuses the op.
"""

from __future__ import annotations

import inspect
import math

from ..autograd.function import NonDifferentiable
from ..backend import asnumpy
from ..backend import numpy as np
from ..ops._sign import sign_array
from ..ops.reduce import Std, Var
from ._export_ops import UnsupportedOperatorError, converts
from ._export_ops_attention import attention_masks
from ._export_ops_bags import bag_matrix
from ._export_ops_pool_index import pool_indices

__all__: list[str] = []

_COMPARE = {"__gt__": ("Greater", np.greater), "__lt__": ("Less", np.less),
            "__ge__": ("GreaterOrEqual", np.greater_equal),
            "__le__": ("LessOrEqual", np.less_equal), "__eq__": ("Equal", np.equal),
            "__ne__": ("Equal", np.not_equal)}  # written as Not(Equal)


def _closure(fn) -> dict:
    try:
        return dict(inspect.getclosurevars(fn).nonlocals)
    except (TypeError, ValueError):
        return {}


def _comparison(s, fn, free):
    """A comparison in the dtype chainrule compares in (its closure's ``dtype``, PyTorch's
    promotion: an int tensor beside a float one compares as floats); ONNX's comparisons take
    one dtype, and its ordered ones no bool (compared as int32, the same order)."""
    name = free.get("name")
    if name not in _COMPARE or len(s.inputs) not in (1, 2):
        return None
    op_type, reference = _COMPARE[name]
    common = np.dtype(free["dtype"]) if free.get("dtype") is not None else s.in_dtypes[0]
    if len(s.inputs) == 2 and free.get("dtype") is None and s.in_dtypes[1] != common:
        return None
    other = None
    if len(s.inputs) == 1:
        other = free.get("other", _MISSING)
        if isinstance(other, bool) or not isinstance(other, (int, float)) or (
                isinstance(other, float) and common.kind != "f"):
            return None  # only Python numbers that take the compared dtype, as NumPy does
    written = np.dtype(np.int32) if common.kind == "b" and op_type != "Equal" else common

    def emit(g):
        to = g.onnx.helper.np_dtype_to_tensor_dtype(written)
        xs = [x if dt == written else g.op("Cast", [x], to=to)
              for x, dt in zip(s.inputs, s.in_dtypes)]
        right = xs[1] if other is None else g.scalar(other, written)
        y = g.op(op_type, [xs[0], right])
        return g.op("Not", [y]) if name == "__ne__" else y

    def numpy(a, b=None):
        a = a.astype(written)
        return reference(a, written.type(other) if b is None else b.astype(written))

    return emit, numpy


_MISSING = object()


def _sign(s, fn, free):
    """ONNX's Sign, with 0 at NaN (chainrule's and PyTorch's rule; ONNX's Sign keeps NaN)."""
    if fn is not sign_array or len(s.inputs) != 1:
        return None

    def emit(g):
        y = g.op("Sign", s.inputs[:1])
        if s.in_dtypes[0].kind != "f":
            return y
        return g.op("Where", [g.op("IsNaN", s.inputs[:1]), g.scalar(0, s.in_dtypes[0]), y])

    return emit, sign_array


def _argmax(s, fn, free):
    f = free.get("fn")
    kind = getattr(f, "__name__", None)
    if kind not in ("argmax", "argmin") or "axis" not in free or len(s.inputs) != 1:
        return None
    axis, keepdims = free["axis"], bool(free.get("keepdims", False))
    op_type = "ArgMax" if kind == "argmax" else "ArgMin"
    ndim = len(s.in_shapes[0])

    def emit(g):
        x = s.inputs[0]
        if axis is None:  # over the flattened array
            y = g.op(op_type, [g.op("Reshape", [x, g.ints([-1])])], axis=0, keepdims=0)
            return g.op("Reshape", [y, g.ints([1] * ndim)]) if keepdims else y
        return g.op(op_type, [x], axis=int(axis), keepdims=int(keepdims))

    reference = np.argmax if kind == "argmax" else np.argmin
    return emit, lambda a: np.asarray(reference(a, axis=axis, keepdims=keepdims))


def _floor_divide(s, fn, free):
    """``floor_divide`` (``//``): for integers a - mod(a, b) divided exactly; for floats NumPy's
    own steps from fmod (the quotient rounded as NumPy rounds it), and a / b where b is 0."""
    if getattr(fn, "__qualname__", "") != "floor_divide.<locals>.<lambda>" or len(s.inputs) != 2 \
            or s.in_dtypes[0] != s.in_dtypes[1]:
        return None
    dtype = s.in_dtypes[0]

    def emit(g):
        a, b = s.inputs
        if dtype.kind in "iu":
            return g.op("Div", [g.op("Sub", [a, g.op("Mod", [a, b], fmod=0)]), b])
        c = lambda v: g.scalar(v, dtype)  # noqa: E731
        mod = g.op("Mod", [a, b], fmod=1)
        div = g.op("Div", [g.op("Sub", [a, mod]), b])
        signs = g.op("Xor", [g.op("Less", [b, c(0)]), g.op("Less", [mod, c(0)])])
        down = g.op("And", [g.op("Not", [g.op("Equal", [mod, c(0)])]), signs])
        div = g.op("Where", [down, g.op("Sub", [div, c(1)]), div])
        low = g.op("Floor", [div])
        up = g.op("Greater", [g.op("Sub", [div, low]), c(0.5)])
        q = g.op("Where", [up, g.op("Add", [low, c(1)]), low])
        return g.op("Where", [g.op("Equal", [b, c(0)]), g.op("Div", [a, b]), q])

    return emit, lambda u, v: np.floor_divide(u, v)


def _argsort(s, fn, free):
    """``argsort`` (``sort``'s and ``topk``'s indices): ONNX's TopK over the whole axis, whose
    ties keep the lower index first, as chainrule's stable order does both ways."""
    if getattr(fn, "__qualname__", "") != "argsort.<locals>.order" or len(s.inputs) != 1:
        return None
    axis, descending = free.get("axis"), bool(free.get("descending"))
    ndim = len(s.in_shapes[0])
    if not isinstance(axis, int) or not 0 <= axis < ndim:
        return None

    def emit(g):
        x = s.inputs[0]
        if s.in_shapes[0][axis] == s.alt_in_shapes[0][axis]:
            k = g.ints([s.in_shapes[0][axis]])
        else:  # the axis is dynamic: its size read from the input
            k = g.op("Gather", [g.op("Shape", [x]), g.ints([axis])], axis=0)
        _, index = g.op("TopK", [x, k], n_out=2, axis=axis, largest=int(descending), sorted=1)
        return index

    def reference(a):
        order = np.argsort(np.flip(a, axis) if descending else a, axis=axis, kind="stable")
        return np.flip(a.shape[axis] - 1 - order, axis) if descending else order

    return emit, reference


_LOGICAL = {"bitwise_and": ("And", "BitwiseAnd"), "bitwise_or": ("Or", "BitwiseOr"),
            "bitwise_xor": ("Xor", "BitwiseXor"), "logical_and": ("And", None),
            "logical_or": ("Or", None), "logical_xor": ("Xor", None)}


def _bitwise(s, fn, free):
    """``&``, ``|``, ``^`` and ``~`` of masks (And, Or, Xor, Not) or of integers (ONNX's
    Bitwise* ops, opset 18), as the Tensor methods compute them."""
    name = free.get("ufunc", free.get("_u"))
    kinds = {d.kind for d in s.in_dtypes}
    if len(s.inputs) == 1 and "xp" in free and len(free) == 1 and kinds <= set("biu"):
        op_type, reference = ("Not" if kinds == {"b"} else "BitwiseNot"), np.invert
    elif name in _LOGICAL and len(s.inputs) == 2 and kinds <= set("biu"):
        logical, bitwise = _LOGICAL[name]
        op_type = logical if kinds == {"b"} else bitwise
        if op_type is None or len(set(s.in_dtypes)) != 1:
            return None
        reference = getattr(np, name)
    else:
        return None

    def emit(g):
        if op_type.startswith("Bitwise") and g.opset < 18:
            raise s.refuse(f"ONNX's {op_type} (of integers) needs opset 18 or later, got "
                           f"{g.opset}")
        return g.op(op_type, s.inputs)

    return emit, reference


def _one_hot(s, fn, free):
    """``F.one_hot``: ONNX's OneHot (int64 0/1 rows); with ``num_classes=-1`` the count comes
    from the values, which the file cannot follow, so that is refused."""
    if getattr(fn, "__qualname__", "") != "one_hot.<locals>.rows" or len(s.inputs) != 1:
        return None
    n = free.get("num_classes")
    if not isinstance(n, int):
        return None
    if getattr(fn, "inferred_classes", True):
        raise s.refuse("one_hot with num_classes=-1 counts the classes from the values (the "
                       "file would keep the example's count); pass num_classes")

    def emit(g):
        values = g.const(np.asarray([0, 1], dtype=np.int64), "one_hot_values")
        depth = g.const(np.asarray(n, dtype=np.int64), "one_hot_depth")
        ids = s.inputs[0]
        if s.in_dtypes[0] != np.int64:  # onnxruntime's OneHot takes int64 indices
            ids = g.op("Cast", [ids], to=g.onnx.TensorProto.INT64)
        return g.op("OneHot", [ids, depth, values], axis=-1)

    return emit, lambda a: (a[..., None] == np.arange(n)).astype(np.int64)


def _cast(s, fn, free):
    dtype = free.get("dtype")
    if dtype is None or len(free) != 1 or len(s.inputs) != 1:
        return None
    dtype = np.dtype(dtype)

    def emit(g):
        return g.op("Cast", s.inputs[:1], to=g.onnx.helper.np_dtype_to_tensor_dtype(dtype))

    return emit, lambda a: a.astype(dtype)


@converts(NonDifferentiable, dynamic=("fn",))  # a new function object at every call
def _nondiff(g, s):
    fn = s["fn"]
    free = _closure(fn)
    for recognize in (_comparison, _sign, _argmax, _floor_divide, _argsort, _bitwise,
                      _one_hot, _cast, pool_indices, bag_matrix, attention_masks):
        found = recognize(s, fn, free)
        if found is not None and _agrees(s, found[1]):
            return [found[0](g)]
    raise UnsupportedOperatorError(
        f"export: no ONNX converter for the non-differentiable op {_name(fn)} of the model's "
        "inputs (comparisons with a Tensor or a Python number, sign, argmax/argmin, argsort, //, "
        "&, |, ^, ~ and dtype casts are written; ops of parameters and buffers alone become "
        "constants)"
    )


def _agrees(s, reference) -> bool:
    """Whether ``reference`` gives exactly the recorded outputs in both recordings."""
    for inputs, outputs in s.recorded:
        try:
            got = np.asarray(reference(*[asnumpy(a) for a in inputs]))
        except (TypeError, ValueError):
            return False
        want = asnumpy(outputs[0])
        if got.shape != want.shape or got.dtype != want.dtype or not np.array_equal(
                got, want, equal_nan=want.dtype.kind in "fc"):
            return False
    return True


def _name(fn) -> str:
    return f"{getattr(fn, '__module__', None) or '?'}.{getattr(fn, '__qualname__', repr(fn))}"


def _spread(g, s, op_type):
    """Var or Std over ``axes``: the mean of squared deviations divided by (count - ddof)."""
    ndim = len(s.in_shapes[0])
    axes = list(range(ndim)) if s["axes"] is None else [a % ndim for a in s["axes"]]
    x = s.inputs[0]
    if all(s.in_shapes[0][a] == s.alt_in_shapes[0][a] for a in axes):
        divisor = g.scalar(math.prod(s.in_shapes[0][a] for a in axes) - s["ddof"], s.dtype)
    else:  # the count changes with the dynamic axes: the product of those sizes in the file
        sizes = g.op("Cast", [g.op("Gather", [g.op("Shape", [x]), g.ints(axes)])],
                     to=g.onnx.helper.np_dtype_to_tensor_dtype(s.dtype))
        divisor = g.op("Sub", [g.reduce("ReduceProd", sizes, [0], False),
                               g.scalar(s["ddof"], s.dtype)])
    centred = g.op("Sub", [x, g.reduce("ReduceMean", x, axes, True)])
    total = g.reduce("ReduceSum", g.op("Mul", [centred, centred]), axes, bool(s["keepdims"]))
    var = g.op("Div", [total, divisor])
    return [g.op("Sqrt", [var]) if op_type == "Std" else var]


@converts(Var)
def _var(g, s):
    return _spread(g, s, "Var")


@converts(Std)
def _std(g, s):
    return _spread(g, s, "Std")
