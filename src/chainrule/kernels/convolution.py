"""The three products of convolution: the forward, the transposed (input gradient), the filters'.

The references (``*_reference``) are the lecture's formulas on contiguous (N, C, H, W) arrays,
one kernel offset (i, j) at a time, each a matrix product over the channels of a group:

    convolve:            y  = b + sum over (i, j) of W[:, :, i, j] @ (x shifted by (i, j))
    convolve_transpose:  x' = sum over (i, j) of W[:, :, i, j].T @ g, added back at the shift
    filter_gradient:     gW[:, :, i, j] = g @ (x shifted by (i, j)).T, over batch and positions

The fast versions compute the same sums as one GEMM per group over the columns of im2col (every
receptive field a column: ``im2col``), in batch-last memory (``layout``), and take these routes:
a skinny forward or filter gradient builds its columns a few output rows at a time
(``_row_blocks``), a long filter gradient sums cache-sized chunks (``_gemm_nt``), a small
unrecorded forward skips the general set-up (``_small_convolve``), a big unrecorded one with few
filters and taps needs no columns (``convolution_skinny``), and a forward may keep its
columns for the filter gradient (``Reuse``). They agree with the references to float rounding
(the order of summation differs).
"""

from __future__ import annotations

from typing import NamedTuple

from ..backend import config, get_array_module
from . import gemm
from . import relu as relu_kernel
from .convolution_skinny import skinny_convolve
from .im2col import batch_last_input, col2im, direct_columns_possible, im2col, im2col_view
from .layout import batch_last, memory_order

__all__ = ["Reuse", "channel_sums", "channel_sums_reference", "columns_of", "columns_of_reference",
           "convolve", "convolve_reference", "convolve_transpose", "convolve_transpose_reference",
           "filter_gradient", "filter_gradient_reference"]

_HOST = get_array_module()


class Reuse(NamedTuple):
    """What a forward keeps for its filter gradient: its columns, or a batch-last copy of x."""

    cols: object = None
    dense: object = None


