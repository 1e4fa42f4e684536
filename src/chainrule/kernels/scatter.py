"""Scatter-add: the adjoint of integer-array indexing (an embedding's weight gradient).

Reference: ``scatter_add_reference(g, index, shape)`` = zeros of ``shape`` with ``g`` added at
``index`` by ``np.add.at``, which handles repeated positions but is slow: it visits the rows one
by one through NumPy's generic indexing machinery.

Fast route, when ``index`` is one integer array selecting rows of axis 0 (an embedding's ids, of
any shape): sort the ids (stably), cut the sorted run into one segment per distinct id and sum
each segment's gradient rows with ``np.add.reduceat``, then write the sums to their rows (several
times faster on an LSTM text classifier's batch: docs/performance.md). The sums are the
reference's up to rounding: ``np.add.at`` adds each row's gradients one after the other in index
order, ``reduceat`` in its own order, so float sums of more than two terms may differ in the last
bits (exactly equal when the sums are exact, e.g. integer-valued gradients). Any other index
(tuples, slices, boolean masks), a CuPy array or an empty one goes to the reference.
"""

from __future__ import annotations

import math

from ..backend import get_array_module

__all__ = ["scatter_add", "scatter_add_reference"]

np = get_array_module()  # the host's NumPy: the fast route is for host arrays only


def scatter_add_reference(g, index, shape):
    """Zeros of ``shape`` (``g``'s dtype) with ``g`` added at ``index``; repeats accumulate."""
    xp = get_array_module(g)
    out = xp.zeros(shape, dtype=g.dtype)
    xp.add.at(out, index, g)
    return out


def scatter_add(g, index, shape):
    """``scatter_add_reference`` by a sort and a segmented sum where ``index`` is one integer
    array of rows (``g.shape == index.shape + shape[1:]``); the reference otherwise."""
    shape = tuple(shape)
    if not (type(g) is np.ndarray and type(index) is np.ndarray and index.dtype.kind in "iu"
            and index.size and len(shape) >= 1 and g.shape == index.shape + shape[1:]
            and math.prod(shape[1:]) > 0):
        return scatter_add_reference(g, index, shape)
    ids = index.reshape(-1)
    if ids.dtype.kind == "i" and ids.min() < 0:  # NumPy's negative positions count from the end
        ids = np.where(ids < 0, ids + shape[0], ids)
    rows = g.reshape(ids.size, -1)
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    starts = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))
    out = np.zeros((shape[0], rows.shape[1]), dtype=g.dtype)
    out[ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return out.reshape(shape)
