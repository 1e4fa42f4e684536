"""PyTorch's histogram edges and counts, shared by ``histogram`` and ``histogramdd``.

PyTorch makes the ``bins + 1`` edges with its ``linspace``: ``step = (hi - lo) / bins`` rounded in
the input's dtype, then ``lo + i * step`` for the first half of the edges and
``hi - (bins - i) * step`` for the rest, each a fused multiply-add (one rounding). NumPy's
``histogram`` spaces its edges as ``lo + i * step`` throughout, so an edge in the upper half can
sit an ulp away from PyTorch's, and a value lying exactly on it (0.7 with ten bins over [0, 1],
say) was counted one bin off. An entry's bin is then the one whose edges hold it (the last bin
includes its right edge; NaN and entries outside the edges are left out), and the weights of a
bin are summed in float64 (NumPy's histogram differences a running sum of the weights, which in
float32 loses the small bins to the large total).
"""

from __future__ import annotations

from ..backend import numpy

__all__ = ["count", "equal_width_edges", "outer_edges"]


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
    return s + (s_err + p_err)


def equal_width_edges(lo: float, hi: float, bins: int, dtype):
    """The ``bins + 1`` edges from ``lo`` to ``hi`` that PyTorch's histograms use, in ``dtype``
    (a NumPy array: the edges are few, and the data's array module takes them from there)."""
    kind = numpy.dtype(dtype).type
    start, end = kind(lo), kind(hi)
    step = numpy.float64((end - start) / kind(bins))
    i = numpy.arange(bins + 1, dtype=numpy.float64)
    lower = i < (bins + 1) // 2
    edges = _fused_multiply_add(numpy.where(lower, step, -step), numpy.where(lower, i, bins - i),
                                numpy.where(lower, numpy.float64(start), numpy.float64(end)))
    return edges.astype(dtype)


def outer_edges(op: str, column, bounds=None) -> tuple[float, float]:
    """The first and last edge for one dimension: ``bounds`` (min, max) when given, else the
    data's own range ([0, 1] when there is none); an empty range is widened by 0.5 each side."""
    if bounds is not None:
        lo, hi = float(bounds[0]), float(bounds[1])
    elif column.size:
        lo, hi = float(column.min()), float(column.max())
    else:
        lo, hi = 0.0, 1.0
    if not (numpy.isfinite(lo) and numpy.isfinite(hi)):
        raise ValueError(f"{op}: range of [{lo}, {hi}] is not finite")
    if lo > hi:
        raise ValueError(f"{op}: max must be larger than min, got range ({lo}, {hi})")
    return (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)


def _bin_of(xp, values, edges):
    """Each value's bin in ``edges`` and whether it lies within them."""
    if edges.ndim != 1 or edges.size < 2 or bool(xp.any(edges[1:] < edges[:-1])):
        raise ValueError(f"histogram: bin edges must be a 1-D tensor of at least two "
                         f"non-decreasing values, got {edges.tolist()}")
    inside = (values >= edges[0]) & (values <= edges[-1])
    where = xp.searchsorted(edges, values, side="right") - 1
    return xp.minimum(where, edges.size - 2), inside


def count(xp, points, edges, weights, density: bool, dtype):
    """The histogram of ``points`` (M, D) over one array of edges per dimension, in ``dtype``."""
    shape = tuple(e.size - 1 for e in edges)
    flat = xp.zeros(points.shape[0], xp.int64)
    keep = xp.ones(points.shape[0], bool)
    for k, e in enumerate(edges):
        where, inside = _bin_of(xp, points[:, k], e)
        flat = flat * shape[k] + where
        keep &= inside
    w = None if weights is None else weights[keep].astype(xp.float64)
    hist = xp.bincount(flat[keep], weights=w, minlength=int(numpy.prod(shape)))
    hist = hist.astype(xp.float64).reshape(shape)
    if density:
        with numpy.errstate(divide="ignore", invalid="ignore"):  # no weight at all: NaN
            hist = hist / hist.sum()
            for k, e in enumerate(edges):
                width = xp.diff(e).astype(xp.float64)
                hist = hist / width.reshape((-1,) + (1,) * (len(shape) - k - 1))
    return hist.astype(dtype)
