"""PyTorch's ``linspace`` to the last bit, for ``linspace`` itself and the histograms' edges.

PyTorch computes ``step = (end - start) / (steps - 1)`` rounded in the output dtype, then
``start + i * step`` for the first half of the values and ``end - (steps - 1 - i) * step`` for
the rest, each a fused multiply-add (one rounding; its x86 builds fuse them). NumPy's
``linspace`` is ``start + i * step`` throughout, so values in the upper half can sit an ulp
away: ``linspace(0, 1, 11)[7]`` was 0.7000000000000001 where PyTorch's is 0.7. For an integer
dtype PyTorch first truncates ``start`` and ``end`` to it, computes in float64 alike and
truncates each value (NumPy's ``linspace(2.7, 9.3, 5).astype(int)`` differed by one).
"""

from __future__ import annotations

import math
import numbers

from ..backend import numpy

__all__ = ["equal_width_edges", "torch_linspace"]


def _split(x):
    big = 134217729.0 * x  # 2 ** 27 + 1: Veltkamp's split into two halves of 26 bits
    high = big - (big - x)
    return high, x - high


def _fused_multiply_add(a, b, c):
    """``a * b + c`` with the product exact (Dekker's product and Knuth's sum, float64)."""
    p = a * b
    a_hi, a_lo = _split(a)
    b_hi, b_lo = _split(b)
    p_err = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    s = p + c
    back = s - p
    s_err = (p - (s - back)) + (c - back)
    return numpy.where(numpy.isfinite(p), s + (s_err + p_err), p + c)  # inf step: IEEE's


def equal_width_edges(lo: float, hi: float, bins: int, dtype):
    """PyTorch's ``linspace(lo, hi, bins + 1)`` in a real floating ``dtype``: the edges of
    ``bins`` equal bins, as a NumPy array."""
    with numpy.errstate(all="ignore"):  # a range wider than the dtype holds: inf and NaN
        kind = numpy.dtype(dtype).type
        start, end = kind(lo), kind(hi)
        step = numpy.float64((end - start) / kind(bins))
        i = numpy.arange(bins + 1, dtype=numpy.float64)
        lower = i < (bins + 1) // 2
        base = numpy.where(lower, numpy.float64(start), numpy.float64(end))
        edges = _fused_multiply_add(numpy.where(lower, step, -step),
                                    numpy.where(lower, i, bins - i), base)
        return edges.astype(dtype)


def _integer_end(v, dt) -> float:
    """An end of an integer linspace as PyTorch converts it: a Python int within the dtype
    (an unsigned one also down to -max, wrapping), a float truncated if within the dtype."""
    info = numpy.iinfo(dt)
    if isinstance(v, numbers.Integral):
        ok = (-int(info.max) if info.min == 0 else int(info.min)) <= v <= int(info.max)
        value = int(v) % (int(info.max) + 1) if info.min == 0 else int(v)
    else:
        ok = bool(numpy.isfinite(v)) and info.min <= v <= info.max
        value = int(v) if ok else 0
    if not ok:
        raise ValueError(f"linspace: {v!r} can't be converted to {dt} without overflow")
    return float(value)


def torch_linspace(start, end, steps: int, dtype):
    """PyTorch's ``linspace(start, end, steps)`` in float32, float64 or an integer ``dtype``
    (None for another dtype, which the caller makes otherwise)."""
    dt = numpy.dtype(dtype)
    if steps < 2 or dt.kind not in "fiu" or dt == numpy.float16:
        return None
    if dt.kind == "f":
        return equal_width_edges(float(start), float(end), steps - 1, dt)
    lo, hi = _integer_end(start, dt), _integer_end(end, dt)
    values = equal_width_edges(lo, hi, steps - 1, numpy.float64)
    with numpy.errstate(invalid="ignore"):  # 2 ** 63 wraps, as PyTorch's cast
        return values.astype(numpy.int64).astype(dt)


def torch_logspace(start, end, steps: int, base: float, dtype):
    """PyTorch's ``logspace``: ``base ** e`` for its exponents ``e`` as ``torch_linspace`` makes
    them, by the C library's ``pow`` (float64; for an integer dtype ``start`` and ``end``
    truncated first, as PyTorch's, and the powers truncated); in float32 NumPy's float64 values
    rounded once. None for another dtype."""
    dt = numpy.dtype(dtype)
    if steps < 2 or dt.kind not in "fiu" or dt == numpy.float16:
        return None
    with numpy.errstate(all="ignore"):  # overflow is inf (a float) or wraps (an int), as torch
        if dt == numpy.float32:  # float64 powers rounded once: PyTorch's to the last bit
            return numpy.power(float(base), numpy.linspace(start, end, steps)).astype(dt)
        if dt.kind == "f":
            return _pow(float(base), _unfused_edges(float(start), float(end), steps))
        lo, hi = _integer_end(start, dt), _integer_end(end, dt)
        powers = _pow(float(base), _unfused_edges(lo, hi, steps))
        return powers.astype(dt if dt.itemsize >= 4 else numpy.int32).astype(dt)  # as x86 casts


def _unfused_edges(start: float, end: float, steps: int):
    """``torch_linspace``'s values in float64 with the multiply and add rounded apart, as
    PyTorch's ``logspace`` kernel computes its exponents."""
    step = (end - start) / (steps - 1)
    i = numpy.arange(steps, dtype=numpy.float64)
    lower = i < steps // 2
    return numpy.where(lower, start + step * i, end - step * (steps - 1 - i))


def _pow(base: float, exps):
    """``base ** e`` for each ``e``, by the C library's ``pow`` as PyTorch's kernel (NumPy's
    array ``power`` may take a faster, not correctly rounded path: an ulp off)."""
    return numpy.array([_c_pow(base, float(e)) for e in exps.tolist()], dtype=numpy.float64)


def _c_pow(base: float, e: float) -> float:
    try:
        return math.pow(base, e)
    except OverflowError:
        return math.inf if base > 0 or e % 2 == 0 else -math.inf
    except ValueError:  # 0 to a negative power (C's inf), a negative one to a fraction (NaN)
        return math.inf if base == 0 else math.nan
