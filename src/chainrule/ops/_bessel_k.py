"""The modified Bessel functions K0, K1 (and e^x K) and the Airy function Ai on raw float64
arrays (NumPy or CuPy), no SciPy.

K_v, in three regions:

* x <= 2, the series (Abramowitz & Stegun 9.6.13 and 9.6.11)::

      K0 = -(log(x/2) + gamma) I0 + sum_k H_k (x^2/4)^k / k!^2
      K1 = 1/x + log(x/2) I1 - x/4 sum_k (psi(k+1) + psi(k+2)) (x^2/4)^k / (k! (k+1)!)

* 2 < x <= 40, the integral e^x K_v(x) = int_0^inf exp(-x (cosh t - 1)) cosh(v t) dt by the
  trapezoidal rule with step 1/10, which converges geometrically for this analytic integrand
  (Trefethen & Weideman, SIAM Review 56, 2014);
* beyond, the asymptotic series e^x K_v(x) ~ sqrt(pi / 2x) sum_k prod_j (4v^2 - (2j-1)^2) /
  (k! (8x)^k) (A&S 9.7.2), summed until its terms stop shrinking.

Ai (A&S 10.4): for x >= 2, Ai = sqrt(x/3) / pi K_(1/3)(z), z = 2/3 x^(3/2), with K_(1/3) as
above (the integral up to z = 40, the asymptotic series beyond); for x < -11, the asymptotic
form Ai(-y) ~ y^(-1/4) / sqrt(pi) (sin(z + pi/4) sum_k (-1)^k c_2k z^-2k - cos(z + pi/4)
sum_k (-1)^k c_(2k+1) z^-(2k+1)) (A&S 10.4.60); in between, Taylor steps of Ai'' = x Ai from
Ai(0) = 3^(-2/3) / Gamma(2/3), Ai'(0) = -3^(-1/3) / Gamma(1/3), in 22 equal steps of at most
1/2 (the coefficients by a_(n+2) = (x0 a_n + a_(n-1)) / ((n+2)(n+1))): there Ai and the growing
solution Bi are of one size, so the steps keep Ai's digits.
"""

from __future__ import annotations

import math

from ..backend import get_array_module
from ._bessel import i0e, i1e

__all__ = ["airy_ai", "k0e", "k1e"]

_EULER = 0.57721566490153286061
_SERIES_END = 2.0
_INTEGRAL_END = 40.0
_STEP = 0.1
_POINTS = 46  # t up to 4.6: exp(-(cosh t - 1)) < 1e-21 there
_ASYMPTOTIC_TERMS = 60
_AI0 = 0.355028053887817239260063
_AIP0 = -0.258819403792806798405184
_TAYLOR_STEPS = 22
_TAYLOR_TERMS = 40


def _series(xp, a, order: int):
    """e^a K_order(a) for a in (0, 2] (A&S 9.6.13, 9.6.11)."""
    q = a * a / 4
    log_half = xp.log(a) - math.log(2)  # a / 2 underflows below the subnormals
    term, harmonic = xp.ones_like(a), 0.0
    if order == 0:
        total = xp.zeros_like(a)
        for k in range(1, 30):
            term = term * q / (k * k)
            harmonic += 1.0 / k
            total = total + harmonic * term
        out = -(log_half + _EULER) * i0e(a) * xp.exp(a) + total
    else:
        psi_sum = -2 * _EULER + 1.0  # psi(1) + psi(2)
        total = psi_sum * term
        for k in range(1, 30):
            term = term * q / (k * (k + 1))
            psi_sum += 1.0 / k + 1.0 / (k + 1)
            total = total + psi_sum * term
        out = 1 / a + log_half * i1e(a) * xp.exp(a) - a / 4 * total
    return out * xp.exp(a)


def _integral(xp, a, order: float):
    """e^a K_order(a) for a in [1, 40]."""
    t = _STEP * xp.arange(_POINTS + 1)
    weights = xp.where(t == 0, 0.5, 1.0) * _STEP
    rise = 2 * xp.sinh(t / 2) ** 2  # cosh t - 1 without its cancellation
    values = xp.exp(-a[..., None] * rise) * xp.cosh(order * t)
    return values @ weights


def _asymptotic(xp, a, order: float):
    """e^a K_order(a) for large a (A&S 9.7.2)."""
    mu = 4.0 * order * order
    term, total = xp.ones_like(a), xp.ones_like(a)
    last = xp.full_like(a, xp.inf)
    live = xp.ones(a.shape, dtype=bool)
    for k in range(1, _ASYMPTOTIC_TERMS):
        term = term * (mu - (2 * k - 1) ** 2) / (k * 8 * a)
        live = live & (xp.abs(term) < last)
        last = xp.abs(term)
        total = total + xp.where(live, term, 0.0)
    return total * xp.sqrt(math.pi / (2 * a))


