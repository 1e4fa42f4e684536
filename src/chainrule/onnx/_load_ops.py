"""The registry of ONNX operators that ``chainrule.onnx.load`` evaluates, its helpers, and the
elementwise, activation and matrix operators.

Each operator is a function ``fn(ctx, attrs, *inputs)`` over chainrule Tensors (absent optional
inputs are None) that returns one Tensor or a tuple, written with chainrule ops so that a loaded
graph is differentiable end to end. Integer tensors (shapes, indices, masks) flow through the
same functions as constants of the graph. The other ``_load_ops_*`` modules add to ``OPS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .. import ops
from ..autograd.function import nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.activation_extra import celu, hardswish, mish

__all__ = ["OPS", "Context", "OpSpec", "const", "ints", "op", "scalar"]


@dataclass(frozen=True)
class OpSpec:
    """How to evaluate one op_type, and which of its inputs hold settings rather than data.

    ``const``: input positions read as settings (shapes, axes, pads, bounds): a float
    initializer that only feeds these stays a constant, not a Parameter. ``stat``: positions of
    running statistics (BatchNormalization's mean and variance): persistent buffers. ``check``:
    ``check(attrs, n_inputs, used_outputs, opset)`` returns why a node cannot be evaluated, or
    None.
    """

    fn: object
    const: frozenset = frozenset()
    stat: frozenset = frozenset()
    check: object = None


OPS: dict[str, OpSpec] = {}


@dataclass
class Context:
    """What a node may read besides its inputs: the Module's mode and float dtype, the opset."""

    training: bool
    dtype: object
    opset: int


def op(*names, const=(), stat=(), check=None):
    """Register the decorated function as the evaluator of the op_types ``names``."""
    def register(fn):
        for name in names:
            OPS[name] = OpSpec(fn, frozenset(const), frozenset(stat), check)
        return fn
    return register


def ints(t) -> tuple[int, ...]:
    """A constant integer input (a shape, axes, pads) as a tuple of Python ints."""
    return tuple(int(v) for v in get_array_module(t._data).asarray(t._data).reshape(-1).tolist())


def scalar(t):
    """A constant one-element input (a bound, a ratio) as a Python number."""
    data = t._data.reshape(-1)
    if data.size != 1:
        raise ValueError(f"expected a one-element tensor, got shape {tuple(t._data.shape)}")
    return data[0].item()


def const(ctx, array) -> Tensor:
    """A constant of the graph as a Tensor; floats take the Module's float dtype."""
    xp = get_array_module(array)
    array = xp.asarray(array)
    if array.dtype.kind == "f" and array.dtype != ctx.dtype:
        array = array.astype(ctx.dtype)
    return Tensor(array)


def is_float(t) -> bool:
    return t._data.dtype.kind == "f"


# Elementwise arithmetic. ONNX has no type promotion: both sides share one dtype.

@op("Add")
def _add(ctx, attrs, a, b):
    return a + b


@op("Sub")
def _sub(ctx, attrs, a, b):
    return a - b


@op("Mul")
def _mul(ctx, attrs, a, b):
    return a * b


def _int_div(a, b):
    xp = get_array_module(a, b)
    q = xp.floor_divide(a, b)
    # ONNX (as C) truncates toward zero; floor division rounds down.
    return q + ((xp.remainder(a, b) != 0) & ((a < 0) != (b < 0)))


@op("Div")
def _div(ctx, attrs, a, b):
    if is_float(a):
        return a / b
    return nondiff(lambda x, y: _int_div(x, y).astype(x.dtype), a, b)


def _int_pow(a, b):
    xp = get_array_module(a, b)
    if b.dtype.kind in "iub" and not (b < 0).any():
        return a ** b.astype(a.dtype)  # exact, wrapping as the dtype does
    # ONNX (onnxruntime and the reference) raises in floating point and truncates the result
    # toward zero: 4 ** 0.5 == 2, 2 ** -1 == 0 (the exponent was cast to the integer type)
    with xp.errstate(invalid="ignore", over="ignore", divide="ignore"):
        return xp.trunc(xp.power(a.astype("float64"), b.astype("float64"))).astype(a.dtype)


@op("Pow")
def _pow(ctx, attrs, x, y):
    if not is_float(x):
        return nondiff(_int_pow, x, y)
    if y._data.size == 1 and not y.requires_grad:  # a constant exponent (x ** 2, x ** 0.5)
        value = scalar(y)
        return x ** (float(value) if isinstance(value, float) else int(value))
    if not is_float(y):
        y = ops.cast(y, x.dtype)
    return x ** y


@op("Mod")
def _mod(ctx, attrs, a, b):
    if attrs.get("fmod", 0):
        return ops.fmod(a, b)
    if is_float(a):
        return ops.remainder(a, b)
    return nondiff(lambda x, y: get_array_module(x).remainder(x, y), a, b)


def _variadic(fn):
    def evaluate(ctx, attrs, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = fn(out, x)
        return out
    return evaluate


op("Max")(_variadic(ops.maximum))
op("Min")(_variadic(ops.minimum))
op("Sum")(_variadic(lambda a, b: a + b))


@op("Mean")
def _mean(ctx, attrs, *xs):
    return _variadic(lambda a, b: a + b)(ctx, attrs, *xs) / len(xs)


def _unary(name, fn):
    op(name)(lambda ctx, attrs, x: fn(x))


for _name, _fn in {
    "Neg": ops.neg, "Exp": ops.exp, "Log": ops.log, "Sqrt": ops.sqrt, "Abs": ops.abs,
    "Reciprocal": ops.reciprocal, "Erf": ops.erf, "Sin": ops.sin, "Cos": ops.cos,
    "Tan": ops.tan, "Atan": ops.atan, "Asin": ops.asin, "Acos": ops.acos, "Sinh": ops.sinh,
    "Cosh": ops.cosh, "Asinh": ops.asinh, "Acosh": ops.acosh, "Atanh": ops.atanh,
    "Floor": ops.floor, "Ceil": ops.ceil,
    "Relu": ops.relu, "Sigmoid": ops.sigmoid, "Tanh": ops.tanh,
    "Softsign": ops.softsign, "Identity": lambda x: x,
}.items():
    _unary(_name, _fn)


@op("Sign")
def _sign(ctx, attrs, x):
    """-1, 0 or 1; NaN stays NaN (ONNX's Sign, as NumPy's; chainrule's and PyTorch's give 0)."""
    if not is_float(x):
        return ops.sign(x)
    return ops.where(x._data != x._data, x, ops.sign(x))


@op("Round")
def _round(ctx, attrs, x):
    return ops.round(x)  # NumPy's and ONNX's rule: halves to even


@op("LeakyRelu")
def _leaky_relu(ctx, attrs, x):
    return ops.leaky_relu(x, attrs.get("alpha", 0.01))


@op("Elu")
def _elu(ctx, attrs, x):
    return ops.elu(x, attrs.get("alpha", 1.0))


@op("Celu")
def _celu(ctx, attrs, x):
    return celu(x, attrs.get("alpha", 1.0))


@op("Selu")
def _selu(ctx, attrs, x):
    alpha = attrs.get("alpha", 1.67326319217681884765625)
    gamma = attrs.get("gamma", 1.05070102214813232421875)
    return gamma * ops.elu(x, alpha)


@op("Softplus")
def _softplus(ctx, attrs, x):
    return ops.logaddexp(x, ops.zeros_like(x))  # log(1 + e^x) without PyTorch's threshold


@op("HardSigmoid")
def _hard_sigmoid(ctx, attrs, x):
    return ops.clip(x * attrs.get("alpha", 0.2) + attrs.get("beta", 0.5), 0.0, 1.0)


@op("HardSwish")
def _hard_swish(ctx, attrs, x):
    return hardswish(x)  # x * HardSigmoid(alpha=1/6, beta=1/2)(x), as PyTorch's


@op("Mish")
def _mish(ctx, attrs, x):
    return mish(x)


@op("PRelu")
def _prelu(ctx, attrs, x, slope):
    return ops.where(x._data >= 0, x, x * slope)


@op("ThresholdedRelu")
def _thresholded_relu(ctx, attrs, x):
    return ops.where(x._data > attrs.get("alpha", 1.0), x, ops.zeros_like(x))


def _gelu_check(attrs, n_inputs, used, opset):
    approximate = attrs.get("approximate", "none")
    return None if approximate in ("none", "tanh") else f"Gelu approximate={approximate!r}"


@op("Gelu", check=_gelu_check)
def _gelu(ctx, attrs, x):
    return ops.gelu(x, approximate=attrs.get("approximate", "none"))


def _softmax(fn):
    def evaluate(ctx, attrs, x):
        if ctx.opset >= 13:
            return fn(x, axis=attrs.get("axis", -1))
        # Before opset 13 the input is seen as 2-D: (prod(shape[:axis]), prod(shape[axis:])).
        axis = attrs.get("axis", 1)
        axis = axis + x.ndim if axis < 0 else axis
        rows = math.prod(x.shape[:axis])
        return ops.reshape(fn(ops.reshape(x, (rows, -1)), axis=1), x.shape)
    return evaluate


op("Softmax")(_softmax(ops.softmax))
op("LogSoftmax")(_softmax(ops.log_softmax))


def _hardmax(x, axis):
    """1 at the first maximum along ``axis``, 0 elsewhere (not differentiated: a step)."""
    def one_hot(a):
        xp = get_array_module(a)
        ax = axis % a.ndim
        first = xp.expand_dims(xp.argmax(a, axis=ax), ax)
        pos = xp.arange(a.shape[ax]).reshape([-1 if i == ax else 1 for i in range(a.ndim)])
        return (pos == first).astype(a.dtype)
    return nondiff(one_hot, x)


op("Hardmax", const=(0,))(_softmax(_hardmax))


def _clip_bound(value, dtype):
    return value if dtype.kind == "f" else int(value)


@op("Clip", const=(1, 2))
def _clip(ctx, attrs, x, low=None, high=None):
    low_v = None if low is None else scalar(low)
    high_v = None if high is None else scalar(high)
    if not is_float(x):
        if low_v is None and high_v is None:
            return x
        return nondiff(lambda a: get_array_module(a).clip(a, low_v, high_v).astype(a.dtype), x)
    dtype = x._data.dtype
    # An omitted bound is the dtype's extreme (ONNX's rule): infinities become finite.
    info = get_array_module(x._data).finfo(dtype)
    low_v = float(info.min) if low_v is None else low_v
    high_v = float(info.max) if high_v is None else high_v
    return ops.clip(x, _clip_bound(low_v, dtype), _clip_bound(high_v, dtype))


def _gemm_operand(t, transpose):
    return ops.transpose(t, 0, 1) if transpose else t


@op("Gemm")
def _gemm(ctx, attrs, a, b, c=None):
    y = _gemm_operand(a, attrs.get("transA", 0)) @ _gemm_operand(b, attrs.get("transB", 0))
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    if alpha != 1.0:
        y = y * alpha
    if c is not None and beta != 0.0:
        y = y + (c if beta == 1.0 else c * beta)
    return y


@op("MatMul")
def _matmul(ctx, attrs, a, b):
    return ops.matmul(a, b)


@op("Einsum")
def _einsum(ctx, attrs, *xs):
    return ops.einsum(attrs["equation"].replace(" ", ""), *xs)


def _compare(fn):
    return lambda ctx, attrs, a, b: nondiff(fn, a, b)


# Comparisons are not differentiated: a float initializer they read (a threshold) is a setting.
_BOTH = (0, 1)
op("Equal", const=_BOTH)(_compare(lambda a, b: a == b))
op("Less", const=_BOTH)(_compare(lambda a, b: a < b))
op("LessOrEqual", const=_BOTH)(_compare(lambda a, b: a <= b))
op("Greater", const=_BOTH)(_compare(lambda a, b: a > b))
op("GreaterOrEqual", const=_BOTH)(_compare(lambda a, b: a >= b))
op("And", const=_BOTH)(_compare(lambda a, b: a & b))
op("Or", const=_BOTH)(_compare(lambda a, b: a | b))
op("Xor", const=_BOTH)(_compare(lambda a, b: a ^ b))


@op("Not", const=(0,))
def _not(ctx, attrs, x):
    return nondiff(lambda a: ~a, x)


@op("IsNaN", const=(0,))
def _isnan(ctx, attrs, x):
    return nondiff(lambda a: get_array_module(a).isnan(a), x)


@op("IsInf", const=(0,))
def _isinf(ctx, attrs, x):
    positive, negative = attrs.get("detect_positive", 1), attrs.get("detect_negative", 1)
    return nondiff(lambda a: get_array_module(a).isinf(a) & (((a > 0) & bool(positive))
                                                              | ((a < 0) & bool(negative))), x)


@op("Where", const=(0,))
def _where(ctx, attrs, cond, a, b):
    if is_float(a) or is_float(b):
        return ops.where(cond, a, b)
    return nondiff(lambda c, x, y: get_array_module(x).where(c, x, y), cond, a, b)


# Cast targets evaluated here: the float8, 4-bit and narrower types (whose rounding and
# ``saturate`` NumPy's ml_dtypes casts do not follow), strings and complex are refused.
_CAST_TARGETS = frozenset(("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                           "uint64", "float16", "float32", "float64", "bfloat16"))


def _type_name(dtype):
    return "string" if dtype.kind == "O" else dtype.name


def _cast_check(attrs, n_inputs, used, opset):
    name = _type_name(attrs["to"])
    return None if name in _CAST_TARGETS else f"Cast to {name}"


def _cast_to(ctx, x, dtype, op_type):
    name = _type_name(dtype)
    if name not in _CAST_TARGETS:
        raise ValueError(f"{op_type}: cannot cast to {name}; chainrule evaluates casts to "
                         f"{', '.join(sorted(_CAST_TARGETS))}")
    # Every float type of the graph is computed in the Module's float dtype (see OnnxModule).
    return ops.cast(x, ctx.dtype if dtype.kind == "f" else dtype)


@op("Cast", check=_cast_check)
def _cast(ctx, attrs, x):
    return _cast_to(ctx, x, attrs["to"], "Cast")


@op("CastLike", const=(1,))
def _cast_like(ctx, attrs, x, like):
    return _cast_to(ctx, x, like._data.dtype, "CastLike")


def _dropout_check(attrs, n_inputs, used, opset):
    return "Dropout with its mask output in use" if 1 in used else None


@op("Dropout", const=(1, 2), check=_dropout_check)
def _dropout(ctx, attrs, x, ratio=None, training_mode=None):
    # The Module's train()/eval() decides, not the graph's training_mode input (see docs).
    p = attrs.get("ratio", 0.5) if ratio is None else float(scalar(ratio))
    if not ctx.training or p == 0.0:
        return x
    return ops.dropout(x, p, training=True)
