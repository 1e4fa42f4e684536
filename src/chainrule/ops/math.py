"""More elementwise functions, PyTorch's names: each forward beside its derivative.

The derivatives are the calculus textbook's, written with chainrule ops on ``self.inputs`` and
``self.output`` so that they differentiate again:

    d rsqrt(x) = -1/2 x^(-3/2)      d expm1(x) = e^x          d log1p(x) = 1 / (1 + x)
    d tan(x) = 1 + tan(x)^2         d atan(x) = 1 / (1 + x^2)  d asin(x) = 1 / sqrt(1 - x^2)
    d erf(x) = 2 / sqrt(pi) e^(-x^2)
    atan2(y, x): dy = x / (x^2 + y^2), dx = -y / (x^2 + y^2)   (0 at the origin, as PyTorch)
    remainder(a, b) = a - b floor(a / b): da = 1, db = -floor(a / b)

The rounding functions (floor, ceil, round, trunc) are flat: gradient 0, as PyTorch's.
"""

from __future__ import annotations

import math

from ..autograd.function import Function, OutputOnly, nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module, quiet
from ._conj import cj
from ._promotion import InFloat32, binary, float_operand
from ._real_only import refuse_bool, refuse_integer, refuse_integer_pair
from ._special import erf as _erf
from ._special import erfc as _erfc
from ._wide import call_in_float32, in_float32
from .elementwise import clip, cos, exp, fill_where, sqrt, where
from .elementwise import pow as _pow
from .reciprocal import reciprocal
from .shape import sum_to

__all__ = ["acos", "asin", "atan", "atan2", "ceil", "clamp_max", "clamp_min", "cosh", "erf",
           "erfc", "exp2", "expm1", "floor", "floor_divide", "fmod", "frac", "hypot", "isfinite",
           "isinf", "isnan", "lerp", "log10", "log1p", "log2", "logaddexp", "nan_to_num",
           "reciprocal", "remainder", "round", "rsqrt", "signbit", "sinh", "square", "tan", "trunc"]


def _on_float(xp, x, kernel):
    """``kernel(x)`` in the floating dtype a NumPy ufunc gives ``x`` (bool/int8 -> float16, int64
    -> float64), so that a kernel written for floats never casts its result back to integers;
    computed in float32 at least (its polynomials overflow float16)."""
    out = xp.result_type(x.dtype, xp.float16)
    return kernel(x.astype(xp.promote_types(out, xp.float32), copy=False)).astype(out, copy=False)


class _Unary(Function):
    """One array function forward; subclasses give ``rule(x, out, g)``, the chain rule. Where
    f(conj z) = conj f(z) (real Taylor coefficients), the rule at conj(x), conj(f(x)) is g times
    the conjugate derivative, PyTorch's complex convention: such a subclass opts in."""

    def forward(self, x):  # inf and nan (log2(0), rsqrt(0), atanh(1)) silently, as PyTorch
        with quiet(xp := get_array_module(x)):
            return self.fn(xp, x)

    def backward(self, g):
        x, out = self.inputs[0], self.output
        if self.complex_grad and x._data.dtype.kind == "c":
            x, out = cj(x), cj(out)
        return self.rule(x, out, g)


class Rsqrt(OutputOnly, _Unary):
    fn = staticmethod(lambda xp, x: 1 / xp.sqrt(x))
    rule = staticmethod(lambda x, out, g: g * -0.5 * out * out * out)


class Expm1(OutputOnly, _Unary):
    fn = staticmethod(lambda xp, x: xp.expm1(x))
    rule = staticmethod(lambda x, out, g: g * (out + 1))


class Log1p(_Unary):
    fn = staticmethod(lambda xp, x: xp.log1p(x))
    rule = staticmethod(lambda x, out, g: g / (x + 1))


class Log2(_Unary):
    fn = staticmethod(lambda xp, x: xp.log2(x))
    rule = staticmethod(lambda x, out, g: g / (x * math.log(2)))


class Log10(_Unary):
    fn = staticmethod(lambda xp, x: xp.log10(x))
    rule = staticmethod(lambda x, out, g: g / (x * math.log(10)))


class Exp2(OutputOnly, _Unary):
    fn = staticmethod(lambda xp, x: xp.exp2(x))
    rule = staticmethod(lambda x, out, g: g * out * math.log(2))


class Tan(OutputOnly, _Unary):
    fn = staticmethod(lambda xp, x: xp.tan(x))
    rule = staticmethod(lambda x, out, g: g * (out * out + 1))


