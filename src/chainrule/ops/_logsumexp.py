"""The forward value of ``logsumexp``: ``log(sum(exp(x - m))) + m`` with ``m`` the largest (real
part of) ``x`` along the axes, kept as size-1 axes.

Many float32 (complex64) terms are summed in float64 and the result rounded once, as ``sum``
does (``_wide.py``): NumPy's float32 sum along a leading axis adds the rows one at a time, and a
logsumexp over 3e5 rows was 3e-5 relative off where PyTorch's is near float32's resolution.
"""

from __future__ import annotations

import contextlib

from ..backend import get_array_module
from ._wide import WIDE_TERMS

__all__ = ["shifted_logsumexp"]

_WIDER = {"f": "d", "F": "D"}


def _errstate(xp):
    """Silence log(0) for an all -inf slice (its logsumexp is -inf); CuPy has no errstate."""
    return xp.errstate(divide="ignore") if hasattr(xp, "errstate") else contextlib.nullcontext()


def shifted_logsumexp(x, axes):
    """``log(sum(exp(x)))`` over ``axes`` of an array, keeping them as size-1 axes."""
    xp = get_array_module(x)
    m = (x.real if x.dtype.kind == "c" else x).max(axis=axes, keepdims=True)
    # Shifting by the maximum keeps exp from overflowing; an infinite maximum is not shifted by.
    m = xp.where(xp.isfinite(m), m, 0).astype(x.dtype, copy=False)
    wide = _WIDER.get(x.dtype.char) if x.size > WIDE_TERMS else None
    with _errstate(xp):
        s = xp.exp(x - m).sum(axis=axes, keepdims=True, dtype=wide)
        return (xp.log(s) + m).astype(x.dtype, copy=False)
