"""The three GEMMs of convolution on arrays: forward, transposed (input gradient), filter gradient.

Each is a matrix product over the columns of ``_columns``, written for batch-last memory
(``_layout._batch_last``): ``_conv`` (plus bias, optionally rectified), ``_conv_transpose`` and
``_conv_weight_grad``.
"""

from __future__ import annotations

from ...backend import get_array_module
from ...kernels import gemm
from ...kernels import relu as relu_kernel
from ._columns import _col2im, _column_blocks, _im2col, _im2col_view, _row_blocks
from ._layout import _HOST, _batch_last, _memory_order


def _gemm_layout(g, groups):
    """(N, O, Ho, Wo) -> (groups, O/groups, Ho*Wo*N) for the GEMMs: a free view when batch-last."""
    o = g.shape[1]
    return _memory_order(g).reshape(groups, o // groups, -1)


def _conv(x, w, b, out_size, geom, cols=None, relu=False, compiled=False):
    """The convolution plus bias (batch-last, see ``_batch_last``) and the columns it used.

    ``relu``: rectified in place as well. The columns are None when they were built block by
    block (``_row_blocks``).
    """
    xp = get_array_module(x, w)
    o, g = w.shape[0], geom.groups
    view = _im2col_view(x, w.shape[2:], out_size, geom) if cols is None and g == 1 else None
    rows = _row_blocks(view, o) if view is not None else 0
    if rows:
        width = out_size[1] * x.shape[0]  # columns per output row
        y = xp.empty((o, out_size[0] * width), x.dtype)
        wm = w.reshape(o, -1)
        for r0, r, part in _column_blocks(view, rows):
            xp.matmul(wm, part, out=y[:, r0 * width:(r0 + r) * width])
    else:
        if cols is None:
            cols = _im2col(x, w.shape[2:], out_size, geom, view)
        if g == 1:
            y = gemm.matmul(w.reshape(o, -1), cols[0])
        else:
            y = xp.empty((g, o // g, cols.shape[2]), x.dtype)
            y = xp.matmul(w.reshape(g, o // g, -1), cols, out=y).reshape(o, -1)
    if relu:
        _bias_relu(y, b, compiled)
    elif b is not None:
        y += b[:, None]
    return _batch_last(y.reshape(o, *out_size, x.shape[0])), cols


def _bias_relu(y, b, compiled):
    """``y = max(y + b[:, None], 0)`` in place on an (O, positions) output: one sweep on the CPU
    when ``compiled`` (when training: a model only predicting should not pay numba's memory)."""
    if compiled and b is not None:
        relu_kernel.bias_relu_columns(y, b)  # NumPy's add and maximum in one pass
        return
    if b is not None:
        y += b[:, None]
    relu_kernel.relu(y, inplace=True)


def _conv_transpose(g, w, b, size, geom):
    xp = get_array_module(g, w)
    n, o, ho, wo = g.shape
    groups = geom.groups
    wt = w.reshape(groups, o // groups, -1).transpose(0, 2, 1)
    cols = xp.empty((groups, wt.shape[1], ho * wo * n), g.dtype)
    xp.matmul(wt, _gemm_layout(g, groups), out=cols)
    y = _col2im(cols.reshape(w.shape[1] * groups, *w.shape[2:], ho, wo, n), size, geom)
    if b is not None:
        y += b.reshape(-1, 1, 1)
    return y


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


def _conv_weight_grad(x, g, ksize, geom, cols=None):
    """The filter gradient as an (O, C/groups * kh * kw) matrix, in whatever memory order."""
    xp = get_array_module(x, g)
    gl = _gemm_layout(g, geom.groups)
    if cols is None and geom.groups == 1:
        view = _im2col_view(x, ksize, g.shape[2:], geom)
        rows = _row_blocks(view, g.shape[1])
        if rows:  # the columns again, block by block: each product small (see _row_blocks)
            width = g.shape[3] * g.shape[0]
            gw = None
            for r0, r, part in _column_blocks(view, rows):
                p = _gemm_nt(gl[0][:, r0 * width:(r0 + r) * width], part)
                gw = p if gw is None else xp.add(gw, p, out=gw)
            return gw
        cols = _im2col(x, ksize, g.shape[2:], geom, view)
    elif cols is None:
        cols = _im2col(x, ksize, g.shape[2:], geom)
    if geom.groups == 1:
        return _gemm_nt(gl[0], cols[0])
    return xp.stack([_gemm_nt(gl[i], cols[i]) for i in range(geom.groups)]).reshape(g.shape[1], -1)