def convolve_reference(x, w, b, out_size, geom, relu=False, *, reuse=None, keep=False,
                       recording=False):
    """The convolution of x (N, C, H, W) with w (O, C/groups, kh, kw), plus b (O,) or None, then
    max(., 0) when ``relu``: ``(y, None)``, y a contiguous (N, O, Ho, Wo) array.

    The formula, one kernel offset (i, j) at a time: the filter tap W[:, :, i, j] multiplies, over
    the channels of each group, the zero-padded input shifted by (i * dh, j * dw) and sampled
    every (sh, sw) rows and columns:

        y[n, o, p, q] = b[o] + sum over i, j, c of W[o, c, i, j] xpad[n, c, p*sh+i*dh, q*sw+j*dw]

    The None stands for what the fast ``convolve`` may keep for the filter gradient; the
    reference keeps nothing (``reuse``, ``keep`` and ``recording`` steer only the fast routes).
    """
    xp = get_array_module(x, w)
    n, c, h, wd = x.shape
    o, groups = w.shape[0], geom.groups
    (ho, wo), (sh, sw), (dh, dw) = out_size, geom.stride, geom.dilation
    (pt, pb), (pl, pr) = geom.padding
    xpad = xp.zeros((n, c, h + pt + pb, wd + pl + pr), x.dtype)
    xpad[:, :, pt:pt + h, pl:pl + wd] = x
    xpad = xpad.reshape(n, groups, c // groups, *xpad.shape[2:])  # the channels of each group
    w = w.reshape(groups, o // groups, c // groups, *w.shape[2:])
    y = xp.zeros((n, groups, o // groups, ho * wo), x.dtype)
    for i in range(w.shape[3]):
        for j in range(w.shape[4]):
            shifted = xpad[..., i * dh:i * dh + sh * (ho - 1) + 1:sh,
                           j * dw:j * dw + sw * (wo - 1) + 1:sw]  # (N, groups, C/groups, Ho, Wo)
            y += w[..., i, j] @ shifted.reshape(n, groups, c // groups, ho * wo)
    y = y.reshape(n, o, ho, wo)
    if b is not None:
        y += b.reshape(o, 1, 1)
    if relu:
        xp.maximum(y, 0, out=y)
    return y, None


def convolve_transpose_reference(g, w, b, size, geom, relu=False):
    """The transposed convolution of g (N, O, Ho, Wo) with w (O, C/groups, kh, kw) to the spatial
    ``size``, plus b (C,) or None, then max(., 0) when ``relu``: a contiguous (N, C, H, W) array.

    The adjoint of ``convolve_reference`` in x, one kernel offset (i, j) at a time: W[:, :, i, j]
    transposed, applied to g, is added into the slice of a zero-padded input that the forward
    read at that offset; the padding is cut off at the end.
    """
    xp = get_array_module(g, w)
    n, o, ho, wo = g.shape
    groups = geom.groups
    c = w.shape[1] * groups
    (h, wd), (sh, sw), (dh, dw) = size, geom.stride, geom.dilation
    (pt, pb), (pl, pr) = geom.padding
    g = g.reshape(n, groups, o // groups, ho * wo)
    w = w.reshape(groups, o // groups, c // groups, *w.shape[2:])
    xpad = xp.zeros((n, groups, c // groups, h + pt + pb, wd + pl + pr), g.dtype)
    for i in range(w.shape[3]):
        for j in range(w.shape[4]):
            tap = w[..., i, j].swapaxes(1, 2) @ g  # (N, groups, C/groups, Ho * Wo)
            tap = tap.reshape(n, groups, c // groups, ho, wo)  # no -1: N may be 0
            xpad[..., i * dh:i * dh + sh * (ho - 1) + 1:sh,
                 j * dw:j * dw + sw * (wo - 1) + 1:sw] += tap
    x = xp.ascontiguousarray(xpad.reshape(n, c, *xpad.shape[3:])[:, :, pt:pt + h, pl:pl + wd])
    if b is not None:
        x += b.reshape(c, 1, 1)
    if relu:
        xp.maximum(x, 0, out=x)
    return x


def _ksize2d(wshape):
    return (1,) * (4 - len(wshape)) + tuple(wshape[2:])


def filter_gradient_reference(x, g, geom, wshape, reuse=None):
    """The gradient of the filters (of shape ``wshape``) of a convolution of x (N, C, H, W) with
    output gradient g (N, O, Ho, Wo): for each kernel offset (i, j), g contracted with the input
    shifted by that offset over the batch and every output position (``reuse``: the fast
    version's)."""
    xp = get_array_module(x, g)
    n, c, h, wd = x.shape
    _, o, ho, wo = g.shape
    groups = geom.groups
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    (pt, pb), (pl, pr) = geom.padding
    xpad = xp.zeros((n, c, h + pt + pb, wd + pl + pr), x.dtype)
    xpad[:, :, pt:pt + h, pl:pl + wd] = x
    xpad = xpad.reshape(n, groups, c // groups, *xpad.shape[2:])
    g = g.reshape(n, groups, o // groups, ho * wo)
    gw = xp.empty((groups, o // groups, c // groups, *wshape[2:]), x.dtype)
    for i in range(wshape[2]):
        for j in range(wshape[3]):
            shifted = xpad[..., i * dh:i * dh + sh * (ho - 1) + 1:sh,
                           j * dw:j * dw + sw * (wo - 1) + 1:sw]  # (N, groups, C/groups, Ho, Wo)
            shifted = shifted.reshape(n, groups, c // groups, ho * wo)
            gw[..., i, j] = (g @ shifted.swapaxes(2, 3)).sum(axis=0)
    return gw.reshape(wshape)


def convolve(x, w, b, out_size, geom, *, relu=False, reuse=None, keep=False, recording=False):
    """``convolve_reference``'s values, batch-last; returns (y, what ``filter_gradient`` reuses).

    Args:
        relu: rectify the output in place (a fused convolution + ReLU).
        reuse: the ``Reuse`` of x built by the caller (``columns_of``), or None.
        keep: whether to keep the columns (or a batch-last copy of x) for the filter gradient.
        recording: whether a backward will follow: a small forward that records nothing takes a
            lean route, and only training pays for loading the compiled bias + ReLU.
    """
    if config.reference_mode:
        return convolve_reference(x, w, b, out_size, geom, relu)
    if not recording and reuse is None:
        y = _small_convolve(x, w, b, out_size, geom, relu)
        if y is None:
            y = skinny_convolve(x, w, b, out_size, geom, relu)
        if y is not None:
            return y, None
    dense = x if reuse is not None else batch_last_input(x, w.shape[2:], geom)
    y, cols = _convolve(dense, w, b, out_size, geom, None if reuse is None else reuse.cols, relu,
                        recording)
    if not keep:
        return y, None
    # Big columns (over config.keep_columns_mib) are rebuilt in the backward instead, from the
    # batch-last copy of the input if one was made: copying them is cheaper than holding them,
    # which adds their size to the peak memory of the whole step (docs/performance.md).
    if cols is not None and cols.nbytes <= config.keep_columns_mib * 2**20:
        return y, Reuse(cols=cols)
    return y, (Reuse(dense=dense) if dense is not x else None)


def columns_of_reference(x, ksize, out_size, geom):
    """None: the reference builds the columns afresh in each product."""
    return None


def columns_of(x, ksize, out_size, geom):
    """The ``Reuse`` that shares x's columns between two products (None in reference mode)."""
    if config.reference_mode:
        return None
    return Reuse(cols=im2col(x, ksize, out_size, geom))


def _gemm_layout(g, groups):
    """(N, O, Ho, Wo) -> (groups, O/groups, Ho*Wo*N): a free view when batch-last."""
    return memory_order(g).reshape(groups, g.shape[1] // groups, -1)


def _convolve(x, w, b, out_size, geom, cols, relu, recording):
    """The forward in batch-last memory, and its columns (None when built in row blocks)."""
    xp = get_array_module(x, w)
    o, g = w.shape[0], geom.groups
    view = (im2col_view(x, w.shape[2:], out_size, geom)
            if cols is None and g == 1 and not (recording and _direct(x, w.shape[2:], out_size, o))
            else None)
    rows = _row_blocks(view, o) if view is not None else 0
    if rows:
        width = out_size[1] * x.shape[0]  # columns per output row
        y = xp.empty((o, out_size[0] * width), x.dtype)
        wm = w.reshape(o, -1)
        for r0, r, part in _column_blocks(view, rows):
            xp.matmul(wm, part, out=y[:, r0 * width:(r0 + r) * width])
    else:
        if cols is None:
            cols = im2col(x, w.shape[2:], out_size, geom, view, direct=recording)
        if g == 1:
            y = gemm.matmul(w.reshape(o, -1), cols[0])
        else:
            y = xp.empty((g, o // g, cols.shape[2]), x.dtype)
            y = xp.matmul(w.reshape(g, o // g, -1), cols, out=y).reshape(o, -1)
    _add_bias(y, b, relu, recording)
    return batch_last(y.reshape(o, *out_size, x.shape[0])), cols


def _add_bias(y, b, relu, compiled):
    """``y += b[:, None]`` in place on an (O, positions) output, then ``max(y, 0)`` when ``relu``.

    ``compiled``: one numba sweep for both (training only: a model only predicting should not pay
    numba's memory).
    """
    if relu and compiled and b is not None:
        relu_kernel.bias_relu_columns(y, b)
        return
    if b is not None:
        y += b[:, None]
    if relu:
        relu_kernel.relu(y, inplace=True)


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
    return _rows_per_block(view.shape, view.itemsize, o)


def _rows_per_block(shape, itemsize, o):
    c, kh, kw, ho, wo, n = shape
    inner, width = c * kh * kw, wo * n
    if ho < 2 or o * inner > 1024 or inner * ho * width * itemsize < _BLOCK_FROM:
        return 0
    rows = _SMALL_GEMM // (o * inner * width)
    return rows if 1 <= rows < ho else 0


def _direct(x, ksize, out_size, o):
    """Whether ``im2col`` builds x's whole columns in one compiled sweep (no padded view): a
    batch-last host input whose product with ``o`` filters is not built in row blocks."""
    if not direct_columns_possible(x):
        return False
    n, c = x.shape[:2]
    return _rows_per_block((c, *ksize, *out_size, n), x.itemsize, o) == 0


def _column_blocks(view, rows):
    """(first output row, rows, columns of that block as a 2-D array) for each block.

    One buffer serves every block: a block's columns are valid until the next block is built.
    """
    xp = get_array_module(view)
    c, kh, kw, ho, wo, n = view.shape
    buf = xp.empty((c * kh * kw, rows * wo * n), view.dtype)
    for r0 in range(0, ho, rows):
        r = min(rows, ho - r0)
        part = buf[:, :r * wo * n]
        part.reshape(c, kh, kw, r, wo, n)[...] = view[:, :, :, r0:r0 + r]
        yield r0, r, part


_SMALL_BYTES = 2**17


def _small_convolve(x, w, b, out_size, geom, relu):
    """``_convolve``'s output for a forward that records nothing, on small host arrays, or None.

    A batch of one is bookkeeping more than arithmetic, so this does ``_convolve``'s NumPy
    operations, in the same order and with the same results, without its helpers' set-up
    (array-module look-ups, block planning): LeNet-5's at batch 1, docs/performance.md.
    Columns that are the input's own memory (a kernel covering the whole image, or 1 x 1) are not
    copied. Small: columns and output under 128 KiB.
    """
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho, wo = out_size
    positions, inner = ho * wo * n, c * kh * kw
    if (type(x) is not _HOST.ndarray or geom.groups != 1
            or max(inner, o) * positions * x.itemsize >= _SMALL_BYTES):
        return None
    (pt, pb), (pl, pr) = geom.padding
    memory = memory_order(x)
    if pt or pb or pl or pr:
        padded = _HOST.zeros((c, h + pt + pb, wd + pl + pr, n), x.dtype)
        padded[:, pt:pt + h, pl:pl + wd] = memory
        memory = padded
    elif not memory.flags.c_contiguous:  # batch-last, or any batch of one, always is
        return None
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    s = memory.strides
    shape = (c, kh, kw, ho, wo, n)
    view = _HOST.ndarray(shape, x.dtype, buffer=memory,
                         strides=(s[0], s[1] * dh, s[2] * dw, s[1] * sh, s[2] * sw, s[3]))
    if view.flags.c_contiguous:
        cols = view.reshape(inner, positions)  # the windows are the input itself: no copy
    else:
        cols = _HOST.empty((inner, positions), x.dtype)
        cols.reshape(shape)[...] = view
    wm = w.reshape(o, inner)
    y = wm @ cols if inner > 1 else gemm.matmul(wm, cols)
    _add_bias(y, b, relu, False)
    return batch_last(y.reshape(o, ho, wo, n))


def convolve_transpose(g, w, b, size, geom, relu=False):
    """``convolve_transpose_reference``'s values, batch-last (col2im's layout); the bias and
    the ReLU are added in col2im's sweep."""
    if config.reference_mode:
        return convolve_transpose_reference(g, w, b, size, geom, relu)
    xp = get_array_module(g, w)
    n, o, ho, wo = g.shape
    groups = geom.groups
    wt = w.reshape(groups, o // groups, -1).transpose(0, 2, 1)
    cols = xp.empty((groups, wt.shape[1], ho * wo * n), g.dtype)
    xp.matmul(wt, _gemm_layout(g, groups), out=cols)
    return col2im(cols, size, w.shape[2:], (ho, wo), geom, bias=b, relu=relu)


def filter_gradient(x, g, geom, wshape, reuse=None):
    """``filter_gradient_reference``'s values in an array of shape ``wshape`` that owns its
    memory (so that it becomes a parameter's .grad without another copy).

    ``reuse``: what the forward kept (its columns, or a batch-last copy of x), or None.
    """
    if config.reference_mode:
        return filter_gradient_reference(x, g, geom, wshape)
    if reuse is not None and reuse.dense is not None:
        x = reuse.dense
    gw = _filter_gradient(x, g, _ksize2d(wshape), geom, None if reuse is None else reuse.cols)
    out = get_array_module(gw).empty(tuple(wshape), gw.dtype)
    out.reshape(gw.shape)[...] = gw
    return out


_CHUNK = 4096


def _gemm_nt(a, b):
    """``a @ b.T`` for 2-D a (M, L), b (K, L): a filter gradient summed over L = N * Ho * Wo.

    Computed as ``(b @ a.T).T``, which OpenBLAS runs faster for these shapes (few outputs, a long
    inner dimension). A tiny M x K product over a very long L (LeNet's C1: 6 x 25 outputs summed
    over 100,352 positions) is faster still as a sum over cache-sized chunks of L. On a GPU it is
    one product: cuBLAS splits the long dimension itself, and each chunk would be a kernel launch.
    """
    m, length = a.shape
    k = b.shape[0]
    if get_array_module(a) is not _HOST:
        return a @ b.T
    if length <= 2 * _CHUNK or m * k > 1024:
        return gemm.matmul(b, a.T).T
    out = b[:, :_CHUNK] @ a[:, :_CHUNK].T
    for s in range(_CHUNK, length, _CHUNK):
        out += b[:, s:s + _CHUNK] @ a[:, s:s + _CHUNK].T
    return out.T


def _filter_gradient(x, g, ksize, geom, cols):
    """The filter gradient as an (O, C/groups * kh * kw) matrix, in whatever memory order."""
    xp = get_array_module(x, g)
    gl = _gemm_layout(g, geom.groups)
    if cols is None and geom.groups == 1 and not _direct(x, ksize, g.shape[2:], g.shape[1]):
        view = im2col_view(x, ksize, g.shape[2:], geom)
        rows = _row_blocks(view, g.shape[1])
        if rows:  # the columns again, block by block: each product small (see _row_blocks)
            width = g.shape[3] * g.shape[0]
            gw = None
            for r0, r, part in _column_blocks(view, rows):
                p = _gemm_nt(gl[0][:, r0 * width:(r0 + r) * width], part)
                gw = p if gw is None else xp.add(gw, p, out=gw)
            return gw
        cols = im2col(x, ksize, g.shape[2:], geom, view)
    elif cols is None:
        cols = im2col(x, ksize, g.shape[2:], geom)
    if geom.groups == 1:
        return _gemm_nt(gl[0], cols[0])
    return xp.stack([_gemm_nt(gl[i], cols[i]) for i in range(geom.groups)]).reshape(g.shape[1], -1)


def channel_sums_reference(g):
    """The sum of g (N, C, H, W) over every axis but the channels: a bias gradient, (C,)."""
    return g.sum(axis=(0, 2, 3))


def channel_sums(g):
    """``channel_sums_reference``'s values; batch-last memory sums one contiguous row a channel,
    as one matrix-vector product with ones (BLAS: several times faster than NumPy's row sums,
    like ``gemm.column_sums``)."""
    if config.reference_mode:
        return channel_sums_reference(g)
    rows = memory_order(g)
    if not rows.flags.c_contiguous:
        return channel_sums_reference(g)
    rows = rows.reshape(rows.shape[0], -1)
    if type(rows) is _HOST.ndarray and rows.dtype in (_HOST.float32, _HOST.float64) \
            and rows.size >= 1024:
        return rows @ _HOST.ones(rows.shape[1], rows.dtype)
    return rows.sum(axis=1)
