"""PyTorch's histogram edges and counts, shared by ``histc``, ``histogram`` and ``histogramdd``.

PyTorch makes the ``bins + 1`` edges with its ``linspace`` (``_linspace.py``). NumPy's
``histogram`` spaces its edges as ``lo + i * step`` throughout, so an edge in the upper half could
sit an ulp away from PyTorch's, and a value lying exactly on it (0.7 with ten bins over [0, 1],
say) was counted one bin off. An entry's bin is then found as PyTorch finds it (``_bin_of``; the
last bin includes its right edge, NaN and entries outside the edges are left out), and the
weights of a bin are summed in float64 (NumPy's histogram differences a running sum of the
weights, which in float32 loses the small bins to the large total).
"""

from __future__ import annotations

from ..backend import numpy
from ._linspace import equal_width_edges

__all__ = ["check_dtype", "check_edges", "width_edges", "count", "equal_width_edges",
           "outer_edges"]


def outer_edges(op: str, column, bounds=None) -> tuple[float, float]:
    """The first and last edge for one dimension: ``bounds`` (min, max) when given, else the
    data's own range ([0, 1] when there is none); an empty range is widened by 0.5 each side."""
    if bounds is not None:
        if len(bounds) != 2:
            raise ValueError(f"{op}: range must be (min, max), got {bounds!r}")
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


def width_edges(op: str, lo: float, hi: float, bins: int, dtype):
    """``equal_width_edges``, refused where they overflow the dtype: ends near its maximum (such
    as [9e307, 1.8e308] in float64) made NaN edges and empty counts, silently (PyTorch's counts
    are wrong there too, or it raises)."""
    edges = equal_width_edges(lo, hi, bins, dtype)
    if not numpy.isfinite(edges).all():
        raise ValueError(f"{op}: cannot split the range [{lo!r}, {hi!r}] into {bins} equal bins "
                         f"in {edges.dtype}: their edges overflow the dtype ({edges.tolist()}); "
                         f"expected a range of finite width (rescale the input)")
    return edges


def _upper_bound(xp, edges, values, first, stop):
    """C++'s ``upper_bound`` over ``edges[first:stop]`` for each value (the same steps, so that
    edges out of order, which PyTorch's linspace makes for a range of a few ulps, search alike)."""
    first, count = first.copy(), stop - first
    while bool(xp.any(count > 0)):
        step = count // 2
        probe = xp.minimum(first + step, edges.size - 1)
        right = (count > 0) & ~(values < edges[probe])
        first = xp.where(right, first + step + 1, first)
        count = xp.where(right, count - step - 1, xp.where(count > 0, step, 0))
    return first


def _bin_of(xp, values, edges, search):
    """Each value's bin and whether it is counted. ``search`` is PyTorch's way to the bin:
    "edges" (a binary search, for edges given as a tensor), "local" (the bin the equal widths
    give, corrected by a search of the edges around it: ``histogram`` with an int ``bins``) or
    "linear" (the equal widths alone: ``histc``)."""
    n = edges.size
    inside = (values >= edges[0]) & (values <= edges[-1])  # NaN is left out
    if search == "edges":  # in order (check_edges)
        where = xp.searchsorted(edges, values, side="right") - 1
    else:
        with numpy.errstate(all="ignore"):  # a range too wide for the dtype: PyTorch's is UB
            guess = (values - edges[0]) * edges.dtype.type(n - 1) / (edges[-1] - edges[0])
        guess = xp.clip(xp.where(xp.isfinite(guess), guess, 0), 0, n - 1).astype(xp.int64)
        where = guess if search == "linear" else _upper_bound(
            xp, edges, values, xp.maximum(guess - 1, 0), xp.minimum(guess + 2, n)) - 1
    where = xp.where(where == n - 1, where - 1, where)  # the last bin holds its right edge
    return where, inside & (where >= 0)


def check_edges(op: str, edges) -> None:
    """Edges given as a tensor: 1-D, at least two, in order (PyTorch searches them as if so)."""
    if edges.ndim != 1 or edges.size < 2 or bool((edges[1:] < edges[:-1]).any()):
        raise ValueError(f"{op}: bin edges must be a 1-D tensor of at least two "
                         f"non-decreasing values, got {edges.tolist()}")


def check_dtype(op: str, what: str, array, dtype) -> None:
    """PyTorch's histograms take edges and weights of the input's dtype only (no cast)."""
    if array.dtype != dtype:
        raise TypeError(f"{op}: {what} must have the input's dtype {dtype}, got {array.dtype}")


def count(xp, points, edges, weights, density: bool, dtype, searches):
    """The histogram of ``points`` (M, D) over one array of edges per dimension, found by one
    of ``_bin_of``'s searches per dimension, in ``dtype``."""
    shape = tuple(e.size - 1 for e in edges)
    flat = xp.zeros(points.shape[0], xp.int64)
    keep = xp.ones(points.shape[0], bool)
    for k, e in enumerate(edges):
        where, inside = _bin_of(xp, points[:, k], e, searches[k])
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
