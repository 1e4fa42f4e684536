"""torch.special's Bessel and Airy functions: ``bessel_j0``/``j1``/``y0``/``y1``,
``modified_bessel_i0``/``i1``/``k0``/``k1``, ``scaled_modified_bessel_k0``/``k1`` (e^x K),
``spherical_bessel_j0`` (sin x / x) and ``airy_ai``.

PyTorch defines no derivative for these (their results do not require grad); here too they are
constants for backpropagation. The array work, in float64, is in ``_bessel_jy.py`` (J, Y),
``_bessel_k.py`` (K, Ai) and ``_bessel.py`` (I); the result takes the input's floating dtype (the
default dtype for integer input).
"""

from __future__ import annotations

from ..autograd.function import nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..backend.defaults import get_default_dtype
from . import _bessel, _bessel_jy, _bessel_k

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
           "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
           "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0"]


def _apply(op: str, kernel, x, out):
    if out is not None:
        raise TypeError(f"{op}: out= is not supported; use the returned tensor")
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{op}: input must be real, got dtype {x.dtype}")
    dtype = x.dtype if x.dtype.kind == "f" else get_default_dtype()

    def compute(a):
        xp = get_array_module(a)
        with xp.errstate(all="ignore"):
            return kernel(xp, a.astype(xp.float64)).astype(dtype)

    return nondiff(compute, x)


def _i0(xp, a):
    return xp.where(xp.isinf(a), xp.inf, _bessel.i0e(a) * xp.exp(xp.abs(a)))


def _i1(xp, a):
    return xp.where(xp.isinf(a), a, _bessel.i1e(a) * xp.exp(xp.abs(a)))


def _k(order: int, scaled: bool):
    scaled_kernel = _bessel_k.k0e if order == 0 else _bessel_k.k1e
    if scaled:
        return lambda xp, a: scaled_kernel(a)
    return lambda xp, a: xp.where(xp.isposinf(a), 0.0, scaled_kernel(a) * xp.exp(-a))


def _spherical_j0(xp, a):
    zero = a == 0
    out = xp.sin(a) / xp.where(zero, 1.0, a)
    return xp.where(zero, 1.0, xp.where(xp.isinf(a), 0.0, out))


def bessel_j0(input, *, out=None):  # noqa: A002 - PyTorch's names
    """The Bessel function of the first kind of order 0, J0(x) (no gradient, as PyTorch)."""
    return _apply("bessel_j0", lambda xp, a: _bessel_jy.j0(a), input, out)


def bessel_j1(input, *, out=None):  # noqa: A002
    """The Bessel function of the first kind of order 1, J1(x) (no gradient)."""
    return _apply("bessel_j1", lambda xp, a: _bessel_jy.j1(a), input, out)


def bessel_y0(input, *, out=None):  # noqa: A002
    """The Bessel function of the second kind of order 0, Y0(x): -inf at 0, NaN below."""
    return _apply("bessel_y0", lambda xp, a: _bessel_jy.y0(a), input, out)


def bessel_y1(input, *, out=None):  # noqa: A002
    """The Bessel function of the second kind of order 1, Y1(x): -inf at 0, NaN below."""
    return _apply("bessel_y1", lambda xp, a: _bessel_jy.y1(a), input, out)


def modified_bessel_i0(input, *, out=None):  # noqa: A002
    """The modified Bessel function of the first kind of order 0, I0(x) (no gradient; ``i0``
    is the same function with one)."""
    return _apply("modified_bessel_i0", _i0, input, out)


def modified_bessel_i1(input, *, out=None):  # noqa: A002
    """I1(x) (no gradient; ``special.i1`` is the same function with one)."""
    return _apply("modified_bessel_i1", _i1, input, out)


def modified_bessel_k0(input, *, out=None):  # noqa: A002
    """The modified Bessel function of the second kind of order 0, K0(x): inf at 0, NaN below."""
    return _apply("modified_bessel_k0", _k(0, False), input, out)


def modified_bessel_k1(input, *, out=None):  # noqa: A002
    """K1(x): inf at 0, NaN below (no gradient)."""
    return _apply("modified_bessel_k1", _k(1, False), input, out)


def scaled_modified_bessel_k0(input, *, out=None):  # noqa: A002
    """e^x K0(x), finite where K0 underflows (no gradient)."""
    return _apply("scaled_modified_bessel_k0", _k(0, True), input, out)


def scaled_modified_bessel_k1(input, *, out=None):  # noqa: A002
    """e^x K1(x) (no gradient)."""
    return _apply("scaled_modified_bessel_k1", _k(1, True), input, out)


def spherical_bessel_j0(input, *, out=None):  # noqa: A002
    """The spherical Bessel function of the first kind of order 0, sin(x) / x (1 at 0)."""
    return _apply("spherical_bessel_j0", _spherical_j0, input, out)


def airy_ai(input, *, out=None):  # noqa: A002
    """The Airy function Ai(x) (no gradient, as PyTorch)."""
    return _apply("airy_ai", lambda xp, a: _bessel_k.airy_ai(a), input, out)
