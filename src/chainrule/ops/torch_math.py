"""PyTorch's smaller elementwise functions and predicates: ``addcmul``, ``addcdiv``, ``ldexp``,
``logaddexp2``, ``frexp``, ``gcd``/``lcm``, ``nextafter``, ``isin``, ``isneginf``..., ``vander``,
and the complex-number names as PyTorch defines them on real tensors.

On a real tensor ``real``, ``conj``, ``conj_physical``, ``resolve_conj`` and ``resolve_neg``
return their input (PyTorch returns the same tensor), ``imag`` refuses, ``angle`` is 0 or pi
(gradient 0), and ``is_conj``/``is_neg`` are False. On a complex tensor ``real``/``imag`` are views
of its parts, ``conj`` the conjugate (a copy: never lazy here, so ``resolve_conj`` has nothing to
do), ``angle`` the argument, with gradients (``ops/complex.py``). The differentiable ones are
compositions of recorded ops, so their gradients are exact to any order.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

from ..autograd.function import Function, nondiff
from ..autograd.tensor import Tensor
from ..autograd.views import refuses_in_place
from ..backend import config, get_array_module, numpy
from ._conj import Imag, Real, cj, conj_copy
from ._promotion import promoted, promoted_all, result_type
from ._real_only import refuse_complex
from .complex import ComplexAngle
from .creation import ones_like
from .elementwise import cast, div, mul
from .join import stack
from .math import exp2, logaddexp
from .shape import sum_to
from .torch_names import no_out, tensor_input

__all__ = [
    "addcdiv", "addcmul", "angle", "conj", "conj_physical", "frexp", "gcd", "ger", "imag",
    "is_conj", "is_neg", "is_nonzero", "is_same_size", "is_signed", "isin", "isneginf",
    "isposinf", "isreal", "lcm", "ldexp", "logaddexp2", "nextafter", "real", "resolve_conj",
    "resolve_neg", "vander",
]

_LN2 = math.log(2.0)


class FrexpResult(NamedTuple):
    """``frexp``'s (mantissa, exponent), as ``torch.return_types.frexp``."""

    mantissa: Tensor
    exponent: Tensor


def _kind(v) -> str:
    return (v._data if isinstance(v, Tensor) else numpy.asarray(v)).dtype.kind


def _float_of(x: Tensor) -> Tensor:
    """``x`` itself when floating point, else cast to the default dtype (PyTorch's promotion of
    an integer input to a floating result)."""
    return x if x.dtype.kind == "f" else cast(x, config.default_dtype)


def _in_float32(op, input, tensor1, tensor2, value):  # noqa: A002
    """``op`` of float16 tensors computed in float32 and rounded once, as PyTorch's: in float16
    ``tensor1 * tensor2`` overflows first (an Adam ``addcmul_(g, g)`` of a gradient of 300)."""
    args = (cast(t, numpy.float32) for t in (input, tensor1, tensor2))
    with numpy.errstate(over="ignore"):  # beyond 65504 is inf, silently
        return cast(op(*args, value=value), numpy.float16)


def addcmul(input, tensor1, tensor2, *, value=1, out=None) -> Tensor:  # noqa: A002
    """``input + value * tensor1 * tensor2`` with broadcasting."""
    no_out("addcmul", out)
    tensor_input("addcmul", input), tensor_input("addcmul", tensor1, "tensor1")
    input, tensor1, tensor2 = promoted_all(input, tensor1, tensor2)  # noqa: A001 - all at once
    if input.dtype.kind in "iu" and isinstance(value, float):
        value = int(value)  # PyTorch's: value takes the integer dtype (2.5 is 2), not promoting it
    if input.dtype == numpy.float16:
        return _in_float32(addcmul, input, tensor1, tensor2, value)
    prod = mul(tensor1, tensor2)
    return input + (prod if value == 1 else prod * value)


def addcdiv(input, tensor1, tensor2, *, value=1, out=None) -> Tensor:  # noqa: A002
    """``input + value * tensor1 / tensor2`` with broadcasting; integer tensors are refused, as
    PyTorch refuses them (its old integer division is gone)."""
    no_out("addcdiv", out)
    tensor_input("addcdiv", input)
    if _kind(tensor1) in "biu" and _kind(tensor2) in "biu":
        raise TypeError("addcdiv: integer division is not supported; use (input + value * "
                        "torch.trunc(tensor1 / tensor2)).to(input.dtype) for integers, or "
                        "float tensors")
    tensor_input("addcdiv", tensor1, "tensor1")
    input, tensor1, tensor2 = promoted_all(input, tensor1, tensor2)  # noqa: A001 - all at once
    if input.dtype == numpy.float16:
        return _in_float32(addcdiv, input, tensor1, tensor2, value)
    quot = div(tensor1, tensor2)
    return input + (quot if value == 1 else quot * value)