def _scaled_k(xp, a, order: float):
    """e^a K_order(a) for a > 0, finite; for orders other than 0 and 1, a >= 1 (no series)."""
    mid = xp.clip(a, 1.0, _INTEGRAL_END)
    out = xp.where(a > _INTEGRAL_END, _asymptotic(xp, xp.maximum(a, _INTEGRAL_END), order),
                   _integral(xp, mid, order))
    if order in (0, 1):
        low = xp.minimum(a, _SERIES_END)  # a > 0 here: no floor (one at 1e-300 froze K0, K1)
        out = xp.where(a <= _SERIES_END, _series(xp, low, int(order)), out)
    return out


def _k_scaled(x, order: int):
    xp = get_array_module(x)
    with xp.errstate(all="ignore"):
        ok = (x > 0) & xp.isfinite(x)
        out = _scaled_k(xp, xp.where(ok, x, 1.0), order)
        out = xp.where(x == 0, xp.inf, xp.where(xp.isposinf(x), 0.0, out))
        return xp.where((x < 0) | xp.isnan(x), xp.nan, out)


def k0e(x):
    """e^x K0(x) for x >= 0 (inf at 0, NaN below)."""
    return _k_scaled(x, 0)


def k1e(x):
    """e^x K1(x) for x >= 0 (inf at 0, NaN below)."""
    return _k_scaled(x, 1)


def _airy_coefficients(count: int) -> list:
    """c_k of A&S 10.4.57: c_0 = 1, c_k = (2k+1)(2k+3)...(6k-1) / (216^k k!)."""
    c = [1.0]
    for k in range(1, count):
        c.append(c[-1] * (6 * k - 5) * (6 * k - 3) * (6 * k - 1) / ((2 * k - 1) * 216 * k))
    return c


_AIRY_C = _airy_coefficients(40)


def _airy_oscillating(xp, y):
    """Ai(-y) for y >= 11 (A&S 10.4.60)."""
    z = 2.0 / 3.0 * y * xp.sqrt(y)
    p, q = xp.zeros_like(y), xp.zeros_like(y)
    last = xp.full_like(y, xp.inf)
    live = xp.ones(y.shape, dtype=bool)
    power = xp.ones_like(y)
    for k, c in enumerate(_AIRY_C):
        term = c * power
        live = live & (xp.abs(term) < last)
        last = xp.abs(term)
        step = xp.where(live, term, 0.0) * (1 if (k // 2) % 2 == 0 else -1)
        if k % 2 == 0:
            p = p + step
        else:
            q = q + step
        power = power / z
    c, s = xp.cos(z), xp.sin(z)
    root = 1 / math.sqrt(2)
    sin_phase, cos_phase = (s + c) * root, (c - s) * root  # of z + pi/4
    return (sin_phase * p - cos_phase * q) / (math.sqrt(math.pi) * y ** 0.25)


def _airy_taylor(xp, x):
    """Ai(x) for x in [-11, 2] by Taylor steps of Ai'' = x Ai from 0."""
    h = x / _TAYLOR_STEPS
    y, dy = xp.full_like(x, _AI0), xp.full_like(x, _AIP0)
    x0 = xp.zeros_like(x)
    for _ in range(_TAYLOR_STEPS):
        # y(x0 + s) = sum_n a_n s^n: a_0 = y, a_1 = y', a_(n+2) from a_n and a_(n-1)
        prev, cur, nxt = xp.zeros_like(x), y, dy
        value, slope, power = y + dy * h, dy, h
        for n in range(_TAYLOR_TERMS):
            new = (x0 * cur + prev) / ((n + 2) * (n + 1))
            slope = slope + (n + 2) * new * power
            power = power * h
            value = value + new * power
            prev, cur, nxt = cur, nxt, new
        y, dy = value, slope
        x0 = x0 + h
    return y


def airy_ai(x):
    """Ai(x), elementwise."""
    xp = get_array_module(x)
    with xp.errstate(all="ignore"):
        finite = xp.isfinite(x)
        xs = xp.where(finite, x, 0.0)
        y = xp.maximum(-xs, 11.0)
        oscillating = _airy_oscillating(xp, y)
        middle = _airy_taylor(xp, xp.clip(xs, -11.0, 2.0))
        a = xp.maximum(xs, 2.0)
        z = 2.0 / 3.0 * a * xp.sqrt(a)
        decaying = xp.sqrt(a / 3) / math.pi * _scaled_k(xp, z, 1.0 / 3.0) * xp.exp(-z)
        out = xp.where(xs < -11, oscillating, xp.where(xs > 2, decaying, middle))
        out = xp.where(xp.isinf(x), 0.0, out)
        return xp.where(xp.isnan(x), xp.nan, out)
