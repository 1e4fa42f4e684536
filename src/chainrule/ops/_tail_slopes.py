"""Derivatives whose textbook forms cancel in a tail, written with chainrule ops (so that they
differentiate again):

- log Phi(x): phi(x) / Phi(x). Below x = -20 it is the asymptotic series -x / (1 - 1/x^2 +
  3/x^4 - ...) that log_ndtr's forward uses there (``_gamma.log_ndtr``): exp(-x^2/2 - log Phi(x))
  cancels two numbers near x^2/2, which loses all its digits by x = -1e8 (the gradient at -1e10
  was 0.4 for 1e10).
- erfcx(x): 2 x erfcx(x) - 2 / sqrt(pi), two numbers near 2 / sqrt(pi) for large x (the gradient
  at 1e6 was off by 5e-5 and at 1e8 was 0). Above x = 20 it is 2 / sqrt(pi) times the series
  sum_n>=1 (-1)^n (2n - 1)!! / (2 x^2)^n.
"""

from __future__ import annotations

import math

from ..backend import numpy
from . import _gamma
from .elementwise import clip, exp, where

__all__ = ["erfcx_slope", "log_ndtr_slope"]

_EDGE = -20.0
_OUT_AT_EDGE = float(_gamma.log_ndtr(numpy.array(_EDGE)))


def log_ndtr_slope(x, out):
    """phi(x) / Phi(x) at ``x``, given ``out`` = log Phi(x); each branch on clipped arguments,
    so that neither makes inf or NaN where the other is taken."""
    t = clip(x, None, _EDGE)
    r = 1 / (t * t)
    term, series = r * 0 + 1, r * 0 + 1
    for k in range(1, 12):
        term = term * (-(2 * k - 1)) * r
        series = series + term
    near_x = clip(x, _EDGE, None)
    near_out = where(x < _EDGE, _OUT_AT_EDGE, out)
    near = exp(near_x * near_x * -0.5 - near_out) * (1 / math.sqrt(2 * math.pi))
    return where(x < _EDGE, -t / series, near)


_ERFCX_EDGE = 20.0


def erfcx_slope(x, out):
    """erfcx'(x), given ``out`` = erfcx(x); the two branches on clipped arguments."""
    t = clip(x, _ERFCX_EDGE, None)
    q = 1 / (2 * t * t)
    term, series = q * 0 + 1, q * 0
    for n in range(1, 13):
        term = term * (-(2 * n - 1)) * q
        series = series + term
    near_x = clip(x, None, _ERFCX_EDGE)
    near_out = where(x > _ERFCX_EDGE, 0.0, out)
    near = 2 * near_x * near_out - 2 / math.sqrt(math.pi)
    return where(x > _ERFCX_EDGE, series * (2 / math.sqrt(math.pi)), near)
