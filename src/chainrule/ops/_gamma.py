"""The gamma family and the inverse error function on raw arrays (NumPy or CuPy), in float64,
with no SciPy dependency: lgamma, digamma, polygamma, erfinv.

Each function is brought to one of three regions where a series converges fast:

* near 2, the Taylor series of log Gamma and its derivatives, whose coefficients are zeta values:
      lgamma(2 + e) = (1 - gamma) e + sum_{k>=2} (-1)^k (zeta(k) - 1) / k e^k
      psi^(n)(2 + e) = sum_{k>=0} (-1)^(n+k+1) (n+k)!/k! (zeta(n+k+1) - 1) e^k     (n >= 1)
  on |e| <= 1/2 the terms shrink like 4^-k;
* far out (x >= 10), Stirling's series in the Bernoulli numbers;
* in between, the recurrences Gamma(x + 1) = x Gamma(x), psi(x + 1) = psi(x) + 1/x, used to step
  down towards 2 (sums of positive terms: no cancellation) or, for polygamma of order >= 1,
  up towards 10 (the Hurwitz zeta sum, also all positive for x > 0);
* below 1/2, the reflection formulas Gamma(x) Gamma(1 - x) = pi / sin(pi x) and
  psi(1 - x) - psi(x) = pi cot(pi x) (and its derivative for trigamma).

erfinv solves erf(y) = x by Halley's method from a closed-form first guess (Winitzki's), in erfc
near +-1 so that 1 - |x| keeps its digits. Arguments are clipped to each branch's interval before
it is evaluated, so no branch overflows or warns where it is not selected.
"""

from __future__ import annotations

import math

from ..backend import get_array_module
from ._special import _P, _Q, _R, _S, _p1evl, _polevl, erf, erfc, ndtr

__all__ = ["digamma", "erfcx", "erfinv", "lgamma", "log_ndtr", "ndtri", "polygamma"]

_EULER = 0.57721566490153286061
_TERMS = 32  # 4^-32 is far below float64's resolution
_SHIFT_TOP = 10.0  # Stirling's series from here on


def _zeta_minus_one(s: int) -> float:
    """zeta(s) - 1 for an integer s >= 2, by Euler-Maclaurin summation from n = 2 (float64)."""
    n = 40
    head = math.fsum(k ** -s for k in range(2, n))
    tail = (n ** (1 - s) / (s - 1) + n ** -s / 2 + s * n ** (-s - 1) / 12
            - s * (s + 1) * (s + 2) * n ** (-s - 3) / 720
            + s * (s + 1) * (s + 2) * (s + 3) * (s + 4) * n ** (-s - 5) / 30240)
    return head + tail


_ZM1 = [0.0, 0.0] + [_zeta_minus_one(s) for s in range(2, 80)]  # _ZM1[s] = zeta(s) - 1
# B_2k / (2k (2k - 1)) for Stirling's series of lgamma, B_2k / (2k) for digamma's
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
              43867 / 798, -174611 / 330)


def _horner(e, coefs):
    """sum_k coefs[k] e^k."""
    out = coefs[-1]
    for c in coefs[-2::-1]:
        out = out * e + c
    return out


_LGAMMA2 = [0.0, 1 - _EULER] + [(-1) ** k * _ZM1[k] / k for k in range(2, _TERMS)]
_DIGAMMA2 = [1 - _EULER] + [(-1) ** (k + 1) * _ZM1[k + 1] for k in range(1, _TERMS)]


def _polygamma2(n):
    """The coefficients of psi^(n)(2 + e), n >= 1."""
    return [(-1) ** (n + k + 1) * math.factorial(n + k) / math.factorial(k) * _ZM1[n + k + 1]
            for k in range(_TERMS)]


def _sinpi_abs(xp, x):
    """|sin(pi x)|, exact in the argument reduction (x - round(x) is exact in floating point)."""
    return xp.abs(xp.sin(math.pi * (x - xp.round(x))))


