"""Special functions, PyTorch's names: lgamma, digamma, polygamma, mvlgamma, erfinv, logit,
xlogy, xlog1py, sinc, entr, ndtr, ndtri, log_ndtr, asinh/acosh/atanh, deg2rad/rad2deg,
heaviside, copysign, float_power, true_divide, fix, i0 (and special's i0e, i1, i1e).

The derivatives, written with chainrule ops so that they differentiate again:

    d lgamma = digamma    d digamma = polygamma(1, .)    d polygamma(n, .) = polygamma(n + 1, .)
    d erfinv(x) = sqrt(pi) / 2 e^(erfinv(x)^2)          d ndtri(p) = sqrt(2 pi) e^(ndtri(p)^2 / 2)
    d ndtr(x) = e^(-x^2 / 2) / sqrt(2 pi)     d log_ndtr(x) = e^(-x^2/2 - log_ndtr(x)) / sqrt(2 pi)
    xlogy(x, y) = x log y: dx = log y, dy = x / y       d sinc(x) = (cos(pi x) - sinc(x)) / x
    d asinh = 1 / sqrt(x^2 + 1)   d acosh = 1 / sqrt(x^2 - 1)   d atanh = 1 / (1 - x^2)
    d i0 = i1    d i1 = i0 - i1 / x    d i0e = i1e - sign(x) i0e   d i1e = i0e - i1e (sign(x) + 1/x)

The array work (series, recurrences, Newton steps) is in ``_gamma.py``, ``_bessel.py`` and
``_special.py``; it runs in float64 and the result is cast back to the input's floating dtype.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.function import Function, nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module, numpy
from ..backend.defaults import get_default_dtype
from . import _bessel, _gamma
from ._promotion import as_dtype, binary, plain_numbers
from ._special import ndtr as _ndtr
from ._tail_slopes import erfcx_slope, log_ndtr_slope
from ._wide import in_float32
from .elementwise import _check_broadcast, cos, div, exp, fill_where, log, sqrt, where
from .elementwise import pow as _pow
from .math import _float_input, _real, _Unary, trunc
from .reduce import sum as _sum
from .shape import sum_to
from .special_logit import logit

__all__ = ["acosh", "arccosh", "arcsinh", "arctanh", "asinh", "atanh", "copysign", "deg2rad",
    "digamma", "entr", "erfcx", "erfinv", "fix", "float_power", "heaviside", "i0", "lgamma",
    "log_ndtr", "logit", "mvlgamma", "ndtr", "ndtri", "polygamma", "rad2deg", "sinc",
    "true_divide", "xlog1py", "xlogy"]


def _in_float64(xp, x, kernel):
    """``kernel`` evaluated in float64, returned in the floating dtype a ufunc gives ``x``."""
    out = xp.result_type(x.dtype, xp.float16)
    return kernel(x.astype(xp.float64, copy=False)).astype(out, copy=False)


class Lgamma(_Unary):
    fn = staticmethod(lambda xp, x: _in_float64(xp, x, _gamma.lgamma))
    rule = staticmethod(lambda x, out, g: g * digamma(x))


class Polygamma(Function):
    def forward(self, x):
        xp = get_array_module(x)
        return _in_float64(xp, x, lambda a: _gamma.polygamma(self.n, a))

    def backward(self, g):
        return g * Polygamma.apply(self.inputs[0], n=self.n + 1)


class Erfinv(_Unary):
    fn = staticmethod(lambda xp, x: _in_float64(xp, x, _gamma.erfinv))
    rule = staticmethod(lambda x, out, g: g * (math.sqrt(math.pi) / 2) * exp(out * out))


class Erfcx(_Unary):
    fn = staticmethod(lambda xp, x: _in_float64(xp, x, _gamma.erfcx))
    rule = staticmethod(lambda x, out, g: g * erfcx_slope(x, out))  # a series above 20


class Ndtr(_Unary):
    fn = staticmethod(lambda xp, x: _in_float64(xp, x, _ndtr))
    rule = staticmethod(lambda x, out, g: g * exp(x * x * -0.5) * (1 / math.sqrt(2 * math.pi)))


class Ndtri(_Unary):
    fn = staticmethod(lambda xp, x: _in_float64(xp, x, _gamma.ndtri))
    rule = staticmethod(lambda x, out, g: g * math.sqrt(2 * math.pi) * exp(out * out * 0.5))


class LogNdtr(_Unary):
    fn = staticmethod(lambda xp, x: _in_float64(xp, x, _gamma.log_ndtr))
    rule = staticmethod(lambda x, out, g: g * log_ndtr_slope(x, out))  # -x / series far left


def _unscaled(scaled):
    def kernel(a):
        xp = get_array_module(a)
        with xp.errstate(over="ignore", invalid="ignore"):
            out = xp.exp(xp.abs(a)) * scaled(a)  # inf where I overflows, as it should
            return xp.where(xp.isinf(a), xp.sign(scaled(xp.sign(a))) * xp.inf, out)
    return kernel


class I0(_Unary):
    fn = staticmethod(lambda xp, x: _in_float64(xp, x, _unscaled(_bessel.i0e)))
    rule = staticmethod(lambda x, out, g: g * i1(x))


class I0e(_Unary):
    fn = staticmethod(lambda xp, x: _in_float64(xp, x, _bessel.i0e))
    rule = staticmethod(lambda x, out, g: g * (i1e(x) - Tensor(_sign(x)) * out))


class I1(_Unary):
    """I1'(x) = I0(x) - I1(x) / x, 1/2 at 0."""

    fn = staticmethod(lambda xp, x: _in_float64(xp, x, _unscaled(_bessel.i1e)))

    @staticmethod
    def rule(x, out, g):
        zero = x._data == 0
        return g * fill_where(zero, 0.5, i0(x) - out / fill_where(zero, 1.0, x))


