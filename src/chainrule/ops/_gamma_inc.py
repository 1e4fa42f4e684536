"""The regularized incomplete gamma functions P(a, x), Q(a, x) and the Hurwitz zeta function on
raw float64 arrays (NumPy or CuPy), with no SciPy dependency.

P and Q (Numerical Recipes, 3rd ed., 6.2): below x = a + 1 the series
    P(a, x) = x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1)(a + 2)...(a + n)),
above it Legendre's continued fraction, by the modified Lentz method,
    Q(a, x) = x^a e^-x / Gamma(a) / (x + 1 - a - 1(1 - a) / (x + 3 - a - 2(2 - a) / (x + 5 - ...)))
and the other one as 1 minus it; but Q at x <= 1.1 and a small (below x, roughly) from the
series of gamma(a, x) in powers of x (see ``_small_a_upper``). The prefactor x^a e^-x / Gamma(a)
is, for a >= 10, formed from Stirling's series as sqrt(a / 2pi) exp(-a (l - 1 - log l) -
stirlerr(a)), l = x / a, so that its exponent keeps its digits where a log x and x nearly
cancel. Both sums take about
sqrt(a) terms where x is near a; past a = 1e7 there they would take too many, and ``gammainc``
raises rather than return a sum cut short.

Hurwitz zeta(s, q) = sum_k (q + k)^-s (s > 1): the first terms directly until q + k >= max(20,
s), where the tail's terms shrink at least as fast as (s / (2 pi w))^2 (or until the rest is
below float64's resolution, where it stops), then the Euler-Maclaurin tail from w = q + k,
    w^(1-s) / (s - 1) + w^-s / 2 + sum_j B_2j / (2j)! s (s+1)...(s+2j-2) w^(-s-2j+1)
(Abramowitz & Stegun 23.1.30), as the Cephes library does it.
"""

from __future__ import annotations

import math

from ..backend import get_array_module
from ._gamma import _LGAMMA2, _horner, lgamma

__all__ = ["gammainc", "gammaincc", "hurwitz_zeta", "NotConvergedError"]

_EPS = 1e-16
_TINY = 1e-300
_MAX_TERMS = 30000
# B_2j, j = 1..12
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
              43867 / 798, -174611 / 330, 854513 / 138, -236364091 / 2730)


class NotConvergedError(ValueError):
    """A sum that would need more than ``_MAX_TERMS`` terms (the caller names the arguments)."""


def _log_minus_linear(xp, lam):
    """log(l) - (l - 1) for l > 0: by its series in t = l - 1 near 1 (where the two nearly
    cancel), directly from l elsewhere (not through t, whose rounding near l = 0 log would see)."""
    t = lam - 1
    small = xp.abs(t) < 0.1
    ts = xp.where(small, t, 0.0)
    series, power = xp.zeros_like(ts), ts * ts
    for k in range(2, 20):
        series = series + (-1) ** (k + 1) * power / k
        power = power * ts
    direct = xp.log(xp.where(small, 1.0, lam)) - xp.where(small, 0.0, t)
    return xp.where(small, series, direct)


def _stirlerr(xp, a):
    """lgamma(a) - ((a - 1/2) log a - a + log(2pi) / 2), for a >= 10."""
    r, total, power = 1 / (a * a), xp.zeros_like(a), 1 / a
    for j, b in enumerate(_BERNOULLI[:8], start=1):
        total = total + b / (2 * j * (2 * j - 1)) * power
        power = power * r
    return total


def _prefactor(xp, a, x):
    """x^a e^-x / Gamma(a) for a > 0, x > 0."""
    big = a >= 10
    ab = xp.where(big, a, 10.0)
    stirling = (xp.sqrt(ab / (2 * math.pi))
                * xp.exp(ab * _log_minus_linear(xp, x / ab) - _stirlerr(xp, ab)))
    small = xp.exp(a * xp.log(x) - x - lgamma(xp.where(big, 1.0, a)))
    return xp.where(big, stirling, small)


def _series(xp, a, x, todo):
    """sum_n x^n / ((a + 1)...(a + n)) where ``todo``."""
    term, total = xp.ones_like(x), xp.ones_like(x)
    ap, active = a.copy(), todo.copy()
    for _ in range(_MAX_TERMS):
        if not active.any():
            return total, active
        ap = ap + 1
        term = xp.where(active, term * x / ap, 0.0)
        total = total + term
        active = active & (xp.abs(term) > _EPS * xp.abs(total))
    return total, active


def _fraction(xp, a, x, todo):
    """Legendre's continued fraction of Q / prefactor, by the modified Lentz method."""
    b = x + 1 - a
    c = xp.full_like(x, 1 / _TINY)
    d = 1 / xp.where(b == 0, _TINY, b)
    h, active = d.copy(), todo.copy()
    for i in range(1, _MAX_TERMS):
        if not active.any():
            return h, active
        an = -i * (i - a)
        b = b + 2
        d = an * d + b
        d = 1 / xp.where(xp.abs(d) < _TINY, _TINY, d)
        c = b + an / c
        c = xp.where(xp.abs(c) < _TINY, _TINY, c)
        delta = d * c
        h = xp.where(active, h * delta, h)
        active = active & (xp.abs(delta - 1) > _EPS)
    return h, active