class Atan(_Unary):
    fn = staticmethod(lambda xp, x: xp.arctan(x))
    rule = staticmethod(lambda x, out, g: g / (x * x + 1))


class Asin(_Unary):
    fn = staticmethod(lambda xp, x: xp.arcsin(x))
    rule = staticmethod(lambda x, out, g: g / sqrt(1 - x * x))


class Acos(_Unary):
    fn = staticmethod(lambda xp, x: xp.arccos(x))
    rule = staticmethod(lambda x, out, g: -g / sqrt(1 - x * x))


class Sinh(_Unary):
    fn = staticmethod(lambda xp, x: xp.sinh(x))
    rule = staticmethod(lambda x, out, g: g * cosh(x))


class Cosh(_Unary):
    fn = staticmethod(lambda xp, x: xp.cosh(x))
    rule = staticmethod(lambda x, out, g: g * sinh(x))


for _op in (Rsqrt, Expm1, Log1p, Log2, Log10, Exp2, Tan, Atan, Asin, Acos, Sinh, Cosh):
    _op.complex_grad = True  # holomorphic, real Taylor coefficients (see _Unary)


class Erf(_Unary):
    fn = staticmethod(lambda xp, x: _on_float(xp, x, _erf))
    rule = staticmethod(lambda x, out, g: g * (2 / math.sqrt(math.pi)) * exp(-(x * x)))


class Erfc(_Unary):
    fn = staticmethod(lambda xp, x: _on_float(xp, x, _erfc))
    rule = staticmethod(lambda x, out, g: g * (-2 / math.sqrt(math.pi)) * exp(-(x * x)))


class Flat(_Unary):
    """floor, ceil, round, trunc (``kind``; ``decimals`` of round): 0 derivative, as steps."""

    def forward(self, x):  # inf and nan (log2(0), rsqrt(0), atanh(1)) silently, as PyTorch
        with quiet(xp := get_array_module(x)):
            return self.fn(xp, x)

    def backward(self, g):
        return Tensor(get_array_module(g._data).zeros_like(g._data))


class NanToNum(_Unary):
    """Non-finite values replaced; the gradient passes where x was finite, else 0."""

    def forward(self, x):
        return get_array_module(x).nan_to_num(x, nan=self.nan, posinf=self.posinf,
                                               neginf=self.neginf)

    def backward(self, g):
        x = self.inputs[0]._data
        return fill_where(~get_array_module(x).isfinite(x), 0, g)


class Atan2(Function):
    def forward(self, y, x):
        return get_array_module(y, x).arctan2(y, x)

    def backward(self, g):
        y, x = self.inputs
        r2 = x * x + y * y
        origin = r2.data == 0  # no direction there: derivative 0, as PyTorch's (not 0/0 = nan);
        recip = fill_where(origin, 0, 1 / fill_where(origin, 1, r2))  # an infinite g gives nan
        return sum_to(g * x * recip, y.shape), sum_to(g * -y * recip, x.shape)


def _no_int_zero(op, a, b):
    """Integer division by 0 (NumPy: 0 and a warning) or of bools is an error, as in PyTorch."""
    a, b = (xp := get_array_module(a, b)).asarray(a), xp.asarray(b)
    if a.dtype == bool and b.dtype == bool:
        raise NotImplementedError(f"{op}: not implemented for bool tensors (as PyTorch's)")
    if a.dtype.kind in "biu" and b.dtype.kind in "biu" and (b == 0).any():
        raise ZeroDivisionError(f"{op}: integer division by zero (the divisor holds 0)")


class Remainder(Function):
    """a mod b with b's sign (Python's %; a zero with a's, as PyTorch), or a's (truncate: fmod)."""

    def forward(self, a, b):
        xp = get_array_module(a, b)
        _no_int_zero("fmod" if self.truncate else "remainder", a, b)
        r = (xp.fmod if self.truncate else xp.remainder)(a, b)  # 3 % -1 was -0.0, not 0.0
        return r if self.truncate or r.dtype.kind != "f" else xp.where(r == 0, xp.copysign(r, a), r)

    def backward(self, g):
        a, b = self.inputs
        q = (trunc if self.truncate else floor)(a / b)
        return sum_to(g, a.shape), sum_to(-g * q, b.shape)


class LogAddExp(Function):
    def forward(self, a, b):
        return get_array_module(a, b).logaddexp(a, b)

    def backward(self, g):
        a, b = self.inputs
        # PyTorch's form g / (1 + e^(b - a)): a +inf beside a finite b gives b the gradient 0, a 1
        return sum_to(g / (exp(b - a) + 1), a.shape), sum_to(g / (exp(a - b) + 1), b.shape)


