"""The columns of a convolution: im2col as one strided view and one copy, col2im its adjoint.

``_im2col_view`` shows every receptive field of an input as a (C, kh, kw, Ho, Wo, N) view;
``_im2col`` copies it into GEMM columns; ``_col2im`` adds columns back into an image (NumPy,
numba or CuPy). Skinny products build their columns a few output rows at a time
(``_row_blocks``, ``_column_blocks``), and an input that is not batch-last may be copied to
batch-last first (``_batch_last_input``).
"""

from __future__ import annotations

from ...backend import get_array_module
from ...backend import gpu as _gpu
from ...backend import jit as _jit
from .._windows import window as _window
from ._layout import _HOST, _batch_last, _memory_order, _pad


def _im2col(x, ksize, out_size, geom, view=None):
    """Every receptive field of ``x`` (N, C, H, W) as a column: (G, C/G * kh * kw, Ho * Wo * N).

    ``view``: the ``_im2col_view`` of ``x`` when the caller has it already.
    """
    xp = get_array_module(x)
    if view is None:
        view = _im2col_view(x, ksize, out_size, geom)
    c, kh, kw, ho, wo, n = view.shape
    cols = xp.empty((geom.groups, c // geom.groups * kh * kw, ho * wo * n), x.dtype)
    cols.reshape(view.shape)[...] = view  # the one copy
    return cols


_DENSE_FROM = 2**17  # bytes of an input not batch-last from which it is copied first


def _batch_last_input(x, ksize, geom):
    """``x`` (N, C, H, W), or a batch-last copy of it where im2col would read single floats.

    An unpadded input that is not batch-last (the data itself, (N, C, L) in memory) is copied
    once, so that the im2col copy moves runs of N floats instead of single ones, which saves more
    than the copy costs (the char-CNN's first layer: docs/performance.md, "Convolution kernels").
    A padded input gets a batch-last copy in ``_pad``.
    """
    n = x.shape[0]
    if (n < 2 or x.strides[0] == x.itemsize or ksize[0] * ksize[1] < 2
            or x.nbytes < _DENSE_FROM or any(geom.padding[0] + geom.padding[1])):
        return x
    xp = get_array_module(x)
    if xp is not _HOST:
        return x
    dense = xp.empty(_memory_order(x).shape, x.dtype)
    dense[...] = _memory_order(x)
    return _batch_last(dense)


def _im2col_view(x, ksize, out_size, geom):
    """The receptive fields of ``x`` as a strided view (C, kh, kw, Ho, Wo, N), nothing copied."""
    xp = get_array_module(x)
    n, c = x.shape[:2]
    xpad = _pad(_batch_last_input(x, ksize, geom), geom.padding)
    (kh, kw), (ho, wo) = ksize, out_size
    memory = _memory_order(xpad)
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    s = xpad.strides
    shape = (c, kh, kw, ho, wo, n)
    strides = (s[1], s[2] * dh, s[3] * dw, s[2] * sh, s[3] * sw, s[0])
    if xp is _HOST and memory.flags.c_contiguous:
        # The same view as as_strided's, built directly on the buffer: as_strided's own set-up
        # costs several times more, which counts at batch 1.
        view = xp.ndarray(shape, xpad.dtype, buffer=memory, strides=strides)
    else:
        view = xp.lib.stride_tricks.as_strided(xpad, shape, strides)
    return view


# A skinny product (few filters times few inputs per filter, over many positions: LeNet-5's C1
# is 6 x 25 over 100,352) runs badly on OpenBLAS's threaded path but well on its single-threaded
# small-matrix kernel, which takes products of up to about 2**20 multiply-adds. So big columns of
# such a product are built and multiplied a few output rows at a time, each block in that range
# (LeNet-5's C1: docs/performance.md, "Convolution kernels"). The columns are then not kept; the
# filter gradient rebuilds them block by block.
_SMALL_GEMM = 2**20
_BLOCK_FROM = 2 * 2**20  # bytes of columns below which they are built whole


def _row_blocks(view, o):
    """Output rows per block for the columns of ``view`` times ``o`` filters; 0: build whole.

    Only on the CPU: a GPU runs one big product best, and every block would be a kernel launch.
    """
    if view.nbytes < _BLOCK_FROM:  # the cheapest test first: it settles batch 1 at once
        return 0
    if get_array_module(view) is not _HOST:
        return 0
    c, kh, kw, ho, wo, n = view.shape
    inner, width = c * kh * kw, wo * n
    if ho < 2 or o * inner > 1024 or inner * ho * width * view.itemsize < _BLOCK_FROM:
        return 0
    rows = _SMALL_GEMM // (o * inner * width)
    return rows if 1 <= rows < ho else 0


def _column_blocks(view, rows):
    """(first output row, columns of that block as a 2-D array) for each block, reusing one buffer.

    The buffer is recycled: a block's columns are valid until the next block is built.
    """
    xp = get_array_module(view)
    c, kh, kw, ho, wo, n = view.shape
    buf = xp.empty((c * kh * kw, rows * wo * n), view.dtype)
    for r0 in range(0, ho, rows):
        r = min(rows, ho - r0)
        part = buf[:, :r * wo * n]
        part.reshape(c, kh, kw, r, wo, n)[...] = view[:, :, :, r0:r0 + r]
        yield r0, r, part


def _col2im(cols, size, geom):
    """Adjoint of ``_im2col``: add columns (C, kh, kw, Ho, Wo, N) back into (N, C, H, W)."""
    xp = get_array_module(cols)
    c, kh, kw, ho, wo, n = cols.shape
    (pt, pb), (pl, pr) = geom.padding
    # Batch-last, like the columns, so that every slice-add below runs over matching layouts.
    out = xp.empty((c, size[0] + pt + pb, size[1] + pl + pr, n), cols.dtype)
    (dh, dw) = geom.dilation
    if _jit.col2im is not None and xp is _HOST and _jit.handles(cols.dtype):
        _jit.col2im(cols, out, *geom.stride, dh, dw)
        return _batch_last(out)[:, :, pt:pt + size[0], pl:pl + size[1]]
    if xp is not _HOST and _gpu.col2im(xp.ascontiguousarray(cols), out, *geom.stride, dh, dw):
        return _batch_last(out)[:, :, pt:pt + size[0], pl:pl + size[1]]  # one launch on a GPU
    out.fill(0)
    image = _batch_last(out)
    for i in range(kh):
        for j in range(kw):
            view = image[_window((i * dh, j * dw), (ho, wo), geom.stride)]
            view += _batch_last(cols[:, i, j])
    return image[:, :, pt:pt + size[0], pl:pl + size[1]]
