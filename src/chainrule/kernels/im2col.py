"""im2col and col2im: every receptive field of an image batch as a GEMM column, and its adjoint.

A convolution is one matrix product once each receptive field of the (zero-padded) input is
copied into a column: ``cols[(c, i, j), position] = xpad[n, c, a * sh + i * dh, b * sw + j * dw]``
for the output position (n, a, b) and kernel offset (i, j). ``col2im`` is the adjoint: it adds
every column entry back at the input element it was read from, summed where windows overlap (the
gradient of im2col, and the last step of a transposed convolution).

References (``im2col_reference``, ``col2im_reference``): a loop over the kernel offsets on
contiguous (N, C, H, W) arrays, positions ordered (n, a, b). The fast versions order positions
(a, b, n), the batch-last memory order (see ``layout``), so that im2col is one strided view and
one copy, and col2im is one sweep in numba or one CuPy launch (NumPy: a slice-add per offset);
they hold the same values in that order, and col2im sums the offsets in the same order, so the
results are bit-equal.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..backend import gpu as _gpu
from ..backend import jit as _jit
from ..backend.settings import config
from . import relu as relu_kernel
from .layout import batch_last, memory_order, pad, pad_reference, window

__all__ = ["batch_last_input", "col2im", "col2im_reference", "direct_columns_possible", "im2col",
           "im2col_reference", "im2col_view"]

_HOST = get_array_module()


def im2col_reference(x, ksize, out_size, geom):
    """The columns of ``x`` (N, C, H, W): (groups, C/groups * kh * kw, N * Ho * Wo)."""
    xp = get_array_module(x)
    xpad = pad_reference(x, geom.padding)
    n, c = x.shape[:2]
    (kh, kw), (ho, wo), (dh, dw) = ksize, out_size, geom.dilation
    cols = xp.empty((c, kh, kw, n, ho, wo), x.dtype)
    for i in range(kh):
        for j in range(kw):
            # offset (i, j) of every window, (N, C, Ho, Wo) -> (C, N, Ho, Wo)
            cols[:, i, j] = xpad[window((i * dh, j * dw), out_size, geom.stride)].swapaxes(0, 1)
    return cols.reshape(geom.groups, c // geom.groups * kh * kw, n * ho * wo)


def col2im_reference(cols, size, ksize, out_size, geom):
    """Adjoint of ``im2col_reference``: columns (groups, C/groups * kh * kw, N * Ho * Wo) added
    back into a contiguous (N, C, H, W) array of spatial ``size``."""
    xp = get_array_module(cols)
    (kh, kw), (ho, wo), (dh, dw) = ksize, out_size, geom.dilation
    (pt, pb), (pl, pr) = geom.padding
    c = cols.shape[0] * cols.shape[1] // (kh * kw)
    n = cols.shape[2] // (ho * wo)
    cols = cols.reshape(c, kh, kw, n, ho, wo)
    out = xp.zeros((n, c, size[0] + pt + pb, size[1] + pl + pr), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[window((i * dh, j * dw), out_size, geom.stride)] += cols[:, i, j].swapaxes(0, 1)
    return xp.ascontiguousarray(out[:, :, pt:pt + size[0], pl:pl + size[1]])


_DENSE_FROM = 2**17  # bytes of an input not batch-last from which it is copied first


def batch_last_input(x, ksize, geom):
    """``x`` (N, C, H, W), or a batch-last copy of it where im2col would read single floats.

    An unpadded input that is not batch-last (the data itself, (N, C, L) in memory) is copied
    once, so that the im2col copy moves runs of N floats instead of single ones, which saves more
    than the copy costs (the char-CNN's first layer: docs/performance.md, "Convolution kernels").
    A padded input gets a batch-last copy in ``layout.pad``.
    """
    n = x.shape[0]
    if (config.reference_mode or n < 2 or x.strides[0] == x.itemsize or ksize[0] * ksize[1] < 2
            or x.nbytes < _DENSE_FROM or any(geom.padding[0] + geom.padding[1])):
        return x
    xp = get_array_module(x)
    if xp is not _HOST:
        return x
    dense = xp.empty(memory_order(x).shape, x.dtype)
    dense[...] = memory_order(x)
    return batch_last(dense)


def im2col_view(x, ksize, out_size, geom):
    """The receptive fields of ``x`` as a strided view (C, kh, kw, Ho, Wo, N), nothing copied."""
    xp = get_array_module(x)
    n, c = x.shape[:2]
    xpad = pad(batch_last_input(x, ksize, geom), geom.padding)
    (kh, kw), (ho, wo) = ksize, out_size
    memory = memory_order(xpad)
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    s = xpad.strides
    shape = (c, kh, kw, ho, wo, n)
    strides = (s[1], s[2] * dh, s[3] * dw, s[2] * sh, s[3] * sw, s[0])
    if xp is _HOST and memory.flags.c_contiguous:
        # The same view as as_strided's, built directly on the buffer: as_strided's own set-up
        # costs several times more, which counts at batch 1.
        return xp.ndarray(shape, xpad.dtype, buffer=memory, strides=strides)
    return xp.lib.stride_tricks.as_strided(xpad, shape, strides)


def im2col(x, ksize, out_size, geom, view=None, direct=True):
    """The columns of ``x``: (groups, C/groups * kh * kw, Ho * Wo * N), positions batch-last.

    ``view``: the ``im2col_view`` of ``x`` when the caller has it already. Without one, a
    batch-last input is read in one compiled sweep when ``direct`` (training: a model only
    predicting should not pay numba's memory) and numba is on (``direct_columns_possible``).
    """
    if config.reference_mode:
        return im2col_reference(x, ksize, out_size, geom)
    xp = get_array_module(x)
    if view is None:
        cols = _direct_columns(x, ksize, out_size, geom) if direct else None
        if cols is not None:
            return cols
        view = im2col_view(x, ksize, out_size, geom)
    c, kh, kw, ho, wo, n = view.shape
    cols = xp.empty((geom.groups, c // geom.groups * kh * kw, ho * wo * n), x.dtype)
    cols.reshape(view.shape)[...] = view  # the one copy
    return cols


def direct_columns_possible(x) -> bool:
    """Whether ``im2col`` builds the columns of ``x`` in one compiled sweep, padding included
    (numba on, a batch-last host array): then no padded copy (``im2col_view``) is needed."""
    return (_jit.im2col is not None and type(x) is _HOST.ndarray and _jit.handles(x.dtype)
            and memory_order(x).flags.c_contiguous)


def _direct_columns(x, ksize, out_size, geom):
    """im2col's columns of a batch-last ``x`` read in one compiled sweep that writes the zeros of
    the padding itself (no padded copy, no strided view), or None where that route is not
    taken."""
    if not direct_columns_possible(x):
        return None
    n, c = x.shape[:2]
    (kh, kw), (ho, wo) = ksize, out_size
    cols = _HOST.empty((geom.groups, c // geom.groups * kh * kw, ho * wo * n), x.dtype)
    _jit.im2col(cols.reshape(c, kh, kw, ho, wo, n), memory_order(x), *geom.stride,
                *geom.dilation, geom.padding[0][0], geom.padding[1][0])
    return cols


def col2im(cols, size, ksize, out_size, geom, bias=None, relu=False):
    """Adjoint of ``im2col``: its columns added back into an (N, C, H, W) view of batch-last
    memory (numba: one sweep; CuPy: one launch; NumPy: one slice-add per kernel offset).

    ``bias`` (C,) or None: added to each channel after its sums, as ``y += b`` after the
    reference (a transposed convolution's bias); ``relu``: then max(y, 0). numba does both in
    the same sweep, and writes only the unpadded image, so the result is dense batch-last memory.
    """
    if config.reference_mode:
        return _plus_bias(col2im_reference(cols, size, ksize, out_size, geom), bias, relu)
    xp = get_array_module(cols)
    (kh, kw), (ho, wo) = ksize, out_size
    c = cols.shape[0] * cols.shape[1] // (kh * kw)
    n = cols.shape[2] // (ho * wo)
    cols = cols.reshape(c, kh, kw, ho, wo, n)
    (pt, pb), (pl, pr) = geom.padding
    if (_jit.col2im_crop is not None and xp is _HOST and _jit.handles(cols.dtype)
            and (bias is None or bias.dtype == cols.dtype)):
        out = xp.empty((c, size[0], size[1], n), cols.dtype)
        _jit.col2im_crop(out, cols, cols.reshape(-1)[:0] if bias is None else bias, relu,
                         *geom.stride, *geom.dilation, pt, pl)
        return batch_last(out)
    # Batch-last, like the columns, so that every slice-add below runs over matching layouts.
    out = xp.empty((c, size[0] + pt + pb, size[1] + pl + pr, n), cols.dtype)
    crop = (slice(None), slice(None), slice(pt, pt + size[0]), slice(pl, pl + size[1]))
    (dh, dw) = geom.dilation
    if _jit.col2im is not None and xp is _HOST and _jit.handles(cols.dtype):
        _jit.col2im(cols, out, *geom.stride, dh, dw)
        return _plus_bias(batch_last(out)[crop], bias, relu)
    if xp is not _HOST and _gpu.col2im(xp.ascontiguousarray(cols), out, *geom.stride, dh, dw):
        return _plus_bias(batch_last(out)[crop], bias, relu)
    out.fill(0)
    image = batch_last(out)
    for i in range(kh):
        for j in range(kw):
            view = image[window((i * dh, j * dw), (ho, wo), geom.stride)]
            view += batch_last(cols[:, i, j])
    return _plus_bias(image[crop], bias, relu)


def _plus_bias(y, bias, relu):
    """y + bias per channel (C,) or nothing for None, then max(., 0) when ``relu``, in place."""
    if bias is not None:
        y += bias.reshape(-1, 1, 1)
    if relu:
        relu_kernel.relu(y, inplace=True)
    return y
