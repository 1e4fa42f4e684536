"""Complex tensors: ``complex(real, imag)``, ``polar(abs, angle)``, ``view_as_real``,
``view_as_complex`` and the angle of a complex tensor, each with its gradient.

Gradients follow PyTorch's convention: for a real loss L of z = x + iy, ``z.grad`` is
dL/dx + i dL/dy, and a real input's gradient is the real part of what reaches it. Only the ops
that opted in (``complex_grad = True`` on their Function: arithmetic, sums and means, shape ops,
indexing, ``matmul``, ``einsum``, ``exp``, ``log``, ``sin``, ``cos``, ``sqrt``, ``pow``, the
holomorphic functions of ``ops/math.py``, ``abs``, the ones here and ``chainrule.fft``) record
complex tensors; any other refuses a complex input that requires grad with a TypeError naming it.

>>> import chainrule as cr
>>> z = cr.complex(cr.tensor([3.0]), cr.tensor([4.0])).requires_grad_()
>>> z.abs().sum().backward()
>>> z.grad.numpy().tolist()  # z / |z|
[(0.6000000238418579+0.800000011920929j)]
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..autograd.views import refuse_in_place
from ..backend import get_array_module
from ._conj import Imag, MakeComplex, Real, complex_dtype, real_dtype
from .elementwise import abs as _abs
from .elementwise import cos, fill_where, sign, sin
from .join import stack
from .shape import sum_to
from .torch_names import tensor_input

__all__ = ["ComplexAngle", "Polar", "ViewAsComplex", "ViewAsReal", "complex", "polar", "sgn",
           "view_as_complex", "view_as_real"]


class ComplexAngle(Function):
    """atan2(y, x) of z = x + iy; its gradient is g (-y + ix) / |z|^2, 0 at z = 0 (PyTorch's)."""

    complex_grad = True

    def forward(self, z):
        return get_array_module(z).angle(z)

    def backward(self, g):
        z = self.inputs[0]
        x, y = Real.apply(z), Imag.apply(z)
        zero = z._data == 0
        s = fill_where(zero, 0, g / fill_where(zero, 1, x * x + y * y))
        return MakeComplex.apply(-(y * s), x * s)


class Polar(Function):
    """``abs * (cos(angle) + i sin(angle))``: the gradients are Re(g e^(-i angle)) for ``abs`` and
    Im(g conj(z)) for ``angle``."""

    complex_grad = True

    def forward(self, r, theta):
        xp = get_array_module(r, theta)
        out = xp.empty(xp.broadcast_shapes(r.shape, theta.shape), complex_dtype(r.dtype))
        out.real = r * xp.cos(theta)
        out.imag = r * xp.sin(theta)
        return out

    def backward(self, g):
        r, theta = self.inputs
        gx, gy = Real.apply(g), Imag.apply(g)
        gr = gt = None
        if self.needs_input_grad[0]:
            gr = sum_to(gx * cos(theta) + gy * sin(theta), r._data.shape)
        if self.needs_input_grad[1]:
            z = self.output
            gt = sum_to(gy * Real.apply(z) - gx * Imag.apply(z), theta._data.shape)
        return gr, gt


class ViewAsReal(Function):
    """A complex tensor's memory read as real pairs: shape (..., 2), a view, as PyTorch."""

    complex_grad = True

    def forward(self, z):
        return z[..., None].view(real_dtype(z.dtype)).reshape(z.shape + (2,))

    def backward(self, g):
        from .shape import getitem

        return MakeComplex.apply(getitem(g, (..., 0)), getitem(g, (..., 1)))


class ViewAsComplex(Function):
    """Real pairs (..., 2) read as one complex number each: shape (...), a view, as PyTorch."""

    complex_grad = True

    def forward(self, x):
        return x.view(complex_dtype(x.dtype)).reshape(x.shape[:-1])

    def backward(self, g):
        return stack([Real.apply(g), Imag.apply(g)], -1)


def _real_float(op, name, x):
    x = tensor_input(op, x, name)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a floating-point tensor (float32 or float64), got "
                        f"dtype {x.dtype}")
    return x


def _same_dtype(op, a, b, names):
    if a.dtype != b.dtype:
        raise TypeError(f"{op}: {names[0]} and {names[1]} must have one dtype, got {a.dtype} and "
                        f"{b.dtype}")


