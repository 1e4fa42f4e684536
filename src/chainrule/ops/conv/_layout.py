"""Batch-last memory behind NCHW views: the layout convolution and pooling share.

``_batch_last`` says why image batches are kept as (C, H, W, N) memory; ``_pad`` makes a padded
copy in that layout. 1-D arrays run through the 2-D code with a unit height axis (``_as2d``).
"""

from __future__ import annotations

from ...backend import get_array_module

_HOST = get_array_module()


def _as2d(a, nd):
    """A (N, C, L) array as (N, C, 1, L), a view; 2-D arrays are returned unchanged."""
    return a[:, :, None] if nd == 1 else a


def _from2d(a, nd):
    return a[:, :, 0] if nd == 1 else a


def _batch_last(a):
    """A (C, H, W, N) array as the (N, C, H, W) view that Tensors show.

    Convolution, pooling and col2im keep image batches in (C, H, W, N) memory. That is the layout a
    convolution's GEMM, W (O, C*k*k) @ columns (C*k*k, Ho*Wo*N), writes, so the output needs no
    transpose copy; the bias add runs over long rows; and the strided windows of im2col, col2im and
    pooling step over whole batches of N contiguous values instead of single ones. NumPy arrays
    carry their strides, so the logical shape stays PyTorch's (N, C, H, W).
    """
    return a.transpose(3, 0, 1, 2)


def _memory_order(a):
    """The (C, H, W, N) view of a logical (N, C, H, W) array: a free view when batch-last."""
    return a.transpose(1, 2, 3, 0)


def _pad(x, padding, value=0):
    """``x`` (N, C, H, W) with ``padding`` ((top, bottom), (left, right)) filled with ``value``.

    The padded copy is stored batch-last (see ``_batch_last``).
    """
    (pt, pb), (pl, pr) = padding
    if not (pt or pb or pl or pr):
        return x
    xp = get_array_module(x)
    n, c, h, w = x.shape
    out = xp.full((c, h + pt + pb, w + pl + pr, n), value, x.dtype)
    out[:, pt:pt + h, pl:pl + w] = _memory_order(x)
    return _batch_last(out)
