"""The complex primitives the other ops' backward rules are written with: ``conj``, the real and
imaginary parts, and a complex tensor made of its parts.

Gradients follow PyTorch's convention: for a real loss L of z = x + iy, ``z.grad`` is
dL/dx + i dL/dy. A holomorphic op's backward therefore multiplies by the *conjugate* of its
derivative (``Mul``: ``g * conj(b)``); ``cj`` is that conjugate, and the identity on a real
tensor, so that real-valued ops compute exactly what they did before.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..autograd.views import refuse_in_place, track_copy
from ..backend import get_array_module, numpy
from .shape import sum_to

__all__ = ["Conj", "Imag", "MakeComplex", "Real", "cj", "complex_dtype", "conj_copy",
           "real_dtype"]


def complex_dtype(dtype):
    """The complex dtype of ``dtype``'s precision (float32 -> complex64, float64 -> complex128)."""
    dtype = numpy.dtype(dtype)
    if dtype.kind == "c":
        return dtype
    return numpy.dtype(numpy.complex128 if dtype == numpy.float64 else numpy.complex64)


def real_dtype(dtype):
    """The real dtype of ``dtype``'s precision (complex64 -> float32, complex128 -> float64)."""
    dtype = numpy.dtype(dtype)
    if dtype.kind != "c":
        return dtype
    return numpy.dtype(numpy.float64 if dtype == numpy.complex128 else numpy.float32)


class Conj(Function):
    """The complex conjugate x - iy; its gradient is the conjugate of the incoming one."""

    complex_grad = True

    def forward(self, z):
        return get_array_module(z).conj(z)

    def backward(self, g):
        return Conj.apply(g)


class Real(Function):
    """The real part x of z = x + iy (a view, as PyTorch's ``z.real``); gradient g + 0i."""

    complex_grad = True

    def forward(self, z):
        return z.real

    def backward(self, g):
        return MakeComplex.apply(g, _zeros_like(g))


class Imag(Function):
    """The imaginary part y of z = x + iy (a view, as PyTorch's ``z.imag``); gradient 0 + ig."""

    complex_grad = True

    def forward(self, z):
        return z.imag

    def backward(self, g):
        return MakeComplex.apply(_zeros_like(g), g)


class MakeComplex(Function):
    """``real + i imag`` (broadcast); the gradients are the real and imaginary parts of g."""

    complex_grad = True

    def forward(self, re, im):
        xp = get_array_module(re, im)
        out = xp.empty(xp.broadcast_shapes(re.shape, im.shape),
                       dtype=complex_dtype(xp.result_type(re, im)))
        out.real = re
        out.imag = im
        return out

    def backward(self, g):
        re, im = self.inputs
        gre = sum_to(Real.apply(g), re._data.shape) if self.needs_input_grad[0] else None
        gim = sum_to(Imag.apply(g), im._data.shape) if self.needs_input_grad[1] else None
        return gre, gim


def _zeros_like(g):
    return Tensor(get_array_module(g._data).zeros(g._data.shape, dtype=g._data.dtype))


def cj(t):
    """``conj(t)`` for a complex Tensor, ``t`` itself for a real one (no node, no copy)."""
    return Conj.apply(t) if t._data.dtype.kind == "c" else t


def conj_copy(t, what: str):
    """``cj(t)`` where a user asked for PyTorch's lazy conjugate, a view (``conj()``, ``mH``,
    ``H``, ``adjoint()``): NumPy has none, so a complex result is a copy, which refuses in-place
    changes (they would not reach ``t``) and takes those of ``t`` (``views.track_copy``)."""
    out = cj(t)
    if out is not t:
        refuse_in_place(out, f"{what} of a complex tensor is a conjugated copy (NumPy has no "
                             "lazy conjugate view), so changing it would not change the tensor "
                             "as PyTorch's view does. Use conj_physical(), or clone() it, for a "
                             "copy to write into")
        track_copy(out, t, conj=True)  # a change of t is carried into it
    return out