def _small_a_upper(xp, a, x):
    """Q(a, x) for x <= 1.1 and small a, from gamma(a, x) = sum_n (-1)^n x^(a+n) / (n! (a+n)):
    Q = (1 - x^a / Gamma(a+1)) - x^a / Gamma(a+1) a sum_(n>=1) (-x)^n / (n! (a+n)), the first
    part by expm1 and log Gamma(1 + a) by its Taylor series in a (1 + a would lose a's digits)."""
    lgamma1p = xp.where(a < 0.5, _horner(xp.minimum(a, 0.5), _LGAMMA2) - xp.log1p(
        xp.minimum(a, 0.5)), lgamma(1 + a))
    log_lead = a * xp.log(x) - lgamma1p
    total, term = xp.zeros_like(x), xp.ones_like(x)
    for n in range(1, 40):
        term = term * -x / n
        total = total + term / (a + n)
    return -xp.expm1(log_lead) - xp.exp(log_lead) * a * total


def _incomplete(a, x, upper: bool):
    xp = get_array_module(a, x)
    with xp.errstate(all="ignore"):
        ok = (a > 0) & (x > 0) & xp.isfinite(a) & xp.isfinite(x)
        af, xf = xp.where(ok, a, 1.0), xp.where(ok, x, 1.0)
        # near x = a both sums take about 9 sqrt(a) terms: refuse at once what would run out
        if (9 * xp.sqrt(af) > _MAX_TERMS).any() and \
                ((xp.abs(xf - af) < 6 * xp.sqrt(af)) & (9 * xp.sqrt(af) > _MAX_TERMS)).any():
            raise NotConvergedError
        use_series = ok & (xf < af + 1)
        total, left = _series(xp, af, xf, use_series)
        h, left_cf = _fraction(xp, af, xf, ok & ~use_series)
        if left.any() or left_cf.any():
            raise NotConvergedError
        pre = _prefactor(xp, af, xf)
        p_series = pre / af * total
        q_fraction = pre * h
        lower = xp.where(use_series, p_series, 1 - q_fraction)
        upper_ = xp.where(use_series, 1 - p_series, q_fraction)
        # Q for small a near 0 (where 1 - P would keep only P's rounding), as Cephes chooses it
        small_a = ok & (xf <= 1.1) & xp.where(xf <= 0.5, af < -0.4 / xp.log(xf), af <= 1.1 * xf)
        upper_ = xp.where(small_a, _small_a_upper(xp, af, xp.minimum(xf, 1.1)), upper_)
        out = upper_ if upper else lower
        # The edges, as PyTorch: P(0, x > 0) = 1, P(a > 0, 0) = 0, P(inf, x) = 0 for finite x,
        # P(a, inf) = 1 for finite a; a < 0, x < 0, P(0, 0) and P(inf, inf): NaN.
        p_edge = xp.where((a == 0) & (x > 0), 1.0, xp.nan)
        p_edge = xp.where((x == 0) & (a > 0), 0.0, p_edge)
        p_edge = xp.where(xp.isposinf(a) & (x >= 0) & xp.isfinite(x), 0.0, p_edge)
        p_edge = xp.where(xp.isposinf(x) & (a >= 0) & xp.isfinite(a), 1.0, p_edge)
        edge = 1 - p_edge if upper else p_edge
        return xp.where(ok, out, edge)


def gammainc(a, x):
    """P(a, x), the regularized lower incomplete gamma function (raises NotConvergedError)."""
    return _incomplete(a, x, upper=False)


def gammaincc(a, x):
    """Q(a, x) = 1 - P(a, x), the regularized upper incomplete gamma function."""
    return _incomplete(a, x, upper=True)


def hurwitz_zeta(s, q):
    """zeta(s, q) = sum_k (q + k)^-s; inf at s = 1 and at q a non-positive integer, NaN for
    s < 1 and for other q < 0 with s not an integer (the powers of negative numbers), as
    PyTorch."""
    xp = get_array_module(s, q)
    with xp.errstate(all="ignore"):
        whole = q == xp.floor(q)
        nan = xp.isnan(s) | xp.isnan(q) | (s < 1) | ((q < 0) & (s != xp.floor(s)) & ~whole)
        pole = ~nan & ((s == 1) | ((q <= 0) & whole))
        ok = ~nan & ~pole & xp.isfinite(q) & xp.isfinite(s)
        sf, qf = xp.where(ok, s, 2.0), xp.where(ok, q, 1.0)
        target = xp.maximum(20.0, sf)
        total, w = xp.zeros_like(qf), qf.copy()
        active = w < target
        for _ in range(_MAX_TERMS + 1):
            if not active.any():
                break
            term = xp.where(active, w ** -sf, 0.0)
            total = total + term
            w = xp.where(active, w + 1, w)
            # the rest of the sum is below term (w / (s - 1) + 1): once that no longer matters
            # the sum stops there, without a tail
            rest = xp.abs(term) * (w / (sf - 1) + 1)
            done = (w > 1) & (rest <= _EPS * 0.1 * xp.abs(total))
            active = active & (w < target) & ~done
        if active.any():  # only a q below about -30000 gets here (a term for each q + k < 0)
            raise NotConvergedError
        tail = w ** (1 - sf) / (sf - 1) + 0.5 * w ** -sf
        rising, power = sf.copy(), w ** (-sf - 1)
        for j, b in enumerate(_BERNOULLI, start=1):
            tail = tail + b / math.factorial(2 * j) * rising * power
            rising = rising * (sf + 2 * j - 1) * (sf + 2 * j)
            power = power / (w * w)
        tail = xp.where(w >= target, tail, 0.0)
        out = total + tail
        # the limits: zeta(s, inf) = 0; zeta(inf, q) = q^-inf: 1 at q = 1, inf below, 0 above
        out = xp.where(xp.isposinf(q), 0.0, out)
        at_inf = xp.where(q == 1, 1.0, xp.where(q < 1, xp.inf, 0.0))
        out = xp.where(xp.isposinf(s) & xp.isfinite(q), at_inf, out)
        return xp.where(nan, xp.nan, xp.where(pole, xp.inf, out))
