"""Special functions on raw arrays (NumPy or CuPy), to double precision, with no SciPy dependency.

The rational approximations are those of the Cephes library (S. L. Moshier), which SciPy's ``erf``
and ``ndtr`` also compile: relative error about 1e-16 in float64. Each branch is evaluated on
arguments clipped to its own interval, so no branch overflows or warns where it is not selected.
"""

from __future__ import annotations

import math

from ..backend import get_array_module

__all__ = ["erf", "erfc", "ndtr"]

# erf(x) = x T(x^2) / U(x^2) for |x| < 1.
_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
      7.00332514112805075473e3, 5.55923013010394962768e4)
_U = (3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
      2.26290000613890934246e4, 4.92673942608635921086e4)
# erfc(x) = exp(-x^2) P(x) / Q(x) for 1 <= x < 8, and exp(-x^2) R(x) / S(x) for x >= 8.
_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
      4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
      9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_Q = (1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
      9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
      1.65666309194161350182e3, 5.57535340817727675546e2)
_R = (5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0,
      6.16021097993053585195e0, 7.40974269950448939160e0, 2.97886665372100240670e0)
_S = (2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1,
      1.70814450747565897222e1, 9.60896809063285878198e0, 3.36907645100081516050e0)
# exp(-x^2) underflows to exactly 0 in float64 here, so clipping larger x to it gives erfc = 0.
_ERFC_MAX = 28.0


def _polevl(x, coefs):
    """c0 x^n + c1 x^(n-1) + ... + cn by Horner's rule."""
    p = x * coefs[0] + coefs[1]
    for c in coefs[2:]:
        p = p * x + c
    return p


def _p1evl(x, coefs):
    """The same with an implicit leading coefficient 1."""
    p = x + coefs[0]
    for c in coefs[1:]:
        p = p * x + c
    return p


def _erf_small(x):
    """erf on [-1, 1]."""
    z = x * x
    return x * _polevl(z, _T) / _p1evl(z, _U)


def _erfc_large(x):
    """erfc on [1, inf) for x already >= 1 (larger arguments give 0)."""
    xp = get_array_module(x)
    x = xp.minimum(x, _ERFC_MAX)
    mid = _polevl(xp.minimum(x, 8.0), _P) / _p1evl(xp.minimum(x, 8.0), _Q)
    far = _polevl(x, _R) / _p1evl(x, _S)
    return xp.exp(-x * x) * xp.where(x < 8.0, mid, far)


def erf(x):
    """The error function 2 / sqrt(pi) * integral_0^x exp(-t^2) dt, elementwise."""
    xp = get_array_module(x)
    a = xp.abs(x)
    small = _erf_small(xp.clip(x, -1.0, 1.0))
    large = xp.sign(x) * (1 - _erfc_large(xp.maximum(a, 1.0)))
    return xp.where(a < 1, small, large)


def erfc(x):
    """The complementary error function 1 - erf(x), accurate where it is tiny (large x)."""
    xp = get_array_module(x)
    a = xp.abs(x)
    small = 1 - _erf_small(xp.clip(x, -1.0, 1.0))
    tail = _erfc_large(xp.maximum(a, 1.0))
    return xp.where(a < 1, small, xp.where(x > 0, tail, 2 - tail))


def ndtr(x):
    """The standard normal distribution function Phi(x) = (1 + erf(x / sqrt(2))) / 2.

    Computed as ``erfc(-x / sqrt(2)) / 2`` in the lower tail so that tiny probabilities keep their
    relative precision.
    """
    xp = get_array_module(x)
    z = x * (1 / math.sqrt(2.0))
    a = xp.abs(z)
    center = 0.5 + 0.5 * _erf_small(xp.clip(z, -1.0, 1.0))
    tail = 0.5 * _erfc_large(xp.maximum(a, 1.0))
    return xp.where(a < 1, center, xp.where(z > 0, 1 - tail, tail))