class Hypot(Function):
    def forward(self, a, b):
        return get_array_module(a, b).hypot(a, b)

    def backward(self, g):
        a, b = self.inputs
        r = fill_where(self.output._data == 0, 1, self.output)  # 0/0 at the origin: gradient 0
        return sum_to(g * a / r, a.shape), sum_to(g * b / r, b.shape)


def _float_input(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x


def _floating(op, x):
    """``x`` for a floating-point function: an integer or bool tensor in the default dtype."""
    return float_operand(_float_input(op, x))


def _real(op, x):  # x for an op PyTorch computes on real numbers only
    if isinstance(x, Tensor) and x._data.dtype.kind == "c":
        raise TypeError(f"{op}: complex input (dtype {x.dtype}) is not supported, as in "
                        "PyTorch; expected a real Tensor")
    return x


def rsqrt(input):  # noqa: A002
    """1 / sqrt(x)."""
    return Rsqrt.apply(_floating("rsqrt", input))


def expm1(input):  # noqa: A002
    """exp(x) - 1, accurate for small x."""
    return Expm1.apply(_floating("expm1", input))


def log1p(input):  # noqa: A002
    """log(1 + x), accurate for small x."""
    return Log1p.apply(_floating("log1p", input))


def log2(input):  # noqa: A002
    return Log2.apply(_floating("log2", input))


def log10(input):  # noqa: A002
    return Log10.apply(_floating("log10", input))


def exp2(input):  # noqa: A002
    return Exp2.apply(_floating("exp2", input))


def tan(input):  # noqa: A002
    return Tan.apply(_floating("tan", input))


def atan(input):  # noqa: A002
    return Atan.apply(_floating("atan", input))


def asin(input):  # noqa: A002
    return Asin.apply(_floating("asin", input))


def acos(input):  # noqa: A002
    return Acos.apply(_floating("acos", input))


def sinh(input):  # noqa: A002
    return Sinh.apply(_floating("sinh", input))


def cosh(input):  # noqa: A002
    return Cosh.apply(_floating("cosh", input))


def erf(input):  # noqa: A002
    """The error function (Cephes' approximation, float64-accurate)."""
    return Erf.apply(_floating("erf", _real("erf", input)))


def erfc(input):  # noqa: A002
    """1 - erf(x), accurate where erf(x) is close to 1."""
    return Erfc.apply(_floating("erfc", _real("erfc", input)))


def _flat(name, fn, decimals=0):
    def op(input):  # noqa: A002 - PyTorch's name
        input = _real(name, _float_input(name, input))  # noqa: A001
        if input._data.dtype.kind in "biu":  # integers are already whole (bool: PyTorch's error)
            return refuse_bool(name, input)
        return Flat.apply(input, fn=fn, kind=name, decimals=decimals)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``{name}`` of each element; its gradient is 0 (a step function), as PyTorch's."
    return op


floor = _flat("floor", lambda xp, x: xp.floor(x))
ceil = _flat("ceil", lambda xp, x: xp.ceil(x))
trunc = _flat("trunc", lambda xp, x: xp.trunc(x))
_round_half_even = _flat("round", lambda xp, x: xp.round(x))


def round(input, *, decimals: int = 0):  # noqa: A001, A002 - PyTorch's name
    """Round half to even to ``decimals`` places (integers: only 0, as PyTorch's); gradient 0."""
    if decimals == 0:
        return _round_half_even(input)
    if isinstance(input, Tensor) and input._data.dtype.kind in "biu":
        raise NotImplementedError(f"round: decimals={decimals} of a {input.dtype} tensor")
    s = 10.0 ** abs(int(decimals))  # PyTorch divides by 10 ** -decimals when negative
    up, down = (lambda a: a * s, lambda a: a / s)[::1 if decimals > 0 else -1]  # float16 in float32
    return in_float32()(_flat("round", lambda xp, a: down(xp.round(up(a))), decimals))(input)


def frac(input):  # noqa: A002
    """input - trunc(input), the fractional part with input's sign; gradient 1."""
    return input - trunc(refuse_integer("frac", input))


def remainder(input, other):  # noqa: A002
    """input mod other with the sign of other (Python's ``%``, PyTorch's ``remainder``)."""
    input, other = binary("remainder", input, other)  # noqa: A001
    return Remainder.apply(input, other, truncate=False)


def fmod(input, other):  # noqa: A002
    """input mod other with the sign of input (C's ``fmod``)."""
    input, other = binary("fmod", input, other)  # noqa: A001
    return Remainder.apply(input, other, truncate=True)


def floor_divide(input, other):  # noqa: A002
    """floor(input / other), not differentiable (PyTorch's ``//``)."""
    try:
        input, other = binary("floor_divide", input, other, opmath=True)  # noqa: A001
    except InFloat32:
        return call_in_float32(floor_divide, (input, other), {})
    _no_int_zero("floor_divide", input._data, other._data)
    return nondiff(lambda u, v: get_array_module(u, v).floor_divide(u, v), input, other)


def atan2(input, other):  # noqa: A002
    """The angle of the point (x=other, y=input), in (-pi, pi]."""
    input, other = binary("atan2", input, other, int_to_float=True)  # noqa: A001
    return Atan2.apply(input, other)


def logaddexp(input, other):  # noqa: A002
    """log(exp(input) + exp(other)) without overflow."""
    x, y = binary("logaddexp", *refuse_integer_pair("logaddexp", input, other))
    return LogAddExp.apply(x, y)


def hypot(input, other):  # noqa: A002
    """sqrt(input^2 + other^2) without overflow."""
    input, other = binary("hypot", input, other, int_to_float=True)  # noqa: A001
    return Hypot.apply(input, other)


def square(input):  # noqa: A002
    return _pow(input, 2)


def clamp_min(input, min):  # noqa: A002 - PyTorch's argument name
    return clip(input, min, None)


def clamp_max(input, max):  # noqa: A002 - PyTorch's argument name
    return clip(input, None, max)


@in_float32()  # float16 as PyTorch's: computed in float32, rounded once
def lerp(input, end, weight):  # noqa: A002
    """input + weight (end - input), PyTorch's way: from ``end`` where weight >= 0.5 (exact)."""
    diff = end - input
    if not isinstance(weight, Tensor):
        return input + weight * diff if weight < 0.5 else end - diff * (1 - weight)
    return where(weight < 0.5, input + weight * diff, end - diff * (1 - weight))


def nan_to_num(input, nan: float = 0.0, posinf: float | None = None,  # noqa: A002
               neginf: float | None = None):
    """NaN -> ``nan``, +inf -> ``posinf`` and -inf -> ``neginf`` (default: the dtype's largest
    and smallest finite values); the gradient is 0 at the replaced entries."""
    return NanToNum.apply(_float_input("nan_to_num", input), nan=nan, posinf=posinf, neginf=neginf)


def _predicate(name, test):
    def op(input):  # noqa: A002 - PyTorch's name
        input = _real(name, _float_input(name, input))  # noqa: A001
        return nondiff(lambda a: get_array_module(a).asarray(test(get_array_module(a), a)), input)

    op.__name__ = op.__qualname__ = name
    return op


isnan, isinf, isfinite, signbit = (_predicate(n, lambda xp, a, n=n: getattr(xp, n)(a))
                                   for n in ("isnan", "isinf", "isfinite", "signbit"))

_METHODS = {
    "rsqrt": rsqrt, "expm1": expm1, "log1p": log1p, "log2": log2, "log10": log10, "exp2": exp2,
    "tan": tan, "atan": atan, "arctan": atan, "asin": asin, "arcsin": asin, "acos": acos,
    "arccos": acos, "sinh": sinh, "cosh": cosh, "erf": erf, "erfc": erfc, "floor": floor,
    "ceil": ceil, "trunc": trunc, "round": round, "frac": frac, "remainder": remainder,
    "fmod": fmod, "floor_divide": floor_divide, "atan2": atan2, "arctan2": atan2,
    "logaddexp": logaddexp, "hypot": hypot, "square": square, "reciprocal": reciprocal,
    "clamp_min": clamp_min, "clamp_max": clamp_max, "lerp": lerp, "nan_to_num": nan_to_num,
    "isnan": isnan, "isinf": isinf, "isfinite": isfinite, "signbit": signbit,
    "absolute": lambda self: self.abs(), "negative": lambda self: -self, "neg": lambda self: -self,
    "cos": cos, "where": lambda self, condition, other: where(condition, self, other),
    "__mod__": remainder, "__floordiv__": floor_divide,
}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
Tensor.__rmod__ = lambda self, other: remainder(other, self)
Tensor.__rfloordiv__ = lambda self, other: floor_divide(other, self)