class I1e(_Unary):
    """i1e'(x) = i0e(x) - i1e(x) (sign(x) + 1/x), 1/2 at 0."""

    fn = staticmethod(lambda xp, x: _in_float64(xp, x, _bessel.i1e))

    @staticmethod
    def rule(x, out, g):
        zero = x._data == 0
        safe = fill_where(zero, 1.0, x)
        return g * fill_where(zero, 0.5, i0e(x) - out * (Tensor(_sign(x)) + 1 / safe))


def _sign(x):
    return get_array_module(x._data).sign(x._data)


class Asinh(_Unary):
    fn = staticmethod(lambda xp, x: xp.arcsinh(x))
    rule = staticmethod(lambda x, out, g: g / sqrt(x * x + 1))


class Acosh(_Unary):
    """acosh; its derivative 1 / sqrt(x^2 - 1) is 1 / (sqrt(x - 1) sqrt(x + 1)) for a complex x
    (the two differ in sign where Re x < 0, the branch numpy's and PyTorch's acosh take)."""

    fn = staticmethod(lambda xp, x: xp.arccosh(x))

    @staticmethod
    def rule(x, out, g):
        if x._data.dtype.kind == "c":
            return g / (sqrt(x - 1) * sqrt(x + 1))
        return g / sqrt(x * x - 1)


class Atanh(_Unary):
    fn = staticmethod(lambda xp, x: xp.arctanh(x))
    rule = staticmethod(lambda x, out, g: g / (1 - x * x))


class Sinc(_Unary):
    """sin(pi x) / (pi x), 1 at 0. Near 0 the derivative is its Taylor series (-pi^2/3 x + ...,
    0 at 0), so that differentiating it again gives sinc''(0) = -pi^2/3."""

    fn = staticmethod(lambda xp, x: xp.sinc(x))

    @staticmethod
    def rule(x, out, g):  # |pi x| < 0.1: Taylor's, as (cos(pi x) - sinc x) / x cancels there
        small = get_array_module(x._data).abs(x._data) < 0.03
        if not small.any():
            return g * (cos(x * math.pi) - out) / x
        y, safe = fill_where(~small, 0.0, x) * math.pi, fill_where(small, 1.0, x)
        near = y * math.pi * (-1 / 3 + y * y * (1 / 30 + y * y * (-1 / 840 + y * y / 45360)))
        return g * where(Tensor(small), near, (cos(safe * math.pi) - out) / safe)


for _op in (Asinh, Acosh, Atanh, Sinc):
    _op.complex_grad = True  # holomorphic, real Taylor coefficients (math.py's _Unary)


def _floating(op, x):
    x = _float_input(op, x)
    if op not in ("asinh", "acosh", "atanh", "sinc"):  # the others take real numbers only
        _real(op, x)
    if x.dtype.kind in "biu":  # PyTorch's integer inputs give the default float dtype
        return x.astype(get_default_dtype())
    return x


def lgamma(input):  # noqa: A002 - PyTorch's name
    """log |Gamma(x)| (+inf at 0 and the negative integers)."""
    return Lgamma.apply(_floating("lgamma", input))


def digamma(input):  # noqa: A002
    """psi(x) = d/dx log Gamma(x) (-inf at 0, nan at the negative integers, as PyTorch)."""
    return Polygamma.apply(_floating("digamma", input), n=0)


def polygamma(n, input):  # noqa: A002
    """The n-th derivative of digamma (n = 0: digamma itself); n >= 2 takes arguments >= -1e4."""
    if isinstance(n, Tensor) and n.ndim == 0 and n._data.dtype.kind in "iu":
        n = int(n.item())  # a 0-d integer tensor counts as its int, as in PyTorch
    n = plain_numbers(n)[0]  # np.int64(1) too (was refused)
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative int, got {n!r}")
    return Polygamma.apply(_floating("polygamma", input), n=n)


