"""The winners of max pooling as PyTorch's ``return_indices`` gives them, for any number of
spatial axes: each window's winner as a flat index into its (*spatial) plane.

PyTorch's rule, for sliding and adaptive windows alike: a window starts with its first element
inside the input (never the padding), and a later one takes over when it is larger or NaN (so
the first maximum in row-major order wins, or the last NaN). The indices are integers with no
gradient; the pools' values and gradients come from their own ops.
"""

from __future__ import annotations

import itertools

from ..autograd.tensor import Tensor
from ..backend import get_array_module


def adaptive_bounds(xp, n, m):
    """Start and end of the ``m`` adaptive windows over ``n`` elements (PyTorch's formula)."""
    i = xp.arange(m)
    return (i * n) // m, ((i + 1) * n + m - 1) // m


def _open_grid(vectors):
    """One 1-D array per axis, each shaped to broadcast along its own axis (as ``ix_``, which
    would read boolean vectors as masks)."""
    nd = len(vectors)
    return tuple(v.reshape((1,) * a + (-1,) + (1,) * (nd - 1 - a)) for a, v in enumerate(vectors))


def max_pool_indices(x, kernel, stride, padding, out_size):
    """int64 Tensor (N, C, *out_size): the winner of each window of ``x`` (N, C, *spatial) as a
    flat index into its plane. ``kernel``, ``stride``, ``padding``: one int per spatial axis for
    sliding windows (a ``ceil_mode`` output simply has more of them), or all None for adaptive
    ones."""
    a = x._data if isinstance(x, Tensor) else x
    xp = get_array_module(a)
    spatial = a.shape[2:]
    starts, ends = [], []
    for ax, (n, m) in enumerate(zip(spatial, out_size)):
        if kernel is None:
            start, end = adaptive_bounds(xp, n, m)
        else:
            start = xp.arange(m) * stride[ax] - padding[ax]
            end = start + kernel[ax]
        starts.append(xp.maximum(start, 0))
        ends.append(xp.minimum(end, n))
    place = [1] * len(spatial)  # the flat index's step along each axis
    for ax in range(len(spatial) - 2, -1, -1):
        place[ax] = place[ax + 1] * spatial[ax + 1]
    spans = [int((e - s).max()) for s, e in zip(starts, ends)]
    nan = a.dtype.kind == "f" and bool(xp.isnan(a).any())
    best = arg = None
    for offset in itertools.product(*(range(k) for k in spans)):
        pos = [s + o for s, o in zip(starts, offset)]
        inside = _open_grid([p < e for p, e in zip(pos, ends)])
        pos = _open_grid([xp.minimum(p, e - 1) for p, e in zip(pos, ends)])
        v = a[(slice(None), slice(None)) + pos]
        flat = sum(p * step for p, step in zip(pos, place))
        if best is None:  # offset 0: each window's first element, always inside the input
            best, arg = v, xp.broadcast_to(flat, v.shape).astype(xp.int64)
            continue
        ok = inside[0]
        for more in inside[1:]:
            ok = ok & more
        take = v > best
        if nan:
            take |= xp.isnan(v)
        take &= ok
        best = xp.where(take, v, best)
        arg = xp.where(take, flat, arg)
    return Tensor(arg)
