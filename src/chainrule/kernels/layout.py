"""Memory layouts of image batches: batch-last storage behind (N, C, H, W) views, and padding.

Tensors show image batches as PyTorch's (N, C, H, W). The fast convolution and pooling kernels
store them batch-last, as (C, H, W, N) memory (``batch_last``): that is the layout a
convolution's GEMM, W (O, C*k*k) @ columns (C*k*k, Ho*Wo*N), writes, so its output needs no
transpose copy; a bias add runs over long rows; and the strided windows of im2col, col2im and
pooling step over whole batches of N contiguous values instead of single ones. NumPy arrays carry
their strides, so the logical shape stays (N, C, H, W) and the references, which read and write
plain contiguous (N, C, H, W) arrays, compute the same values.

References: ``pad_reference`` (a contiguous padded copy). ``pad`` stores its copy batch-last,
except in reference mode.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..backend.settings import config

__all__ = ["batch_last", "memory_order", "pad", "pad_reference", "window"]


def batch_last(a):
    """A (C, H, W, N) array as the (N, C, H, W) view that Tensors show."""
    return a.transpose(3, 0, 1, 2)


def memory_order(a):
    """The (C, H, W, N) view of a logical (N, C, H, W) array: dense when ``a`` is batch-last."""
    return a.transpose(1, 2, 3, 0)


def window(start, out_size, stride):
    """Index of the strided slice (last two axes) holding offset ``start`` of every window.

    Window (a, b) of a kernel with strides (sh, sw) covers rows a * sh + i and columns b * sw + j;
    this slice gathers the element at offset (i, j) = ``start`` of every window at once.
    """
    (i, j), (ho, wo), (sh, sw) = start, out_size, stride
    return (..., slice(i, i + sh * (ho - 1) + 1, sh), slice(j, j + sw * (wo - 1) + 1, sw))


def pad_reference(x, padding, value=0):
    """``x`` (N, C, H, W) with ``padding`` ((top, bottom), (left, right)) filled with ``value``:
    a contiguous (N, C, H + top + bottom, W + left + right) copy (``x`` itself when no padding)."""
    (pt, pb), (pl, pr) = padding
    if not (pt or pb or pl or pr):
        return x
    xp = get_array_module(x)
    n, c, h, w = x.shape
    out = xp.full((n, c, h + pt + pb, w + pl + pr), value, x.dtype)
    out[:, :, pt:pt + h, pl:pl + w] = x
    return out


def pad(x, padding, value=0):
    """``pad_reference``'s values, the copy stored batch-last (the layout of the fast kernels)."""
    (pt, pb), (pl, pr) = padding
    if config.reference_mode or not (pt or pb or pl or pr):
        return pad_reference(x, padding, value)
    xp = get_array_module(x)
    n, c, h, w = x.shape
    out = xp.full((c, h + pt + pb, w + pl + pr, n), value, x.dtype)
    out[:, pt:pt + h, pl:pl + w] = memory_order(x)
    return batch_last(out)