def complex(real, imag, *, out=None) -> Tensor:  # noqa: A001 - torch.complex
    """The complex tensor ``real + i imag`` (float32 parts give complex64, float64 complex128).

    Both parts must be floating-point tensors of one dtype; they broadcast. Gradients flow to
    both: the real and imaginary parts of the incoming gradient.
    """
    if out is not None:
        raise TypeError("complex: out= is not supported; use the returned tensor")
    re, im = _real_float("complex", "real", real), _real_float("complex", "imag", imag)
    _same_dtype("complex", re, im, ("real", "imag"))
    return MakeComplex.apply(re, im)


def polar(abs, angle, *, out=None) -> Tensor:  # noqa: A002 - torch.polar's names
    """The complex tensor ``abs * (cos(angle) + i sin(angle))`` (float parts of one dtype)."""
    if out is not None:
        raise TypeError("polar: out= is not supported; use the returned tensor")
    r, t = _real_float("polar", "abs", abs), _real_float("polar", "angle", angle)
    _same_dtype("polar", r, t, ("abs", "angle"))
    return Polar.apply(r, t)


def view_as_real(input) -> Tensor:  # noqa: A002
    """A complex tensor as a real one with a last axis of 2 (real, imaginary): a view of its
    memory, as ``torch.view_as_real``."""
    z = tensor_input("view_as_real", input)
    if z.dtype.kind != "c":
        raise TypeError(f"view_as_real: input must be a complex tensor, got dtype {z.dtype}")
    if (z._data.strides and z._data.strides[-1] != z._data.itemsize
            and get_array_module(z._data).__name__ != "numpy"):  # CuPy: no view of it, a copy
        pairs = stack([Real.apply(z), Imag.apply(z)], -1)
        refuse_in_place(pairs, f"view_as_real of a tensor of shape {tuple(z.shape)} and strides "
                               f"{z._data.strides} is a copy on this device; clone() it first")
        return pairs
    return ViewAsReal.apply(z)  # NumPy views any layout: a size-1 axis reads as the pair axis


def view_as_complex(input) -> Tensor:  # noqa: A002
    """A real tensor with a last axis of 2 as a complex one (a view, as
    ``torch.view_as_complex``); float32 gives complex64, float64 complex128."""
    x = tensor_input("view_as_complex", input)
    if x.dtype.kind != "f" or x.dtype.itemsize < 4:
        raise TypeError("view_as_complex: input must be a float32 or float64 tensor, got dtype "
                        f"{x.dtype}")
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ValueError(f"view_as_complex: input must have a last dimension of size 2, got "
                         f"shape {tuple(x.shape)}")
    bad = _unviewable(x._data)
    if bad:
        raise ValueError(f"view_as_complex: input must have {bad} (as PyTorch's; call "
                         f".contiguous() first), got strides {x._data.strides} in bytes")
    return ViewAsComplex.apply(x)


def _unviewable(a) -> str:
    """What keeps a real array with a last axis of 2 from being read as complex pairs, by
    PyTorch's rule (its strides are in elements; NumPy's, ``a.strides``, in bytes); ``""``: a
    view can be made."""
    item = a.itemsize
    if a.strides[-1] != item:
        return "a last dimension with stride 1"
    if any(s % (2 * item) for n, s in zip(a.shape[:-1], a.strides[:-1]) if n > 1):
        return "a stride divisible by 2 for all but the last dimension"
    owner = a.base
    while getattr(owner, "base", None) is not None:
        owner = owner.base
    face = getattr(owner, "__array_interface__", None)
    if face is not None and (a.__array_interface__["data"][0] - face["data"][0]) % (2 * item):
        return "a storage offset divisible by 2"
    return ""




def sgn(input) -> Tensor:  # noqa: A002
    """``z / |z|`` (0 at 0) of a complex tensor, with its gradient (g - Re(g conj(s)) s) / |z|
    through the recorded ops (0 at 0, as PyTorch's); the sign of a real one (no gradient)."""
    z = tensor_input("sgn", input)
    if z.dtype.kind != "c":
        return sign(z)
    r = _abs(z)
    zero = r._data == 0
    return fill_where(zero, 0, z / fill_where(zero, 1, r))


Tensor.sgn = sgn