def _lgamma_positive(xp, x):
    """log Gamma(x) for x >= 1/2."""
    # [0.5, 1.5): lgamma(x) = lgamma(x + 1) - log(x), x + 1 near 2
    low = xp.clip(x, 0.5, 1.5)
    near1 = _horner(low - 1, _LGAMMA2) - xp.log1p(low - 1)
    # [1.5, 10): step down to [1.5, 2.5) and add log((x - 1)(x - 2)...)
    mid = xp.clip(x, 1.5, _SHIFT_TOP)
    z, logs = mid, xp.zeros_like(mid)
    for _ in range(int(_SHIFT_TOP - 1.5)):
        step = z >= 2.5
        z = xp.where(step, z - 1, z)
        logs = logs + xp.log(xp.where(step, z, 1.0))
    near2 = _horner(z - 2, _LGAMMA2) + logs
    # [10, inf): Stirling
    big = xp.maximum(x, _SHIFT_TOP)
    r = 1 / (big * big)
    series = _horner(r, [b / ((2 * k + 2) * (2 * k + 1)) for k, b in enumerate(_BERNOULLI)])
    far = (big - 0.5) * xp.log(big) - big + 0.5 * math.log(2 * math.pi) + series / big
    return xp.where(x < 1.5, near1, xp.where(x < _SHIFT_TOP, near2, far))


def lgamma(x):
    """log |Gamma(x)|, elementwise; +inf at 0 and the negative integers, as PyTorch."""
    xp = get_array_module(x)
    with xp.errstate(all="ignore"):
        pos = _lgamma_positive(xp, xp.maximum(x, 0.5))
        refl = xp.minimum(x, 0.5)
        neg = (math.log(math.pi) - xp.log(_sinpi_abs(xp, refl))
               - _lgamma_positive(xp, 1 - refl))
        # near 0, sin(pi x) = pi x exactly in float64; pi x would lose the subnormals' digits
        neg = xp.where(xp.abs(refl) < 1e-100, -xp.log(xp.abs(refl)) - _lgamma_positive(
            xp, 1 - refl), neg)
        out = xp.where(x >= 0.5, pos, neg)
        pole = (x <= 0) & (x == xp.floor(x))
        return xp.where(pole, xp.inf, xp.where(xp.isinf(x), xp.inf, out))


def _digamma_positive(xp, x):
    """psi(x) for x >= 1/2."""
    low = xp.clip(x, 0.5, 1.5)
    near1 = _horner(low - 1, _DIGAMMA2) - 1 / low
    mid = xp.clip(x, 1.5, _SHIFT_TOP)
    z, inv = mid, xp.zeros_like(mid)
    for _ in range(int(_SHIFT_TOP - 1.5)):
        step = z >= 2.5
        z = xp.where(step, z - 1, z)
        inv = inv + xp.where(step, 1 / z, 0.0)
    near2 = _horner(z - 2, _DIGAMMA2) + inv
    big = xp.maximum(x, _SHIFT_TOP)
    r = 1 / (big * big)
    series = _horner(r, [b / (2 * k + 2) for k, b in enumerate(_BERNOULLI)])
    far = xp.log(big) - 0.5 / big - series * r
    return xp.where(x < 1.5, near1, xp.where(x < _SHIFT_TOP, near2, far))


def digamma(x):
    """psi(x) = d/dx log Gamma(x); -inf at 0 (+inf at -0, its limit from below) and nan at the
    negative integers, as PyTorch."""
    xp = get_array_module(x)
    with xp.errstate(all="ignore"):
        pos = _digamma_positive(xp, xp.maximum(x, 0.5))
        refl = xp.minimum(x, 0.5)
        r = refl - xp.round(refl)  # psi(x) = psi(1 - x) - pi cot(pi x); cot has period 1
        neg = _digamma_positive(xp, 1 - refl) - math.pi / xp.tan(math.pi * r)
        out = xp.where(x >= 0.5, pos, neg)
        out = xp.where((x < 0) & (x == xp.floor(x)), xp.nan, out)
        out = xp.where(x == 0, xp.where(xp.signbit(x), xp.inf, -xp.inf), out)  # -0: +inf
        return xp.where(x == xp.inf, xp.inf, xp.where(x == -xp.inf, xp.nan, out))


