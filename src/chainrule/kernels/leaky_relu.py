"""The leaky rectifier's array work: max(x, slope * x), and its gradient from the output.

References: ``leaky_relu_reference(x, slope)`` is ``x`` where ``x > 0``, else ``slope * x``;
``leaky_relu_grad_reference(g, y, slope)`` is ``g * d`` with the derivative ``d`` 1 where
``y > 0``, else ``slope``, computed as the array ``(y > 0) * (1 - slope) + slope`` (for a
positive slope, ``y > 0`` exactly where the input was). They avoid ``where`` and masked copies,
which NumPy runs element by element when the mask is irregular.

The fast versions do each in one compiled sweep (numba, ``backend.jit``) over dense arrays that
share a memory order (a Linear's batch-last output and its gradient), split over chainrule's
threads when large (``backend.parallel``), with the same float operations: the same bits.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..backend import jit as _jit
from ..backend.settings import config
from .relu import dense_flat

__all__ = ["leaky_relu", "leaky_relu_grad", "leaky_relu_grad_reference", "leaky_relu_reference"]

_HOST = get_array_module()
_FROM = 4096  # elements below which a sweep's set-up costs more than NumPy's passes


def leaky_relu_reference(x, slope):
    """``x`` where ``x > 0``, else ``slope * x`` (a new array)."""
    xp = get_array_module(x)
    y = x * slope
    if 0 < slope <= 1:
        return xp.maximum(x, y, out=y)
    return xp.where(x > 0, x, y)


def _derivative(y, slope):
    d = (y > 0).astype(y.dtype)
    d *= 1 - slope
    d += slope
    return d


def leaky_relu_grad_reference(g, y, slope):
    """``g`` times the leaky ReLU's derivative where its output (or input) is ``y``."""
    return g * _derivative(y, slope)


def _taken(a) -> bool:
    return type(a) is _HOST.ndarray and _jit.handles(a.dtype) and a.size >= _FROM


def leaky_relu(x, slope):
    """``leaky_relu_reference``'s values in one compiled sweep, laid out like ``x`` (dense)."""
    if (config.reference_mode or _jit.leaky_relu is None or not 0 < slope <= 1
            or not _taken(x)):
        return leaky_relu_reference(x, slope)
    order = sorted(range(x.ndim), key=lambda i: -x.strides[i])
    xf = dense_flat(x, order)
    if xf is None:
        return leaky_relu_reference(x, slope)
    y = _HOST.empty_like(x)  # the same memory order: its flat view is dense too
    _jit.leaky_relu(xf, dense_flat(y, order), x.dtype.type(slope))
    return y


def leaky_relu_grad(g, y, slope):
    """``leaky_relu_grad_reference``'s values in one compiled sweep when ``g`` and ``y`` are
    dense arrays with one memory order and dtype; the derivative's two values are computed as
    the reference computes them, so the products are the same bits."""
    if (config.reference_mode or _jit.leaky_relu_grad is None or not _taken(g)
            or type(y) is not _HOST.ndarray or y.dtype != g.dtype or y.shape != g.shape
            or y.strides != g.strides):
        return leaky_relu_grad_reference(g, y, slope)
    order = sorted(range(y.ndim), key=lambda i: -y.strides[i])
    gf, yf = dense_flat(g, order), dense_flat(y, order)
    if gf is None or yf is None:
        return leaky_relu_grad_reference(g, y, slope)
    above, below = _derivative(_HOST.array([1, 0], g.dtype), slope)
    out = _HOST.empty_like(g)
    _jit.leaky_relu_grad(gf, yf, dense_flat(out, order), above, below)
    return out
