"""The Bessel functions J0, J1, Y0, Y1 on raw float64 arrays (NumPy or CuPy), no SciPy.

Up to |x| = 25, J_n for n = 0..63 at once from the Jacobi-Anger expansion
e^(i x sin t) = sum_n J_n(x) e^(i n t): the trapezoidal rule on M = 128 points of the period
(an FFT) gives J_n exactly up to the aliased terms J_(M-n)(x), below 1e-20 here (the rule
converges geometrically for periodic analytic integrands: Trefethen & Weideman, SIAM Review 56,
2014). Y0 and Y1 then come from Neumann's series (Abramowitz & Stegun 9.1.88, and its derivative,
Y1 = -Y0')::

    Y0 = 2/pi (log(x/2) + gamma) J0 - 4/pi sum_k (-1)^k J_2k / k
    Y1 = 2/pi ((log(x/2) + gamma) J1 - J0 / x) + 2/pi sum_k (-1)^k (J_(2k-1) - J_(2k+1)) / k

Beyond 25, Hankel's asymptotic expansion (A&S 9.2.5-9.2.10), whose smallest term there is below
e^-50, summed until its terms stop shrinking::

    J_v = sqrt(2 / (pi x)) (P cos(c) - Q sin(c)),  Y_v = sqrt(2 / (pi x)) (P sin(c) + Q cos(c))

with c = x - (v/2 + 1/4) pi taken from cos x and sin x (exactly reduced), not from x - c0 (which
loses the digits of x's rounding past x ~ 1e8, as PyTorch's and Cephes' do).
"""

from __future__ import annotations

import math

from ..backend import get_array_module

__all__ = ["j0", "j1", "y0", "y1"]

_EULER = 0.57721566490153286061
_SMALL_END = 25.0
_M = 128
_ORDERS = 64
_HANKEL_TERMS = 60


def _orders(xp, a):
    """J_n(a) for n = 0.._ORDERS-1 (last axis), a in [0, 25]."""
    t = 2 * math.pi * xp.arange(_M) / _M
    waves = xp.exp(1j * a[..., None] * xp.sin(t))
    return (xp.fft.fft(waves, axis=-1).real / _M)[..., :_ORDERS]


def _hankel(xp, a, order: int):
    """(P, Q) of Hankel's expansion of order 0 or 1 at a >= 25."""
    mu = 4.0 * order * order
    p, q = xp.ones_like(a), xp.zeros_like(a)
    term = xp.ones_like(a)
    last = xp.full_like(a, xp.inf)
    live = xp.ones(a.shape, dtype=bool)
    for k in range(1, _HANKEL_TERMS):
        term = term * (mu - (2 * k - 1) ** 2) / (k * 8 * a)
        size = xp.abs(term)
        live = live & (size < last)  # the series is asymptotic: stop where its terms grow
        last = size
        step = xp.where(live, term, 0.0)
        if k % 2 == 1:
            q = q + (1 if k % 4 == 1 else -1) * step
        else:
            p = p + (-1 if k % 4 == 2 else 1) * step
    return p, q


def _far(xp, a, order: int):
    """(J, Y) of order 0 or 1 at a >= 25."""
    p, q = _hankel(xp, a, order)
    c, s = xp.cos(a), xp.sin(a)
    root = 1 / math.sqrt(2)
    if order == 0:  # c = a - pi/4
        cos_c, sin_c = (c + s) * root, (s - c) * root
    else:  # c = a - 3 pi/4
        cos_c, sin_c = (s - c) * root, -(c + s) * root
    scale = xp.sqrt(2 / (math.pi * a))
    return scale * (p * cos_c - q * sin_c), scale * (p * sin_c + q * cos_c)


def _near(xp, a):
    """(J0, J1, Y0, Y1) at a in (0, 25]."""
    j = _orders(xp, a)
    j0, j1 = j[..., 0], j[..., 1]
    log_term = xp.log(a) - math.log(2) + _EULER  # a / 2 underflows below the subnormals
    k = xp.arange(1, _ORDERS // 2)
    sign = xp.where(k % 2 == 0, 1.0, -1.0)
    y0 = 2 / math.pi * log_term * j0 - 4 / math.pi * xp.sum(sign * j[..., 2 * k] / k, axis=-1)
    k = k[:-1]
    sign = sign[:-1]
    pairs = (j[..., 2 * k - 1] - j[..., 2 * k + 1]) / k
    y1 = 2 / math.pi * (log_term * j1 - j0 / a) + 2 / math.pi * xp.sum(sign * pairs, axis=-1)
    return j0, j1, y0, y1


def _all(x):
    """(J0, J1, Y0, Y1) at |x|, with J1 odd."""
    xp = get_array_module(x)
    with xp.errstate(all="ignore"):
        a = xp.abs(x)
        near = a <= _SMALL_END
        small = xp.where(near & (a > 0), a, 1.0)
        j0n, j1n, y0n, y1n = _near(xp, small) if near.any() else (small,) * 4
        big = xp.where(near, _SMALL_END, xp.where(xp.isinf(a), _SMALL_END, a))
        j0f, y0f = _far(xp, big, 0)
        j1f, y1f = _far(xp, big, 1)
        j0 = xp.where(near, j0n, j0f)
        j1 = xp.where(near, j1n, j1f)
        y0 = xp.where(near, y0n, y0f)
        y1 = xp.where(near, y1n, y1f)
        zero, inf = a == 0, xp.isinf(a)
        j0 = xp.where(zero, 1.0, xp.where(inf, 0.0, j0))
        j1 = xp.where(zero | inf, 0.0, j1) * xp.where(x < 0, -1.0, 1.0)
        y0 = xp.where(zero, -xp.inf, xp.where(inf, 0.0, y0))
        y1 = xp.where(zero, -xp.inf, xp.where(inf, 0.0, y1))
        nan = xp.isnan(x)
        negative = x < 0
        return (xp.where(nan, xp.nan, j0), xp.where(nan, xp.nan, j1),
                xp.where(nan | negative, xp.nan, y0), xp.where(nan | negative, xp.nan, y1))


def j0(x):
    """J0(x), elementwise."""
    return _all(x)[0]


def j1(x):
    """J1(x), elementwise (odd)."""
    return _all(x)[1]


def y0(x):
    """Y0(x) for x >= 0 (-inf at 0, NaN below)."""
    return _all(x)[2]


def y1(x):
    """Y1(x) for x >= 0 (-inf at 0, NaN below)."""
    return _all(x)[3]
