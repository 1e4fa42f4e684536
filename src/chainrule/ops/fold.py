"""``unfold`` (im2col) and ``fold`` (col2im), PyTorch's ``F.unfold``/``F.fold``.

``unfold`` picks every window's values by one integer index into the padded image (``getitem``,
whose gradient adds up the copies); ``fold`` is its adjoint, adding each column back at the same
index (``ScatterAdd``, whose gradient is that pick again). So both differentiate to any order.
The image axis comes first while indexing so the fast scatter kernel serves the sums.
"""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .activation import _float_input
from .join import pad
from .shape import ScatterAdd, getitem, permute, reshape

__all__ = ["fold", "unfold"]


def _pair(op, name, value, minimum):
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or any(isinstance(v, bool) or not isinstance(v, numbers.Integral)
                              or v < minimum for v in items):
        raise ValueError(f"{op}: {name} must be an int >= {minimum} or a pair of them, got "
                         f"{value!r}")
    return tuple(int(v) for v in items)


def _windows(op, spatial, kernel_size, dilation, padding, stride):
    """The settings as pairs, the number of window positions per axis, and the flat index
    (C-less) of every (kernel offset, window position) into the padded image."""
    k = _pair(op, "kernel_size", kernel_size, 1)
    d = _pair(op, "dilation", dilation, 1)
    p = _pair(op, "padding", padding, 0)
    s = _pair(op, "stride", stride, 1)
    padded = tuple(n + 2 * pp for n, pp in zip(spatial, p))
    blocks = tuple((n - dd * (kk - 1) - 1) // ss + 1 for n, dd, kk, ss in zip(padded, d, k, s))
    if any(b <= 0 for b in blocks):
        raise ValueError(f"{op}: kernel_size {k} with dilation {d} does not fit spatial size "
                         f"{tuple(spatial)} padded by {p}")
    return k, d, p, s, padded, blocks


def _flat_index(xp, channels, k, d, s, padded, blocks):
    """(C * kh * kw, L) positions into the flattened padded (C, Hp, Wp) image."""
    ki = xp.arange(k[0])[:, None, None, None] * d[0]
    kj = xp.arange(k[1])[None, :, None, None] * d[1]
    oi = xp.arange(blocks[0])[None, None, :, None] * s[0]
    oj = xp.arange(blocks[1])[None, None, None, :] * s[1]
    within = ((ki + oi) * padded[1] + (kj + oj)).reshape(k[0] * k[1], blocks[0] * blocks[1])
    base = xp.arange(channels)[:, None, None] * (padded[0] * padded[1])
    return (base + within[None]).reshape(channels * k[0] * k[1], -1)


def _batched(op, x, ndim):
    x = _float_input(op, x, complex_ok=True)  # complex as PyTorch's (its im2col/col2im take it)
    if x.ndim not in (ndim - 1, ndim):
        raise ValueError(f"{op}: input must be {ndim - 1}-D or {ndim}-D (batched), got shape "
                         f"{tuple(x.shape)}")
    return (reshape(x, (1,) + tuple(x.shape)), True) if x.ndim == ndim - 1 else (x, False)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:  # noqa: A002
    """Every sliding window of (N, C, H, W) input as a column: (N, C * kh * kw, L), L the number
    of windows, rows ordered (channel, kernel row, kernel column) as in PyTorch."""
    x, unbatched = _batched("unfold", input, 4)
    n, c, h, w = x.shape
    k, d, p, s, padded, blocks = _windows("unfold", (h, w), kernel_size, dilation, padding,
                                          stride)
    xp = get_array_module(x._data)
    idx = _flat_index(xp, c, k, d, s, padded, blocks)
    if any(p):
        x = pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    image = permute(reshape(x, (n, c * padded[0] * padded[1])), (1, 0))
    cols = permute(getitem(image, Tensor(idx)), (2, 0, 1))
    return reshape(cols, tuple(cols.shape[1:])) if unbatched else cols


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:  # noqa: A002
    """The adjoint of ``unfold``: columns (N, C * kh * kw, L) summed back into an (N, C, H, W)
    image of ``output_size`` (H, W); overlapping windows add up."""
    cols, unbatched = _batched("fold", input, 3)
    size = _pair("fold", "output_size", output_size, 1)
    k, d, p, s, padded, blocks = _windows("fold", size, kernel_size, dilation, padding, stride)
    n, rows, length = cols.shape
    if rows % (k[0] * k[1]) or length != blocks[0] * blocks[1]:
        raise ValueError(f"fold: input of shape {tuple(input.shape)} does not match "
                         f"kernel_size {k}: expected (N, C * {k[0] * k[1]}, "
                         f"{blocks[0] * blocks[1]}) for output_size {size}, dilation {d}, "
                         f"padding {p} and stride {s}")
    c = rows // (k[0] * k[1])
    xp = get_array_module(cols._data)
    idx = _flat_index(xp, c, k, d, s, padded, blocks)
    summed = ScatterAdd.apply(permute(cols, (1, 2, 0)), index=idx,
                              shape=(c * padded[0] * padded[1], n), accumulate=True)
    image = reshape(permute(summed, (1, 0)), (n, c) + padded)
    if any(p):
        image = getitem(image, (slice(None), slice(None), slice(p[0], p[0] + size[0]),
                                slice(p[1], p[1] + size[1])))
    return reshape(image, tuple(image.shape[1:])) if unbatched else image
