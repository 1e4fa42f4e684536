"""The winners of max pooling as PyTorch's ``return_indices`` gives them, for any number of
spatial axes: each window's winner as a flat index into its (*spatial) plane.

PyTorch's rule, for sliding and adaptive windows alike: a window starts with its first element
inside the input (never the padding), and a later one takes over when it is larger or NaN (so
the first maximum in row-major order wins, or the last NaN). The indices are integers with no
gradient; the pools' values and gradients come from their own ops.
"""

from __future__ import annotations

import itertools

from ..autograd.function import nondiff
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


def max_pool_indices(x, kernel, stride, padding, out_size, dilation=None, return_found=False):
    """int64 Tensor (N, C, *out_size): the winner of each window of ``x`` (N, C, *spatial) as a
    flat index into its plane. ``kernel``, ``stride``, ``padding`` (and ``dilation``, default
    1): one int per spatial axis for sliding windows (a ``ceil_mode`` output simply has more of
    them), or all None for adaptive ones.

    A dilated window can lie wholly in the padding (its taps step over the input). PyTorch gives
    it the value -inf and, as its index, the flat position of its first tap at or after 0 on
    each axis (which lies outside the plane or elsewhere in it); that index is given here too.
    With ``return_found`` the result is ``(indices, found)``, ``found`` a boolean array (N, C,
    *out_size) that is False for such windows.

    Without ``return_found`` the indices of a Tensor are a recorded non-differentiable op, so
    that a trace computes them again at each call and ``chainrule.onnx.export`` writes them (its
    function's ``max_pool`` attribute holds the windows: kernel, stride, padding, dilation)."""
    if return_found:
        arg, found = _winners(x._data if isinstance(x, Tensor) else x, kernel, stride, padding,
                              out_size, dilation)
        return Tensor(arg), found

    def winners(a):
        return _winners(a, kernel, stride, padding, out_size, dilation)[0]

    winners.max_pool = (kernel, stride, padding, dilation)
    return nondiff(winners, x) if isinstance(x, Tensor) else Tensor(winners(x))


def _winners(a, kernel, stride, padding, out_size, dilation):
    xp = get_array_module(a)
    spatial = a.shape[2:]
    starts, bounds, steps, counts = [], [], [], []
    for ax, (n, m) in enumerate(zip(spatial, out_size)):
        if kernel is None:
            start, end = adaptive_bounds(xp, n, m)
            starts.append(start)
            bounds.append(end)
            steps.append(1)
            counts.append(int((end - start).max()))
        else:
            starts.append(xp.arange(m) * stride[ax] - padding[ax])
            bounds.append(n)
            steps.append(1 if dilation is None else dilation[ax])
            counts.append(kernel[ax])
    place = [1] * len(spatial)  # the flat index's step along each axis
    for ax in range(len(spatial) - 2, -1, -1):
        place[ax] = place[ax + 1] * spatial[ax + 1]
    nan = a.dtype.kind == "f" and bool(xp.isnan(a).any())
    best = arg = found = None
    for offset in itertools.product(*(range(k) for k in counts)):
        pos = [s + o * d for s, o, d in zip(starts, offset, steps)]
        inside = _open_grid([(p >= 0) & (p < b) for p, b in zip(pos, bounds)])
        pos = _open_grid([xp.clip(p, 0, n - 1) for p, n in zip(pos, spatial)])
        v = a[(slice(None), slice(None)) + pos]
        flat = sum(p * step for p, step in zip(pos, place))
        ok = inside[0]
        for more in inside[1:]:
            ok = ok & more
        if best is None:
            best = xp.where(ok, v, v.dtype.type(0) if v.dtype.kind != "f" else -xp.inf)
            arg = xp.broadcast_to(flat, v.shape).astype(xp.int64)
            found = xp.broadcast_to(ok, v.shape).copy()
            continue
        take = v > best
        if nan:
            take |= xp.isnan(v)
        take |= ~found  # a window's first element inside the input starts it
        take &= ok
        best = xp.where(take, v, best)
        arg = xp.where(take, flat, arg)
        found |= ok
    if not found.all():  # windows wholly in the padding: PyTorch's first tap past it
        firsts = [s + (xp.maximum(-s, 0) + d - 1) // d * d for s, d in zip(starts, steps)]
        flat = sum(f * step for f, step in zip(_open_grid(firsts), place))
        arg = xp.where(found, arg, flat)
    return arg, found
