"""``special.gammainc``, ``gammaincc`` and ``zeta`` (Hurwitz), with PyTorch's gradients::

    d P(a, x) / dx = -d Q(a, x) / dx = x^(a - 1) e^-x / Gamma(a)
    d zeta(s, q) / dq = -s zeta(s + 1, q)

written with chainrule ops (they differentiate again). PyTorch has no derivative with respect to
``a`` or ``s``: a backward that needs one raises NotImplementedError, as PyTorch's does. The array
work is in ``_gamma_inc.py``.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.promotion import result_type, true_divide_dtype
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from . import _gamma_inc
from .elementwise import _check_broadcast, exp, log
from .shape import sum_to
from .special_fns import lgamma

__all__ = ["gammainc", "gammaincc", "zeta"]


def _in_float64(kernel, *arrays):
    dtype = arrays[0].dtype
    xp = get_array_module(*arrays)
    shape = xp.broadcast_shapes(*(a.shape for a in arrays))
    wide = [xp.broadcast_to(a.astype(xp.float64), shape) for a in arrays]
    return kernel(*wide).astype(dtype)


class IncompleteGamma(Function):
    """P(a, x), or Q(a, x) with ``upper``."""

    def forward(self, a, x):
        kernel = _gamma_inc.gammaincc if self.upper else _gamma_inc.gammainc
        try:
            return _in_float64(kernel, a, x)
        except _gamma_inc.NotConvergedError:
            name = "gammaincc" if self.upper else "gammainc"
            raise ValueError(
                f"{name}: the series for a near x needs about 9 sqrt(a) terms, and some a here "
                f"(the largest is {float(a.max()):g}) needs more than {_gamma_inc._MAX_TERMS}; "
                "arguments with x near a above about 1e7 are not supported") from None

    def backward(self, g):
        a, x = self.inputs
        name = "gammaincc" if self.upper else "gammainc"
        if self.needs_input_grad[0]:
            raise NotImplementedError(
                f"{name}: the derivative with respect to input (a) is not implemented (nor is it "
                "in PyTorch); detach input, or differentiate with respect to other (x) only")
        density = exp((a - 1) * log(x) - x - lgamma(a))
        return None, sum_to(-g * density if self.upper else g * density, x.shape)


class Zeta(Function):
    def forward(self, s, q):
        try:
            return _in_float64(_gamma_inc.hurwitz_zeta, s, q)
        except _gamma_inc.NotConvergedError:
            raise ValueError(
                f"zeta: q = {float(q.min()):g} would take a term for each of its "
                f"{-float(q.min()):.0f} steps to 0; q below -{_gamma_inc._MAX_TERMS - 20} is not "
                "supported") from None

    def backward(self, g):
        s, q = self.inputs
        if self.needs_input_grad[0]:
            raise NotImplementedError(
                "zeta: the derivative with respect to input (s) is not implemented (nor is it in "
                "PyTorch); detach input, or differentiate with respect to other (q) only")
        return None, sum_to(-g * s * zeta(s + 1, q), q.shape)


def _operands(op: str, x, y, numbers: bool):
    """The two operands as Tensors of one floating dtype (PyTorch's promotion)."""
    if not numbers:
        for name, value in (("input", x), ("other", y)):
            if not isinstance(value, Tensor):
                raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
    elif not isinstance(x, Tensor) and not isinstance(y, Tensor):
        raise TypeError(f"{op}: expected at least one Tensor among input and other, got "
                        f"{type(x).__name__} and {type(y).__name__}")
    tensors = [v for v in (x, y) if isinstance(v, Tensor)]
    for name, value in (("input", x), ("other", y)):
        if isinstance(value, Tensor):
            if value.dtype.kind not in "biuf":
                raise TypeError(f"{op}: {name} must be real, got dtype {value.dtype}")
            if not numbers and all(v.dtype.kind != "f" for v in tensors):  # promotes as PyTorch
                raise TypeError(f"{op}: {name} must be a floating-point Tensor, got dtype "
                                f"{value.dtype} (as PyTorch, which has no integer kernel)")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{op}: {name} must be a Tensor or a number, got "
                            f"{type(value).__name__}")
    xp = get_array_module(*[t._data for t in tensors])
    dtype = true_divide_dtype(result_type(x, y))  # PyTorch's promotion; integers: float32
    x, y = (v.astype(dtype) if isinstance(v, Tensor) else Tensor(xp.asarray(v, dtype=dtype))
            for v in (x, y))
    _check_broadcast(op, x, y)
    return x, y


def gammainc(input, other, *, out=None):  # noqa: A002 - PyTorch's names
    """P(a, x) = 1/Gamma(a) int_0^x t^(a-1) e^-t dt for a = ``input``, x = ``other``; the
    gradient with respect to x only, as PyTorch's."""
    if out is not None:
        raise TypeError("gammainc: out= is not supported; use the returned tensor")
    return IncompleteGamma.apply(*_operands("gammainc", input, other, False), upper=False)


def gammaincc(input, other, *, out=None):  # noqa: A002
    """Q(a, x) = 1 - P(a, x); the gradient with respect to x only, as PyTorch's."""
    if out is not None:
        raise TypeError("gammaincc: out= is not supported; use the returned tensor")
    return IncompleteGamma.apply(*_operands("gammaincc", input, other, False), upper=True)


def zeta(input, other, *, out=None):  # noqa: A002
    """The Hurwitz zeta function sum_k (q + k)^-s for s = ``input``, q = ``other`` (either may
    be a number); the gradient with respect to q only, as PyTorch's."""
    if out is not None:
        raise TypeError("zeta: out= is not supported; use the returned tensor")
    return Zeta.apply(*_operands("zeta", input, other, True))
