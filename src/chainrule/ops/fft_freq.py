"""The helpers of ``torch.fft``: the sample frequencies of a transform's bins (``fftfreq``,
``rfftfreq``) and the reordering that puts the zero frequency in the middle (``fftshift``,
``ifftshift``, a cyclic roll, so their gradients are the opposite roll)."""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor
from ..backend import numpy
from ._layout import check_factory_options
from .creation import _dtype, _leaf
from .rearrange import Roll
from .shape import normalize_axis

__all__ = ["fftfreq", "fftshift", "ifftshift", "rfftfreq"]


def _check_n_d(op, n, d):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{op}: n must be a positive int, got {n!r}")
    if isinstance(d, bool) or not isinstance(d, numbers.Real):
        raise TypeError(f"{op}: d must be a number (the sample spacing), got {d!r}")
    if d == 0:  # PyTorch divides by it: NaN and +-inf; NumPy's ZeroDivisionError named nothing
        raise ValueError(f"{op}: d (the sample spacing) must be non-zero, got {d!r}")


def _float(op, dtype):
    dt = _dtype(op, dtype)
    if dt.kind != "f":
        raise TypeError(f"{op}: dtype must be a floating-point dtype, got {dt}")
    return dt


def fftfreq(n: int, d: float = 1.0, *, out=None, dtype=None, layout=None, device=None,
            pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The frequencies of the bins of an ``n``-point ``fft`` with sample spacing ``d``:
    ``[0, 1, ..., (n - 1) // 2, -(n // 2), ..., -1] / (d * n)`` in the default dtype."""
    _check_n_d("fftfreq", n, d)
    check_factory_options("fftfreq", layout, pin_memory)
    if out is not None:
        raise TypeError("fftfreq: out= is not supported; use the returned tensor")
    arr = numpy.fft.fftfreq(int(n), float(d)).astype(_float("fftfreq", dtype))
    return _leaf("fftfreq", arr, device, requires_grad)


def rfftfreq(n: int, d: float = 1.0, *, out=None, dtype=None, layout=None, device=None,
             pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The frequencies of the n // 2 + 1 bins of an ``n``-point ``rfft``:
    ``[0, 1, ..., n // 2] / (d * n)`` in the default dtype."""
    _check_n_d("rfftfreq", n, d)
    check_factory_options("rfftfreq", layout, pin_memory)
    if out is not None:
        raise TypeError("rfftfreq: out= is not supported; use the returned tensor")
    arr = numpy.fft.rfftfreq(int(n), float(d)).astype(_float("rfftfreq", dtype))
    return _leaf("rfftfreq", arr, device, requires_grad)


def _shift(op, x, dim, sign):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    axes = normalize_axis(op, dim, x._data.ndim)
    if not axes:
        return x
    shifts = tuple(sign * (x._data.shape[a] // 2) for a in axes)
    return Roll.apply(x, shifts=shifts, axes=axes)


def fftshift(input, dim=None) -> Tensor:  # noqa: A002
    """``input`` rolled so that the zero frequency is in the middle of ``dim`` (all axes by
    default): the order of ``fftfreq`` becomes ascending."""
    return _shift("fftshift", input, dim, 1)


def ifftshift(input, dim=None) -> Tensor:  # noqa: A002
    """The inverse of ``fftshift`` (they differ for odd lengths)."""
    return _shift("ifftshift", input, dim, -1)