def mvlgamma(input, p):  # noqa: A002
    """The multivariate log-gamma of dimension p: p(p-1)/4 log(pi) + sum_i lgamma(x - i/2)."""
    if isinstance(p, Tensor) and p.ndim == 0 and p._data.dtype.kind in "iu":
        p = int(p.item())  # a 0-d integer tensor counts as its int, as in PyTorch
    if isinstance(p, bool) or not isinstance(p, numbers.Integral) or p < 1:
        raise ValueError(f"mvlgamma: p must be a positive int, got {p!r}")
    p = int(p)
    if isinstance(input, Tensor) and input.dtype == "bool":  # PyTorch refuses bool here only
        raise TypeError("mvlgamma: input may not be a bool tensor (as PyTorch); convert it")
    x = _floating("mvlgamma", input)  # any x, as PyTorch 2.13 (no (p-1)/2 domain check)
    xp = get_array_module(x._data)
    shifts = Tensor(xp.arange(p, dtype=x.dtype) * -0.5)
    return _sum(lgamma(x.reshape(*x.shape, 1) + shifts), -1) + p * (p - 1) / 4 * math.log(math.pi)


def erfinv(input):  # noqa: A002
    """The inverse of erf on [-1, 1] (+-inf at +-1, nan outside)."""
    return Erfinv.apply(_floating("erfinv", input))


def erfcx(input):  # noqa: A002
    """The scaled complementary error function e^(x^2) erfc(x), finite where erfc underflows."""
    return Erfcx.apply(_floating("erfcx", input))


def ndtr(input):  # noqa: A002
    """The standard normal distribution function Phi(x)."""
    return Ndtr.apply(_floating("ndtr", input))


def ndtri(input):  # noqa: A002
    """The inverse of ndtr: the x with Phi(x) = p (-inf at 0, +inf at 1, nan outside [0, 1])."""
    return Ndtri.apply(_floating("ndtri", input))


def log_ndtr(input):  # noqa: A002
    """log Phi(x), accurate far into the lower tail (where Phi underflows)."""
    return LogNdtr.apply(_floating("log_ndtr", input))


def i0(input):  # noqa: A002
    """The modified Bessel function of the first kind of order 0."""
    return I0.apply(_floating("i0", input))


def i0e(input):  # noqa: A002
    """e^(-|x|) I0(x), finite where I0 overflows."""
    return I0e.apply(_floating("i0e", input))


def i1(input):  # noqa: A002
    """The modified Bessel function of the first kind of order 1."""
    return I1.apply(_floating("i1", input))


def i1e(input):  # noqa: A002
    """e^(-|x|) I1(x), finite where I1 overflows."""
    return I1e.apply(_floating("i1e", input))


def asinh(input):  # noqa: A002
    return Asinh.apply(_floating("asinh", input))


def acosh(input):  # noqa: A002
    return Acosh.apply(_floating("acosh", input))


def atanh(input):  # noqa: A002
    return Atanh.apply(_floating("atanh", input))


arcsinh, arccosh, arctanh = asinh, acosh, atanh


@in_float32()  # float16 as PyTorch's (pi x rounded to float16 missed sinc's zeros by 3e-4)
def sinc(input):  # noqa: A002
    """The normalized sinc sin(pi x) / (pi x), 1 at 0."""
    return Sinc.apply(_floating("sinc", input))


def deg2rad(input):  # noqa: A002
    return _floating("deg2rad", input) * (math.pi / 180)


def rad2deg(input):  # noqa: A002
    return _floating("rad2deg", input) * (180 / math.pi)


def entr(input):  # noqa: A002
    """-x log x elementwise (0 at 0, -inf for x < 0); the gradient -(1 + log x) where x > 0, and 0
    where x <= 0 (PyTorch gives inf at 0 and nan below)."""
    x = _floating("entr", input)
    d = x._data
    xp = get_array_module(d)
    safe = where(Tensor(d > 0), x, 1.0)
    rest = xp.where(d == 0, 0.0, xp.where(xp.isnan(d), xp.nan, -xp.inf)).astype(d.dtype)
    return where(Tensor(d > 0), -safe * log(safe), Tensor(rest))


