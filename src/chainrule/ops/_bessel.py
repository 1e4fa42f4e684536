"""The modified Bessel functions I0 and I1 (and their exponentially scaled forms) on raw arrays,
in float64, with no SciPy dependency.

Up to |x| = 20 the power series, whose terms are all positive (no cancellation):
    I0(x) = sum_k (x^2/4)^k / (k!)^2        I1(x) = x/2 sum_k (x^2/4)^k / (k! (k+1)!)
beyond it the asymptotic series, whose smallest term there is about e^(-2|x|) < 1e-17:
    I_v(x) e^(-x) ~ 1 / sqrt(2 pi x) sum_k (-1)^k prod_{j<=k} (4v^2 - (2j-1)^2) / (k! (8x)^k)
The scaled forms e^(-|x|) I(x) come from the asymptotic series without forming e^|x|, so they
stay finite where I0 and I1 overflow.
"""

from __future__ import annotations

import math

from ..backend import get_array_module

__all__ = ["i0e", "i1e"]

_SERIES_END = 20.0
_SERIES_TERMS = 60
_ASYMPTOTIC_TERMS = 40


def _series(xp, a, order):
    """sum_k (a^2/4)^k / (k! (k + order)!) for a in [0, 20]."""
    q = a * a / 4
    term = xp.full_like(a, 1.0 / math.factorial(order))
    total = term
    for k in range(1, _SERIES_TERMS):
        term = term * q / (k * (k + order))
        total = total + term
    return total


def _asymptotic(xp, a, order):
    """e^(-a) I_order(a) for a >= 20, by the asymptotic series (its terms shrink until k ~ 2a)."""
    mu = 4.0 * order * order
    term, total = xp.ones_like(a), xp.ones_like(a)
    for k in range(1, _ASYMPTOTIC_TERMS):
        term = term * -(mu - (2 * k - 1) ** 2) / (k * 8 * a)
        total = total + term
    return total / xp.sqrt(2 * math.pi * a)


def i0e(x):
    """e^(-|x|) I0(x), elementwise."""
    xp = get_array_module(x)
    with xp.errstate(all="ignore"):
        a = xp.abs(x)
        near = xp.exp(-xp.minimum(a, _SERIES_END)) * _series(xp, xp.minimum(a, _SERIES_END), 0)
        far = _asymptotic(xp, xp.maximum(a, _SERIES_END), 0)
        return xp.where(a <= _SERIES_END, near, far)


def i1e(x):
    """e^(-|x|) I1(x), elementwise (odd in x)."""
    xp = get_array_module(x)
    with xp.errstate(all="ignore"):
        a = xp.abs(x)
        s = xp.minimum(a, _SERIES_END)
        near = xp.exp(-s) * (s / 2) * _series(xp, s, 1)
        far = _asymptotic(xp, xp.maximum(a, _SERIES_END), 1)
        return xp.sign(x) * xp.where(a <= _SERIES_END, near, far)