def _hurwitz(xp, s, q):
    """zeta(s, q) = sum_k (q + k)^-s for an integer s >= 2 and q >= 1/2 (Euler-Maclaurin)."""
    total = xp.zeros_like(q)
    a, top = q, _SHIFT_TOP + s  # the tail's series needs a well above s
    for _ in range(int(top)):  # sum the first terms until q + k >= top
        small = a < top
        total = total + xp.where(small, a ** -s, 0.0)
        a = xp.where(small, a + 1, a)
    # the tail from a on: a^(1-s)/(s-1) + a^-s/2 + sum_j B_2j/(2j)! s(s+1)...(s+2j-2) a^(-s-2j+1)
    tail = a ** (1 - s) / (s - 1) + 0.5 * a ** -s
    rising, power = float(s), a ** (-s - 1)
    for j, b in enumerate(_BERNOULLI, start=1):
        tail = tail + b / math.factorial(2 * j) * rising * power
        rising *= (s + 2 * j - 1) * (s + 2 * j)
        power = power / (a * a)
    return total + tail


def polygamma(n: int, x):
    """psi^(n)(x), the n-th derivative of digamma (n = 0 is digamma itself)."""
    if n == 0:
        return digamma(x)
    xp = get_array_module(x)
    sign = -1.0 if n % 2 == 0 else 1.0  # psi^(n)(x) = (-1)^(n+1) n! zeta(n + 1, x)
    with xp.errstate(all="ignore"):
        pos = sign * math.factorial(n) * _hurwitz(xp, n + 1, xp.maximum(x, 0.5))
        below = x < 0.5
        if n == 1 and bool(below.any()):  # reflection: psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x)
            refl = xp.minimum(x, 0.5)
            s = _sinpi_abs(xp, refl)
            neg = math.pi ** 2 / (s * s) - math.factorial(n) * _hurwitz(xp, 2, 1 - refl)
            pos = xp.where(below, neg, pos)
        elif bool(below.any()):
            pos = xp.where(below, _polygamma_by_steps(xp, n, sign, x), pos)
        pole = (x <= 0) & (x == xp.floor(x)) & xp.isfinite(x)
        pos = xp.where(pole, xp.inf if n % 2 else -xp.inf, pos)  # as PyTorch, for even n too
        return xp.where(x == -xp.inf, xp.nan, pos)


def _polygamma_by_steps(xp, n, sign, x):
    """psi^(n)(x) for x < 1/2 and n >= 2: step up by psi^(n)(x) = psi^(n)(x + 1) - (-1)^n n!
    x^-(n+1) until x >= 1/2 (the number of steps is that of the most negative argument)."""
    lowest = float(xp.nanmin(xp.where(xp.isfinite(x), x, 0.0)))
    steps = int(math.ceil(0.5 - lowest))
    if steps > 10_000:
        raise ValueError(f"polygamma: order n={n} >= 2 is computed for arguments >= -10000, "
                         f"got {lowest}")
    total, z = xp.zeros_like(x), xp.minimum(x, 0.5)
    for _ in range(steps):
        step = z < 0.5
        total = total + xp.where(step, z ** -(n + 1), 0.0)
        z = xp.where(step, z + 1, z)
    fact = math.factorial(n)
    return sign * fact * _hurwitz(xp, n + 1, z) + sign * fact * total


def _erfinv_parts(xp, a, rest):
    """The y >= 0 with erf(y) = a, given a in [0, 1] and rest = 1 - a (exact, or tiny)."""
    # Winitzki's closed form, good to about 2e-3, as the first guess; w = log(1 - a^2)
    w = xp.log(rest) + xp.log1p(a)
    k = 2 / (math.pi * 0.147) + w / 2
    y = xp.sqrt(xp.maximum(xp.sqrt(k * k - w / 0.147) - k, 0.0))
    tail = a > 0.5
    for _ in range(4):
        # Halley on f(y) = erf(y) - a, evaluated as rest - erfc(y) in the tail
        f = xp.where(tail, rest - erfc(y), erf(y) - a)
        d = f / (2 / math.sqrt(math.pi) * xp.exp(-y * y))
        y = y - d / (1 + y * d)
    return xp.where(rest == 0, xp.inf, y)