class XLogY(Function):
    """x log(y), or x log(1 + y) (``plus_one``), 0 where x == 0 unless y is nan."""

    def forward(self, x, y):
        xp = get_array_module(x, y)
        if y.dtype.kind != "f":  # NumPy's log of a uint8/bool is float16: take it in x's float
            y = y.astype(xp.result_type(x, y))
        with xp.errstate(all="ignore"):
            out = x * (xp.log1p(y) if self.plus_one else xp.log(y))
            out = xp.where(x == 0, xp.zeros_like(out), out)
            return xp.where(xp.isnan(y), xp.nan, out).astype(out.dtype)

    def backward(self, g):
        x, y = self.inputs
        gx = gy = None
        if self.needs_input_grad[0]:
            edge = -1 if self.plus_one else 0  # PyTorch's: 0 where x == 0 and y is at or past
            flat = (x._data == 0) & (y._data <= edge)  # the log's pole
            gx = sum_to(fill_where(flat, 0, XLogY.apply(g, y, plus_one=self.plus_one)), x.shape)
        if self.needs_input_grad[1]:
            gy = sum_to(g * x / (y + 1 if self.plus_one else y), y.shape)
        return gx, gy


def _pair(op, x, y):
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        raise TypeError(f"{op}: expected at least one Tensor, got {type(x).__name__} and "
                        f"{type(y).__name__}")
    return binary(op, _real(op, x), _real(op, y), int_to_float=True)  # ints: the default dtype


def xlogy(input, other):  # noqa: A002
    """x log y, with 0 where x == 0 (unless y is nan); either may be a Python number."""
    return XLogY.apply(*_pair("xlogy", input, other), plus_one=False)


def xlog1py(input, other):  # noqa: A002
    """x log(1 + y), with 0 where x == 0 (unless y is nan)."""
    return XLogY.apply(*_pair("xlog1py", input, other), plus_one=True)


class CopySign(Function):
    def forward(self, a, b):
        return get_array_module(a, b).copysign(a, b)

    def backward(self, g):
        a, b = self.inputs
        zero = a._data == 0  # PyTorch's: the gradient result / a, 0 where a == 0
        ga = sum_to(fill_where(zero, 0, g * self.output / fill_where(zero, 1, a)), a.shape)
        return ga, None


def copysign(input, other):  # noqa: A002
    """|input| with the sign of ``other`` (a Tensor or number; -0.0 counts as negative); only
    ``input`` has a gradient."""
    return CopySign.apply(*_pair("copysign", input, other))


def heaviside(input, values):  # noqa: A002
    """0 where x < 0, ``values`` where x == 0, 1 where x > 0; not differentiable (as PyTorch)."""
    if not isinstance(input, Tensor) or not isinstance(values, Tensor):
        raise TypeError("heaviside: input and values must be Tensors, got "
                        f"{type(input).__name__} and {type(values).__name__}")
    if input.dtype != values.dtype:
        raise TypeError(f"heaviside: input and values must have the same dtype, got "
                        f"{input.dtype} and {values.dtype}")
    _check_broadcast("heaviside", input, values)
    return nondiff(lambda x, v: get_array_module(x, v).heaviside(x, v).astype(x.dtype),
                   input, values)


def float_power(input, exponent):  # noqa: A002
    """``input ** exponent`` computed in float64, or complex128 when either is complex, as
    PyTorch's (a complex operand was cast to float64, its imaginary part silently dropped)."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError(f"float_power: expected a Tensor, got {type(input).__name__} and "
                        f"{type(exponent).__name__}")
    if not isinstance(exponent, (Tensor, numbers.Number)) or isinstance(exponent, bool):
        raise TypeError(f"float_power: exponent must be a Tensor or a number, got {exponent!r}")
    complex_ = any(v.dtype.kind == "c" if isinstance(v, Tensor) else numpy.iscomplexobj(v)
                   for v in (input, exponent))
    wide = numpy.dtype("complex128" if complex_ else "float64")
    base = as_dtype(input, wide, exponent)
    if isinstance(exponent, Tensor):
        exponent = exponent.astype(wide)
    elif complex_:
        exponent = complex(exponent)
    return _pow(base.astype(wide), exponent)


def true_divide(dividend, divisor):
    """``dividend / divisor`` (true division, PyTorch's alias of ``div``)."""
    return div(dividend, divisor)


def fix(input):  # noqa: A002
    """Rounding toward zero (PyTorch's alias of ``trunc``); gradient 0."""
    return trunc(input)


_METHODS = {
    "lgamma": lgamma, "digamma": digamma, "polygamma": lambda self, n: polygamma(n, self),
    "mvlgamma": mvlgamma, "erfinv": erfinv, "i0": i0, "logit": logit, "xlogy": xlogy, "sinc": sinc,
    "asinh": asinh, "acosh": acosh, "atanh": atanh, "arcsinh": asinh, "arccosh": acosh,
    "arctanh": atanh, "deg2rad": deg2rad, "rad2deg": rad2deg, "heaviside": heaviside,
    "copysign": copysign, "float_power": float_power, "true_divide": true_divide, "fix": fix,
}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