def ldexp(input, other, *, out=None) -> Tensor:  # noqa: A002
    """``input * 2 ** other`` in PyTorch's dtype: ``input``'s beside an integer ``other`` (the
    default dtype for an integer ``input``), else the two promoted, so an integer ``input`` with
    a float16 or float64 0-d ``other`` is float16 or float64 and a complex ``input`` stays
    complex (was: the default dtype, the imaginary part dropped). Differentiable in both
    (``other`` when it is floating point)."""
    no_out("ldexp", out)
    x = tensor_input("ldexp", input)
    if not isinstance(other, Tensor):
        other = Tensor(get_array_module(x._data).asarray(other))
    if other.dtype.kind in "biu":
        dtype = x.dtype if x.dtype.kind in "fc" else config.default_dtype
    else:
        dtype = result_type(x, other)
    x = x if x.dtype == dtype else cast(x, dtype)
    if other.dtype.kind in "biu" and dtype.kind == "f":
        return _Ldexp.apply(x, other)
    return x * exp2(other if other.dtype.kind in "fc" else cast(other, config.default_dtype))


class _Ldexp(Function):
    """``x * 2 ** e`` for integer ``e`` by moving the exponent (``ldexp``), as PyTorch's values:
    ``2 ** e`` alone would overflow on the way (0 * 2 ** 200 is 0 in float32, not NaN, and a
    denormal times 2 ** 200 is finite). The gradient is ``g`` moved alike."""

    def forward(self, x, e):
        return get_array_module(x, e).ldexp(x, e.astype("int64"))

    def backward(self, g):
        x, e = self.inputs
        return sum_to(_Ldexp.apply(g, e), x.shape), None


def logaddexp2(input, other, *, out=None) -> Tensor:  # noqa: A002
    """``log2(2 ** input + 2 ** other)`` without overflow (``logaddexp`` in base 2)."""
    no_out("logaddexp2", out)
    tensor_input("logaddexp2", input)
    x, y = input, other
    if isinstance(y, Tensor):  # PyTorch's: promoted first, so an integer one meets a float one
        both = result_type(x, y)
        if numpy.dtype(both).kind != "f":
            raise TypeError(f"logaddexp2: input and other must promote to floating point, got "
                            f"{x.dtype} and {y.dtype}")
        if x.dtype != y.dtype:  # scale by ln 2 in the wider precision
            x, y = cast(x, both), cast(y, both)
    else:
        for arg, v in (("input", input), ("other", other)):
            if _kind(v) != "f":
                raise TypeError(f"logaddexp2: {arg} must be floating point, got "
                                f"{v.dtype if isinstance(v, Tensor) else type(v).__name__}")
    if any(isinstance(v, Tensor) and v.dtype == numpy.float16 for v in (x, y)):
        # PyTorch's float16 kernel computes in float32 and rounds once (float16 steps were up
        # to 2 units off in one value in six)
        x, y = (cast(v, numpy.float32) if isinstance(v, Tensor) else v for v in (x, y))
        return cast(logaddexp(x * _LN2, y * _LN2) / _LN2, numpy.float16)
    return logaddexp(x * _LN2, y * _LN2) / _LN2


