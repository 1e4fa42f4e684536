"""PyTorch's window functions for spectral analysis: ``hann_window``, ``hamming_window``,
``blackman_window``, ``bartlett_window``, ``kaiser_window``.

Each is a leaf tensor of the default dtype (or ``dtype``, which must be floating point). With
``periodic=True`` (the default, as PyTorch's) the window is the symmetric one of length
``window_length + 1`` without its last point, the form a periodic signal's FFT wants. The values
are computed in float64 and then cast.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.tensor import Tensor
from ..backend import numpy
from ._layout import check_factory_options
from .creation import _dtype, _leaf
from .special_fns import i0

__all__ = ["bartlett_window", "blackman_window", "hamming_window", "hann_window",
           "kaiser_window"]


def _window(name, window_length, periodic, dtype, device, requires_grad, shape_fn,
            layout=None, pin_memory=False) -> Tensor:
    check_factory_options(name, layout, pin_memory)
    if isinstance(window_length, bool) or not isinstance(window_length, numbers.Integral) \
            or window_length < 0:
        raise ValueError(f"{name}: window_length must be a nonnegative int, got "
                         f"{window_length!r}")
    if not isinstance(periodic, bool):
        raise TypeError(f"{name}: periodic must be True or False, got {periodic!r}")
    dt = numpy.dtype(_dtype(name, dtype))
    if dt.kind != "f":
        raise TypeError(f"{name}: dtype must be floating point, got {dt}")
    n = int(window_length)
    if n <= 1:
        values = numpy.ones(n)
    else:
        m = n + 1 if periodic else n
        values = shape_fn(numpy.arange(m, dtype=numpy.float64), m)[:n]
    return _leaf(name, values.astype(dt), device, requires_grad)


def _cosines(alpha, beta, gamma=0.0):
    """``alpha - beta cos(2 pi k / (m - 1)) + gamma cos(4 pi k / (m - 1))``."""
    def shape(k, m):
        t = 2.0 * math.pi * k / (m - 1)
        return alpha - beta * numpy.cos(t) + gamma * numpy.cos(2.0 * t)

    return shape


def hann_window(window_length, periodic: bool = True, *, dtype=None, layout=None, device=None,
                pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The Hann window ``0.5 - 0.5 cos(2 pi k / (N - 1))``."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   _cosines(0.5, 0.5), layout, pin_memory)


def hamming_window(window_length, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype=None, layout=None, device=None,
                   pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The (generalized) Hamming window ``alpha - beta cos(2 pi k / (N - 1))``."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   _cosines(alpha, beta), layout, pin_memory)


def blackman_window(window_length, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The Blackman window ``0.42 - 0.5 cos(2 pi k / (N - 1)) + 0.08 cos(4 pi k / (N - 1))``."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   _cosines(0.42, 0.5, 0.08), layout, pin_memory)


def bartlett_window(window_length, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The Bartlett (triangular) window ``1 - |2 k / (N - 1) - 1|``."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, m: 1.0 - numpy.abs(2.0 * k / (m - 1) - 1.0), layout, pin_memory)


def kaiser_window(window_length, periodic: bool = True, beta: float = 12.0, *, dtype=None,
                  layout=None, device=None, pin_memory: bool = False,
                  requires_grad: bool = False) -> Tensor:
    """The Kaiser window ``I0(beta sqrt(1 - (2 k / (N - 1) - 1)^2)) / I0(beta)``."""
    if not isinstance(beta, numbers.Real) or beta < 0:
        raise ValueError(f"kaiser_window: beta must be a nonnegative number, got {beta!r}")

    def shape(k, m):
        r = 2.0 * k / (m - 1) - 1.0
        arg = beta * numpy.sqrt(numpy.clip(1.0 - r * r, 0.0, None))
        return (i0(Tensor(arg)) / i0(Tensor(numpy.asarray(float(beta))))).numpy()

    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad, shape,
                   layout, pin_memory)
