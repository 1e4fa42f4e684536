"""float16 reductions (and the ops built on them) as PyTorch computes them on a CPU: accumulated
in float32 and rounded to float16 once. NumPy sums float16 in float16 along all but the
innermost axis (a column sum of 1000 values near 100 is off by tens) and forms a variance from
float16 sums (the sum of 5000 values near 30 overflows to inf); a sum of squares passes 65504
sooner. A result past float16's 65504 is inf, without NumPy's warning, as a cast is elsewhere."""

from __future__ import annotations

from ..backend import get_array_module, numpy

__all__ = ["half_sum", "variance"]


def half_sum(x, axes, keepdims):
    """``x.sum(axes)`` of a float16 array, in float32, rounded once."""
    with numpy.errstate(over="ignore"):
        return x.sum(axis=axes, keepdims=keepdims, dtype=numpy.float32).astype(numpy.float16)


def variance(x, axes, ddof, keepdims, root=False):
    """``x.var`` (its square root for ``root``: a float16 variance past 65504 may have a finite
    root); float16 in float32, rounded once."""
    wide = x.dtype == numpy.float16
    v = x.var(axes, numpy.float32 if wide else None, ddof=ddof, keepdims=keepdims)
    v = get_array_module(x).sqrt(v) if root else v
    if not wide:
        return v
    with numpy.errstate(over="ignore"):
        return v.astype(numpy.float16)