def frexp(input, *, out=None) -> FrexpResult:  # noqa: A002
    """``input = mantissa * 2 ** exponent`` with ``0.5 <= |mantissa| < 1`` (0 for 0); the
    exponent is int32 and constant, the mantissa ``input * 2 ** -exponent`` carries the gradient,
    as in PyTorch."""
    no_out("frexp", out)
    if tensor_input("frexp", input).dtype.kind != "f":
        raise TypeError(f"frexp: input must be floating point, got dtype {input.dtype}")
    xp = get_array_module(input._data)
    exponent = nondiff(lambda a: xp.frexp(a)[1].astype(xp.int32), input)
    # two power-of-two factors, so that neither overflows for a subnormal input: exact products
    half = nondiff(lambda e: xp.asarray(-(e // 2), dtype=input.dtype), exponent)
    rest = nondiff(lambda e: xp.asarray(e // 2 - e, dtype=input.dtype), exponent)
    return FrexpResult(input * exp2(half) * exp2(rest), exponent)


def _integer_pair(name, ufunc, what):
    def op(input, other, *, out=None) -> Tensor:  # noqa: A002
        no_out(name, out)
        tensor_input(name, input)
        for arg, v in (("input", input), ("other", other)):
            if _kind(v) not in "biu":
                raise TypeError(f"{name}: {arg} must be an integer tensor, got "
                                f"{v.dtype if isinstance(v, Tensor) else type(v).__name__}")
        xp = get_array_module(input._data)
        input, other = promoted(input, other)  # noqa: A001 - PyTorch's promotion
        if input.dtype == bool:  # a bool beside an integer counts as 0 or 1, as PyTorch's
            raise TypeError(f"{name}: not implemented for two bool operands (as PyTorch's)")
        return nondiff(lambda a, b: xp.asarray(getattr(xp, ufunc)(a, b)), input, other)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"The elementwise {what} of integer tensors (nonnegative); not differentiable."
    return op


gcd = _integer_pair("gcd", "gcd", "greatest common divisor")
lcm = _integer_pair("lcm", "lcm", "least common multiple")


def nextafter(input, other, *, out=None) -> Tensor:  # noqa: A002
    """The next floating-point value after ``input`` toward ``other``; not differentiable."""
    no_out("nextafter", out)
    tensor_input("nextafter", input)
    kinds = (input.dtype.kind, _kind(other))
    input, other = promoted(input, other)  # noqa: A001 - PyTorch's promotion
    if input.dtype.kind != "f":  # an integer or bool beside a float is promoted to it first
        raise TypeError(f"nextafter: input and other must promote to a floating-point dtype, "
                        f"got kinds {kinds} (dtype {input.dtype})")
    xp = get_array_module(input._data)
    return nondiff(lambda a, b: xp.asarray(xp.nextafter(a, b)), input, other)


def _predicate(name, fn, doc):
    def op(input, *, out=None) -> Tensor:  # noqa: A002
        no_out(name, out)
        xp = get_array_module(tensor_input(name, input)._data)
        return nondiff(lambda a: xp.asarray(fn(xp, a)), input)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


isposinf = _predicate("isposinf", lambda xp, a: xp.isposinf(a) if a.dtype.kind == "f"
                      else xp.zeros(a.shape, bool), "True where ``input`` is +inf.")
isneginf = _predicate("isneginf", lambda xp, a: xp.isneginf(a) if a.dtype.kind == "f"
                      else xp.zeros(a.shape, bool), "True where ``input`` is -inf.")


def isreal(input) -> Tensor:  # noqa: A002
    """True where the imaginary part is zero (everywhere for a real tensor)."""
    xp = get_array_module(tensor_input("isreal", input)._data)
    if input.dtype.kind == "c":
        return nondiff(lambda a: a.imag == 0, input)
    return nondiff(lambda a: xp.ones(a.shape, bool), input)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """True where an element of ``elements`` occurs in ``test_elements`` (either may be a
    number, not both); ``invert`` negates. Not differentiable."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin: elements or test_elements must be a Tensor, got "
                        f"{type(elements).__name__} and {type(test_elements).__name__}")
    refuse_complex("isin", elements, test_elements)
    like = elements if isinstance(elements, Tensor) else test_elements
    xp = get_array_module(like._data)
    a = elements._data if isinstance(elements, Tensor) else xp.asarray(elements)
    b = test_elements._data if isinstance(test_elements, Tensor) else xp.asarray(test_elements)
    return nondiff(lambda: xp.asarray(xp.isin(a, b, assume_unique=assume_unique, invert=invert)))


class _Angle(Function):
    """The argument of a real number: pi for negatives, 0 otherwise (-0.0 included), NaN kept;
    flat, so its gradient is 0, as PyTorch's."""

    def forward(self, x):
        xp = get_array_module(x)
        return xp.where(x < 0, x.dtype.type(math.pi), xp.where(x == x, x.dtype.type(0), x))

    def backward(self, g):
        return g * 0


def angle(input, *, out=None) -> Tensor:  # noqa: A002
    """``torch.angle``: the argument atan2(imag, real) of a complex tensor (gradient
    g (-y + ix) / |z|^2, 0 at 0); of a real one pi where ``input < 0``, else 0 (an integer input
    gives the default dtype), gradient 0."""
    no_out("angle", out)
    if tensor_input("angle", input).dtype.kind == "c":
        return ComplexAngle.apply(input)
    return _Angle.apply(_float_of(tensor_input("angle", input)))


def _same(name, complex_op=None, what=""):
    def op(input) -> Tensor:  # noqa: A002
        if tensor_input(name, input).dtype.kind == "c" and complex_op is not None:
            return complex_op.apply(input)
        return input

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``torch.{name}``: {what}the tensor itself for a real tensor."
    return op


real = _same("real", Real, "the real part of a complex tensor (a view, as PyTorch's); ")
resolve_neg = _same("resolve_neg")


def conj(input) -> Tensor:  # noqa: A002
    """``torch.conj``: the conjugate of a complex tensor (a copy that refuses in-place changes:
    PyTorch's is a lazy view, see ``conj_copy``), the tensor itself for a real tensor."""
    return conj_copy(tensor_input("conj", input), "conj()")


def resolve_conj(input) -> Tensor:  # noqa: A002
    """``torch.resolve_conj``: a writable copy of a ``conj()`` (or ``mH``...) result, which
    refuses in-place changes; any other tensor itself."""
    t = tensor_input("resolve_conj", input)
    return t.clone() if t.dtype.kind == "c" and refuses_in_place(t) else t


def conj_physical(input, *, out=None) -> Tensor:  # noqa: A002
    """``torch.conj_physical``: the conjugate of a complex tensor, a real tensor itself."""
    no_out("conj_physical", out)
    return cj(tensor_input("conj_physical", input))


def imag(input) -> Tensor:  # noqa: A002
    """The imaginary part of a complex tensor (a view); refused for a real one, as PyTorch."""
    if tensor_input("imag", input).dtype.kind == "c":
        return Imag.apply(input)
    raise TypeError(f"imag: imag is not implemented for tensors with non-complex dtypes "
                    f"(got {input.dtype})")


def is_conj(input) -> bool:  # noqa: A002
    """False: a real tensor is never a lazy conjugate."""
    tensor_input("is_conj", input)
    return False


def is_neg(input) -> bool:  # noqa: A002
    """False: a real tensor is never a lazy negation."""
    tensor_input("is_neg", input)
    return False


def is_nonzero(input) -> bool:  # noqa: A002
    """Whether a one-element tensor is nonzero; more or fewer elements are refused."""
    if tensor_input("is_nonzero", input).numel() != 1:
        raise ValueError(f"is_nonzero: input must have exactly one element, got shape "
                         f"{tuple(input.shape)}")
    return bool(input._data.reshape(-1)[0])


def is_same_size(input, other) -> bool:  # noqa: A002
    """Whether the two tensors have the same shape."""
    return tuple(tensor_input("is_same_size", input).shape) == tuple(
        tensor_input("is_same_size", other, "other").shape)


def is_signed(input) -> bool:  # noqa: A002
    """Whether the dtype holds negative numbers (floats and signed integers)."""
    return tensor_input("is_signed", input).dtype.kind in "fi"


def ger(input, vec2, *, out=None) -> Tensor:  # noqa: A002
    """``torch.ger`` (deprecated there): the outer product of two 1-D tensors."""
    no_out("ger", out)
    for arg, v in (("input", input), ("vec2", vec2)):
        if tensor_input("ger", v, arg).ndim != 1:
            raise ValueError(f"ger: {arg} must be 1-D, got shape {tuple(v.shape)}")
    return input[:, None] * vec2[None, :]


def vander(x, N=None, increasing: bool = False) -> Tensor:  # noqa: N803 - PyTorch's name
    """The Vandermonde matrix of 1-D ``x``: columns ``x ** (N - 1)`` ... ``x ** 0`` (``N`` = len(x)
    by default; ``increasing`` reverses them), built by repeated products so the gradient is
    exact at zeros."""
    if tensor_input("vander", x, "x").ndim != 1:
        raise ValueError(f"vander: x must be 1-D, got shape {tuple(x.shape)}")
    n = x.shape[0] if N is None else N
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"vander: N must be a nonnegative int, got {N!r}")
    if x.dtype.kind in "biu":  # PyTorch's powers of integers and booleans are int64
        x = x.astype("int64")
    if n == 0:
        return Tensor(get_array_module(x._data).zeros((x.shape[0], 0), x.dtype))
    cols = [ones_like(x)]
    for _ in range(1, n):
        cols.append(cols[-1] * x)
    return stack(cols if increasing else cols[::-1], 1)


_METHODS = {
    "addcmul": addcmul, "addcdiv": addcdiv, "ldexp": ldexp, "logaddexp2": logaddexp2,
    "frexp": frexp, "gcd": gcd, "lcm": lcm, "nextafter": nextafter, "isposinf": isposinf,
    "isneginf": isneginf, "isreal": isreal, "angle": angle, "conj": conj,
    "conj_physical": conj_physical, "resolve_conj": resolve_conj, "resolve_neg": resolve_neg,
    "is_conj": is_conj, "is_neg": is_neg, "is_nonzero": is_nonzero, "is_same_size": is_same_size,
    "is_signed": is_signed, "ger": ger,
}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
Tensor.real = property(real, doc="The real part of a complex tensor (a view); a real one itself.")
Tensor.imag = property(imag, doc="The imaginary part of a complex tensor (a view); refused for a "
                                 "real one, as PyTorch refuses it.")
