"""The derivative of log Phi(x), phi(x) / Phi(x), written with chainrule ops (so that it
differentiates again). Below x = -20 it is the asymptotic series -x / (1 - 1/x^2 + 3/x^4 - ...)
that log_ndtr's forward uses there (``_gamma.log_ndtr``): exp(-x^2/2 - log Phi(x)) cancels two
numbers near x^2/2, which loses all its digits by x = -1e8 (the gradient at -1e10 was 0.4 for
1e10)."""

from __future__ import annotations

import math

from ..backend import numpy
from . import _gamma
from .elementwise import clip, exp, where

__all__ = ["log_ndtr_slope"]

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
