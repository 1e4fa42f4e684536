"""PyTorch's ``torch.signal.windows``: window functions of length ``M`` in SciPy's form
(``sym=True``, the default, gives the symmetric window; ``sym=False`` the periodic one, the
symmetric window of ``M + 1`` points without its last). Each is a leaf tensor of the default
dtype (or ``dtype``, floating point), computed in float64 and then cast; ``M`` 0 gives an empty
tensor and 1 the single value 1.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor
from ..backend import numpy
from .torch_windows import _window

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
           "general_hamming", "hamming", "hann", "kaiser", "nuttall"]

_NUTTALL = (0.3635819, 0.4891775, 0.1365995, 0.0106411)


def _make(name, M, sym, dtype, layout, device, requires_grad, shape_fn) -> Tensor:  # noqa: N803
    if not isinstance(sym, bool):
        raise TypeError(f"{name}: sym must be True or False, got {sym!r}")
    return _window(name, M, not sym, dtype, device, requires_grad, shape_fn, layout)


def _positive(name, what, value, *, zero_ok=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0 \
            or (value == 0 and not zero_ok):
        expected = "non-negative" if zero_ok else "positive"
        raise ValueError(f"{name}: {what} must be a {expected} number, got {value!r}")
    return float(value)


def _cosine_sum(coefficients):
    """``sum_i (-1)^i a_i cos(2 pi i k / (m - 1))``."""
    def shape(k, m):
        t = 2.0 * math.pi * k / (m - 1)
        return sum((-1) ** i * a * numpy.cos(i * t) for i, a in enumerate(coefficients))

    return shape


def general_cosine(M, *, a, sym: bool = True, dtype=None, layout=None, device=None,  # noqa: N803
                   requires_grad: bool = False) -> Tensor:
    """The sum of cosines ``w[k] = sum_i (-1)^i a[i] cos(2 pi i k / (M - 1))``."""
    if not isinstance(a, (list, tuple)):
        raise TypeError(f"general_cosine: a must be a list or tuple of coefficients, got "
                        f"{type(a).__name__}")
    if not a:
        raise ValueError("general_cosine: a (the coefficients) cannot be empty")
    coefficients = tuple(float(c) for c in a)
    return _make("general_cosine", M, sym, dtype, layout, device, requires_grad,
                 _cosine_sum(coefficients))


def general_hamming(M, *, alpha: float = 0.54, sym: bool = True, dtype=None,  # noqa: N803
                    layout=None, device=None, requires_grad: bool = False) -> Tensor:
    """``alpha - (1 - alpha) cos(2 pi k / (M - 1))``."""
    return _make("general_hamming", M, sym, dtype, layout, device, requires_grad,
                 _cosine_sum((float(alpha), 1.0 - float(alpha))))


def hamming(M, *, sym: bool = True, dtype=None, layout=None, device=None,  # noqa: N803
            requires_grad: bool = False) -> Tensor:
    """The Hamming window, ``general_hamming`` with ``alpha = 0.54``."""
    return _make("hamming", M, sym, dtype, layout, device, requires_grad,
                 _cosine_sum((0.54, 0.46)))


def hann(M, *, sym: bool = True, dtype=None, layout=None, device=None,  # noqa: N803
         requires_grad: bool = False) -> Tensor:
    """The Hann window, ``general_hamming`` with ``alpha = 0.5``."""
    return _make("hann", M, sym, dtype, layout, device, requires_grad, _cosine_sum((0.5, 0.5)))


def blackman(M, *, sym: bool = True, dtype=None, layout=None, device=None,  # noqa: N803
             requires_grad: bool = False) -> Tensor:
    """The Blackman window, the cosine sum with ``a = (0.42, 0.5, 0.08)``."""
    return _make("blackman", M, sym, dtype, layout, device, requires_grad,
                 _cosine_sum((0.42, 0.5, 0.08)))


def nuttall(M, *, sym: bool = True, dtype=None, layout=None, device=None,  # noqa: N803
            requires_grad: bool = False) -> Tensor:
    """The minimum 4-term Blackman-Harris window of Nuttall (PyTorch's coefficients)."""
    return _make("nuttall", M, sym, dtype, layout, device, requires_grad, _cosine_sum(_NUTTALL))


def bartlett(M, *, sym: bool = True, dtype=None, layout=None, device=None,  # noqa: N803
             requires_grad: bool = False) -> Tensor:
    """The triangular window ``1 - |2 k / (M - 1) - 1|``."""
    return _make("bartlett", M, sym, dtype, layout, device, requires_grad,
                 lambda k, m: 1.0 - numpy.abs(2.0 * k / (m - 1) - 1.0))


def cosine(M, *, sym: bool = True, dtype=None, layout=None, device=None,  # noqa: N803
           requires_grad: bool = False) -> Tensor:
    """The sine window ``sin(pi (k + 0.5) / M)``."""
    return _make("cosine", M, sym, dtype, layout, device, requires_grad,
                 lambda k, m: numpy.sin(math.pi * (k + 0.5) / m))


def gaussian(M, *, std: float = 1.0, sym: bool = True, dtype=None, layout=None,  # noqa: N803
             device=None, requires_grad: bool = False) -> Tensor:
    """``exp(-(k - (M - 1) / 2)^2 / (2 std^2))``."""
    s = _positive("gaussian", "std", std)
    return _make("gaussian", M, sym, dtype, layout, device, requires_grad,
                 lambda k, m: numpy.exp(-((k - (m - 1) / 2.0) ** 2) / (2.0 * s * s)))


def exponential(M, *, center: float | None = None, tau: float = 1.0,  # noqa: N803
                sym: bool = True, dtype=None, layout=None, device=None,
                requires_grad: bool = False) -> Tensor:
    """``exp(-|k - center| / tau)``; ``center`` defaults to the middle, ``(M - 1) / 2`` (``M / 2``
    with ``sym=False``), and may be given only for a periodic window, as PyTorch's."""
    t = _positive("exponential", "tau", tau)
    if center is not None and sym:
        raise ValueError(f"exponential: center must be None for a symmetric window (sym=True), "
                         f"got center={center!r}")
    w = _make("exponential", M, sym, dtype, layout, device, requires_grad,
              lambda k, m: numpy.exp(-numpy.abs(k - ((m - 1) / 2.0 if center is None
                                                     else float(center))) / t))
    if center is not None and M == 1:  # one point, away from the given center, as PyTorch's
        with no_grad():
            w.fill_(math.exp(-abs(float(center)) / t))
    return w


def kaiser(M, *, beta: float = 12.0, sym: bool = True, dtype=None, layout=None,  # noqa: N803
           device=None, requires_grad: bool = False) -> Tensor:
    """``I0(beta sqrt(1 - (2 k / (M - 1) - 1)^2)) / I0(beta)``."""
    b = _positive("kaiser", "beta", beta, zero_ok=True)

    def shape(k, m):
        r = 2.0 * k / (m - 1) - 1.0
        return numpy.i0(b * numpy.sqrt(numpy.clip(1.0 - r * r, 0.0, None))) / numpy.i0(b)

    return _make("kaiser", M, sym, dtype, layout, device, requires_grad, shape)