def erfinv(x):
    """The y with erf(y) = x for x in [-1, 1] (+-inf at +-1, nan outside), elementwise."""
    xp = get_array_module(x)
    with xp.errstate(all="ignore"):
        a = xp.clip(xp.abs(x), 0.0, 1.0)
        out = xp.sign(x) * _erfinv_parts(xp, a, 1 - a)  # 1 - a is exact where it is small
        return xp.where(xp.abs(x) > 1, xp.nan, out)


def ndtri(p):
    """The x with Phi(x) = p: -sqrt(2) erfcinv(2p) below 1/2 (2p keeps all its digits), and
    sqrt(2) erfinv(2p - 1) above."""
    xp = get_array_module(p)
    with xp.errstate(all="ignore"):
        c = xp.clip(p, 0.0, 1.0)
        lower = xp.minimum(2 * c, 1.0)
        low = -math.sqrt(2) * _erfinv_parts(xp, 1 - lower, lower)
        upper = xp.clip(2 * c - 1, 0.0, 1.0)
        high = math.sqrt(2) * _erfinv_parts(xp, upper, 1 - upper)
        out = xp.where(c < 0.5, low, high)
        deep = (c > 0) & (c < 1e-300)  # 2p - 1 and erfc lose the subnormals' digits: Newton
        if deep.any():  # on log Phi(x) = log p, whose terms stay normal
            x, logp = xp.where(deep, out, -37.0), xp.log(xp.where(deep, c, 1e-300))
            for _ in range(3):
                lp = log_ndtr(x)
                x = x - (lp - logp) * xp.exp(lp + 0.5 * x * x + 0.5 * math.log(2 * math.pi))
            out = xp.where(deep, x, out)
        return xp.where((p < 0) | (p > 1) | xp.isnan(p), xp.nan, out)


def log_ndtr(x):
    """log Phi(x): log1p(-Phi(-x)) above 0, and below -20 the asymptotic series of the tail,
    log Phi(x) = -x^2/2 - log(-x) - log(2 pi)/2 + log(1 - 1/x^2 + 3/x^4 - 15/x^6 + ...)."""
    xp = get_array_module(x)
    with xp.errstate(all="ignore"):
        c = xp.clip(x, -20.0, 0.0)
        near = xp.where(x > 0, xp.log1p(-ndtr(-xp.maximum(x, 0.0))), xp.log(ndtr(c)))
        t = xp.minimum(x, -20.0)
        r = 1 / (t * t)
        term, series = xp.ones_like(t), xp.ones_like(t)
        for k in range(1, 12):
            term = term * -(2 * k - 1) * r
            series = series + term
        far = -0.5 * t * t - xp.log(-t) - 0.5 * math.log(2 * math.pi) + xp.log(series)
        return xp.where(x < -20.0, far, near)


def erfcx(x):
    """The scaled complementary error function e^(x^2) erfc(x), elementwise: from 1 to 50 the
    rational factor of erfc's expansion itself (erfc = e^(-x^2) P/Q), beyond it the asymptotic
    series 1/(x sqrt(pi)) (1 - 1/(2x^2) + 3/(4x^4) - ...), below 1 e^(x^2) erfc(x) (which
    overflows to inf below about -26.6, as the function does)."""
    xp = get_array_module(x)
    with xp.errstate(all="ignore"):
        low = xp.minimum(x, 1.0)
        near = xp.exp(low * low) * erfc(low)
        mid = xp.clip(x, 1.0, 50.0)
        ratio = xp.where(mid < 8.0, _polevl(xp.minimum(mid, 8.0), _P) / _p1evl(
            xp.minimum(mid, 8.0), _Q), _polevl(mid, _R) / _p1evl(mid, _S))
        big = xp.maximum(x, 50.0)
        r = 1 / (2 * big * big)
        term, series = xp.ones_like(big), xp.ones_like(big)
        for k in range(1, 8):
            term = term * -(2 * k - 1) * r
            series = series + term
        far = series / (big * math.sqrt(math.pi))
        return xp.where(x < 1.0, near, xp.where(x < 50.0, ratio, far))
