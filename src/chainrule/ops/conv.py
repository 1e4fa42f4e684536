"""Convolution and transposed convolution (1-D and 2-D) as one GEMM over an im2col view.

Convolution is PyTorch's: a cross-correlation of an (N, C, *spatial) batch with (O, C/groups, *k)
filters. The forward copies every receptive field into a column (``_im2col``: one strided view, one
copy) and multiplies by the filters in one GEMM per group. The transposed convolution is its
adjoint: one GEMM, then ``_col2im`` adds the columns back with one slice-add per kernel offset.

Three Functions close under differentiation: the input-gradient of ``ConvNd`` is a
``ConvTransposeNd``, that of ``ConvTransposeNd`` is a ``ConvNd``, both weight-gradients are a
``ConvWeightGrad``, and its own gradients are again a convolution and a transposed convolution; so
derivatives of every order are convolutions. 1-D arrays run through the 2-D kernels with a unit
height axis.

Speed: outputs and gradients are (N, C, H, W) views of batch-last (C, H, W, N) memory (see
``_batch_last``), the transposed convolution's backward builds the columns of its gradient once
for both of its GEMMs, and the large arrays (columns, padded copies, outputs) are recycled from
step to step (``autograd._scratch``). docs/performance.md tells the whole story.
"""

from __future__ import annotations

import math

from ..autograd import _scratch
from ..autograd.function import Function
from ..backend import config, get_array_module
from ..backend import gpu as _gpu
from ..backend import jit as _jit
from ._windows import conv_setup, conv_transpose_setup
from ._windows import size2d as _size2d
from ._windows import window as _window
from .activation import relu_masked

__all__ = ["conv1d", "conv1d_relu", "conv2d", "conv2d_relu", "conv_transpose1d",
           "conv_transpose2d"]

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
    out = _scratch.full(xp, (c, h + pt + pb, w + pl + pr, n), value, x.dtype)
    out[:, pt:pt + h, pl:pl + w] = _memory_order(x)
    return _batch_last(out)


def _out_len(size, k, stride, pad, dilation):
    return (size + pad[0] + pad[1] - dilation * (k - 1) - 1) // stride + 1


def _im2col(x, ksize, out_size, geom, view=None):
    """Every receptive field of ``x`` (N, C, H, W) as a column: (G, C/G * kh * kw, Ho * Wo * N).

    ``view``: the ``_im2col_view`` of ``x`` when the caller has it already.
    """
    xp = get_array_module(x)
    if view is None:
        view = _im2col_view(x, ksize, out_size, geom)
    c, kh, kw, ho, wo, n = view.shape
    cols = _scratch.empty(xp, (geom.groups, c // geom.groups * kh * kw, ho * wo * n), x.dtype)
    cols.reshape(view.shape)[...] = view  # the one copy
    return cols


_DENSE_FROM = 2**17  # bytes of an input not batch-last from which it is copied first


def _batch_last_input(x, ksize, geom):
    """``x`` (N, C, H, W), or a batch-last copy of it where im2col would read single floats.

    An unpadded input that is not batch-last (the data itself, (N, C, L) in memory) is copied
    once, so that the im2col copy moves runs of N floats: the char-CNN's first layer took 8.8 ms
    per im2col, now 3.8 ms and the copy. A padded input gets a batch-last copy in ``_pad``.
    """
    n = x.shape[0]
    if (n < 2 or x.strides[0] == x.itemsize or ksize[0] * ksize[1] < 2
            or x.nbytes < _DENSE_FROM or any(geom.padding[0] + geom.padding[1])):
        return x
    xp = get_array_module(x)
    if xp is not _HOST:
        return x
    dense = _scratch.empty(xp, _memory_order(x).shape, x.dtype)
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
        # The same view as as_strided's, built directly on the buffer: 0.6 us instead of 3 us,
        # which counts at batch 1.
        view = xp.ndarray(shape, xpad.dtype, buffer=memory, strides=strides)
    else:
        view = xp.lib.stride_tricks.as_strided(xpad, shape, strides)
    return view


# A skinny product (few filters times few inputs per filter, over many positions: LeNet-5's C1
# is 6 x 25 over 100,352) runs badly on OpenBLAS's threaded path but well on its single-threaded
# small-matrix kernel, which takes products of up to about 2**20 multiply-adds. So big columns of
# such a product are built and multiplied a few output rows at a time, each block in that range:
# LeNet-5's C1 forward and filter gradient take 2.5 ms instead of 3.7 (docs/performance.md). The
# columns are then not kept; the filter gradient rebuilds them block by block.
_SMALL_GEMM = 2**20
_BLOCK_FROM = 2 * 2**20  # bytes of columns below which they are built whole


def _row_blocks(view, o):
    """Output rows per block for the columns of ``view`` times ``o`` filters; 0: build whole.

    Only on the CPU: a GPU runs one big product best, and every block would be a kernel launch.
    """
    if view.nbytes < _BLOCK_FROM:  # the cheapest test first: 0.07 us instead of 0.19 at batch 1
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
    buf = _scratch.empty(xp, (c * kh * kw, rows * wo * n), view.dtype)
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
    out = _scratch.empty(xp, (c, size[0] + pt + pb, size[1] + pl + pr, n), cols.dtype)
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
        y = _scratch.empty(xp, (o, out_size[0] * width), x.dtype)
        wm = w.reshape(o, -1)
        for r0, r, part in _column_blocks(view, rows):
            xp.matmul(wm, part, out=y[:, r0 * width:(r0 + r) * width])
    else:
        if cols is None:
            cols = _im2col(x, w.shape[2:], out_size, geom, view)
        if g == 1:
            y = _scratch.matmul(w.reshape(o, -1), cols[0])
        else:
            y = _scratch.empty(xp, (g, o // g, cols.shape[2]), x.dtype)
            y = xp.matmul(w.reshape(g, o // g, -1), cols, out=y).reshape(o, -1)
    if relu:
        _bias_relu(y, b, compiled)
    elif b is not None:
        y += b[:, None]
    return _batch_last(y.reshape(o, *out_size, x.shape[0])), cols


def _small_conv(x, w, b, out_size, geom, relu):
    """``_conv``'s output for an unrecorded convolution on small host arrays, or None.

    A batch of one is bookkeeping more than arithmetic, so this does ``_conv``'s NumPy operations,
    in the same order and with the same results, without its helpers' set-up (array-module
    look-ups, recycled-buffer bookkeeping, block planning): LeNet-5's three convolutions at batch 1
    take 16.5, 19.7 and 7.8 us instead of 19.3, 22.4 and 10.9. Columns that are the input's own
    memory (its C5, whose kernel covers the whole 5 x 5 image, or a 1 x 1 kernel) are not copied.
    Small: columns and output under ``_scratch``'s recycling size, so it would not keep them.
    """
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho, wo = out_size
    positions, inner = ho * wo * n, c * kh * kw
    if (type(x) is not _HOST.ndarray or geom.groups != 1
            or max(inner, o) * positions * x.itemsize >= _scratch.RECYCLE_FROM):
        return None
    (pt, pb), (pl, pr) = geom.padding
    memory = _memory_order(x)
    if pt or pb or pl or pr:
        padded = _scratch.full(_HOST, (c, h + pt + pb, wd + pl + pr, n), 0, x.dtype)
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
    y = wm @ cols if inner > 1 else _scratch.matmul(wm, cols)
    if relu:
        _bias_relu(y, b, False)
    elif b is not None:
        y += b[:, None]
    return _batch_last(y.reshape(o, ho, wo, n))


def _bias_relu(y, b, compiled):
    """``y = max(y + b[:, None], 0)`` in place on an (O, positions) output: one sweep on the CPU
    when ``compiled`` (when training: a model only predicting should not load numba, ~110 MiB)."""
    if (compiled and b is not None and _jit.bias_relu is not None and type(y) is _HOST.ndarray
            and _jit.handles(y.dtype) and y.dtype == b.dtype and y.flags.c_contiguous):
        _jit.bias_relu(y, b)  # NumPy's add and maximum in one pass, with the same results
        return
    if b is not None:
        y += b[:, None]
    _scratch.relu(y, inplace=True)


def _conv_transpose(g, w, b, size, geom):
    xp = get_array_module(g, w)
    n, o, ho, wo = g.shape
    groups = geom.groups
    wt = w.reshape(groups, o // groups, -1).transpose(0, 2, 1)
    cols = _scratch.empty(xp, (groups, wt.shape[1], ho * wo * n), g.dtype)
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
        return _scratch.matmul(b, a.T).T
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


class ConvNd(Function):
    """Convolution of x (N, C, *s) with w (O, C/groups, *k), plus an optional bias (O,).

    ``cols``: the im2col columns of x when the caller has them already.
    """

    cols = dense = None
    _relu = False

    def forward(self, x, w, b=None):
        geom, out_size = self.geom, self.out_size
        if geom.nd == 1:  # 2-D arrays need no view: two calls fewer per convolution
            x, w = _as2d(x, 1), _as2d(w, 1)
        if out_size is None:
            out_size = tuple(
                _out_len(x.shape[2 + a], w.shape[2 + a], geom.stride[a], geom.padding[a],
                         geom.dilation[a])
                for a in range(2)
            )
        elif geom.nd == 1:
            out_size = _size2d(out_size, 1)
        if not self.recording and self.cols is None:  # nothing to keep for a backward
            y = _small_conv(x, w, b, out_size, geom, self._relu)
            if y is not None:
                return _from2d(y, geom.nd)
        dense = x if self.cols is not None else _batch_last_input(x, w.shape[2:], geom)
        y, cols = _conv(dense, w, b, out_size, geom, self.cols, self._relu, self.recording)
        # Kept only when the filter gradient will be computed: that GEMM reuses the columns.
        # Big ones (over config.keep_columns_mib) are rebuilt in the backward instead, from the
        # batch-last copy of the input if one was made: copying them is cheaper than holding
        # them, which adds their size to the peak memory of the whole step (the char-CNN's first
        # two layers: k = 7 times their inputs; docs/performance.md).
        keep = (self.needs_input_grad[1] and cols is not None
                and cols.nbytes <= config.keep_columns_mib * 2**20)
        self.cols = cols if keep else None
        if self.needs_input_grad[1] and not keep and dense is not x:
            self.dense = dense
        return _from2d(y, geom.nd)

    def backward(self, g):
        x, w = self.inputs[:2]
        need = self.needs_input_grad
        gx = ConvTransposeNd.apply(g, w, geom=self.geom, size=x.shape[2:]) if need[0] else None
        gw = None
        if need[1]:
            gw = ConvWeightGrad.apply(x, g, geom=self.geom, ksize=w.shape[2:], cols=self.cols,
                                      dense=self.dense)
        return (gx, gw) + _bias_grad(self, g)


class ConvReLUNd(ConvNd):
    """``relu(conv(x, w, b))`` as one node: the bias add and the ReLU in one sweep, in place.

    The same array operations as ConvNd followed by ReLU, so the same values and gradients; it
    saves the ReLU's node, Tensor and output array, and keeps no pre-activation alive: as for
    ReLU, backward masks the gradient by output > 0 before the convolution's own backward.
    """

    _relu = True
    relu_output = True  # backward masks by output > 0 (see pool._relu_output)

    def backward(self, g):
        return ConvNd.backward(self, relu_masked(g, self.output.data))


class ConvTransposeNd(Function):
    """Transposed convolution of g (N, O, *s) with w (O, C/groups, *k) to ``size``; bias (C,)."""

    def forward(self, g, w, b=None):
        nd = self.geom.nd
        y = _conv_transpose(_as2d(g, nd), _as2d(w, nd), b, _size2d(self.size, nd), self.geom)
        return _from2d(y, nd)

    def backward(self, gy):
        g, w = self.inputs[:2]
        need = self.needs_input_grad
        geom, nd = self.geom, self.geom.nd
        cols = None
        if need[0] and need[1]:  # both gradients multiply the same columns of gy: build them once
            cols = _im2col(_as2d(gy.data, nd), _size2d(w.shape[2:], nd), _size2d(g.shape[2:], nd),
                           geom)
        gg = ConvNd.apply(gy, w, geom=geom, out_size=g.shape[2:], cols=cols) if need[0] else None
        gw = None
        if need[1]:
            gw = ConvWeightGrad.apply(gy, g, geom=geom, ksize=w.shape[2:], cols=cols)
        return (gg, gw) + _bias_grad(self, gy)


class ConvWeightGrad(Function):
    """Gradient of a convolution with respect to its filters: g times the columns of x, summed.

    ``cols``: the columns of x, or ``dense``: a batch-last copy of x (in 2-D form), when the
    caller has them.
    """

    cols = dense = None

    def forward(self, x, g):
        nd = self.geom.nd
        x = _as2d(x, nd) if self.dense is None else self.dense
        gw = _conv_weight_grad(x, _as2d(g, nd), _size2d(self.ksize, nd), self.geom, self.cols)
        self.cols = self.dense = None  # not needed for higher derivatives
        # Written into an array of the filters' shape that owns its memory (a recycled one): a
        # view or a reshaped copy would be copied again to become a parameter's .grad.
        o, ksize = gw.shape[0], tuple(self.ksize)
        out = _scratch.empty(get_array_module(gw), (o, gw.shape[1] // math.prod(ksize), *ksize),
                             gw.dtype)
        out.reshape(gw.shape)[...] = gw
        return out

    def backward(self, gw):
        x, g = self.inputs
        need = self.needs_input_grad
        gx = ConvTransposeNd.apply(g, gw, geom=self.geom, size=x.shape[2:]) if need[0] else None
        gg = ConvNd.apply(x, gw, geom=self.geom, out_size=g.shape[2:]) if need[1] else None
        return gx, gg


class _ChannelSum(Function):
    """Sum of (N, C, *s) over every axis but the channels: the gradient of a per-channel bias."""

    def forward(self, g):
        rows = g.transpose((1,) + tuple(range(2, g.ndim)) + (0,))
        if rows.flags.c_contiguous:  # batch-last: one contiguous row per channel
            return rows.reshape(rows.shape[0], -1).sum(axis=1)
        return g.sum(axis=(0,) + tuple(range(2, g.ndim)))

    def backward(self, gb):
        return _ChannelBroadcast.apply(gb, shape=self.inputs[0].shape)


class _ChannelBroadcast(Function):
    def forward(self, b):
        xp = get_array_module(b)
        return xp.broadcast_to(b.reshape((-1,) + (1,) * (len(self.shape) - 2)), self.shape)

    def backward(self, g):
        return _ChannelSum.apply(g)


def _bias_grad(fn, g):
    if len(fn.inputs) < 3:
        return ()
    return (_ChannelSum.apply(g) if fn.needs_input_grad[2] else None,)


def _meta(t):
    return None if t is None else (tuple(t.shape), t.dtype)


def _convolve(op, nd, x, weight, bias, stride, padding, dilation, groups, fn=ConvNd):
    geom, out_size = conv_setup(op, nd, tuple(x.shape), x.dtype, tuple(weight.shape),
                                weight.dtype, _meta(bias), stride, padding, dilation, groups)
    if bias is None:
        return fn.apply(x, weight, geom=geom, out_size=out_size)
    return fn.apply(x, weight, bias, geom=geom, out_size=out_size)


def _transpose_convolve(op, nd, x, weight, bias, stride, padding, output_padding, groups, dilation):
    geom, size = conv_transpose_setup(op, nd, tuple(x.shape), x.dtype, tuple(weight.shape),
                                      weight.dtype, _meta(bias), stride, padding, output_padding,
                                      groups, dilation)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvTransposeNd.apply(*inputs, geom=geom, size=size)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation, as in PyTorch) of a batch of sequences.

    Args:
        x: input of shape (N, C_in, L).
        weight: filters of shape (C_out, C_in / groups, kL).
        bias: optional (C_out,) added to every position.
        stride, dilation: positive ints (or 1-tuples).
        padding: an int, a 1-tuple, "valid" (none) or "same" (output as long as the input; stride
            1 only; an odd total padding puts the extra zero at the end, as PyTorch does).
        groups: split channels into this many independent groups.

    Returns:
        Tensor of shape (N, C_out, L_out) with
        L_out = (L + 2 * padding - dilation * (kL - 1) - 1) // stride + 1.
    """
    return _convolve("conv1d", 1, x, weight, bias, stride, padding, dilation, groups)


def conv1d_relu(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``relu(conv1d(...))`` in one op: the same values and gradients, one pass and node fewer.

    ``nn.Sequential`` uses it for every ``Conv1d`` followed by ``ReLU`` (neither with hooks).
    The arguments are those of ``conv1d``.
    """
    return _convolve("conv1d_relu", 1, x, weight, bias, stride, padding, dilation, groups,
                     ConvReLUNd)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as in PyTorch) of a batch of images, one GEMM per group.

    Args:
        x: input of shape (N, C_in, H, W).
        weight: filters of shape (C_out, C_in / groups, kH, kW).
        bias: optional (C_out,) added to every pixel.
        stride, dilation: positive ints or (h, w) tuples.
        padding: an int, an (h, w) tuple, "valid" or "same" (stride 1 only; the extra zero of an
            odd total padding goes to the bottom/right, as PyTorch does).
        groups: split channels into this many independent groups (groups = C_in is depthwise).

    Returns:
        Tensor of shape (N, C_out, H_out, W_out) with
        H_out = (H + 2 * padding - dilation * (kH - 1) - 1) // stride + 1 (likewise W_out).

    >>> import chainrule as cr
    >>> x = cr.tensor([[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]])
    >>> conv2d(x, cr.tensor([[[[1.0, 1.0]]]])).tolist()
    [[[[3.0, 5.0], [9.0, 11.0]]]]
    """
    return _convolve("conv2d", 2, x, weight, bias, stride, padding, dilation, groups)


def conv2d_relu(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``relu(conv2d(...))`` in one op: the same values and gradients, one pass and node fewer.

    ``nn.Sequential`` uses it for every ``Conv2d`` followed by ``ReLU`` (neither with hooks).
    The arguments are those of ``conv2d``.

    >>> import chainrule as cr
    >>> x = cr.tensor([[[[1.0, -2.0, 3.0]]]])
    >>> conv2d_relu(x, cr.tensor([[[[1.0, 1.0]]]])).tolist()
    [[[[0.0, 1.0]]]]
    """
    return _convolve("conv2d_relu", 2, x, weight, bias, stride, padding, dilation, groups,
                     ConvReLUNd)


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution (the adjoint of ``conv1d``; "deconvolution"), as in PyTorch.

    Args:
        x: input of shape (N, C_in, L).
        weight: filters of shape (C_in, C_out / groups, kL) (PyTorch's layout).
        bias: optional (C_out,).
        stride, padding, dilation, groups: those of the convolution this is the adjoint of.
        output_padding: extra length added at the end (smaller than stride or dilation).

    Returns:
        Tensor of shape (N, C_out, L_out), L_out = (L - 1) * stride - 2 * padding
        + dilation * (kL - 1) + output_padding + 1.
    """
    return _transpose_convolve("conv_transpose1d", 1, x, weight, bias, stride, padding,
                               output_padding, groups, dilation)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution (the adjoint of ``conv2d``): upsampling in decoders and GANs.

    Args:
        x: input of shape (N, C_in, H, W).
        weight: filters of shape (C_in, C_out / groups, kH, kW) (PyTorch's layout).
        bias: optional (C_out,).
        stride, padding, dilation, groups: those of the convolution this is the adjoint of
            (ints or (h, w) tuples).
        output_padding: extra rows/columns at the bottom/right (smaller than stride or dilation).

    Returns:
        Tensor of shape (N, C_out, H_out, W_out), H_out = (H - 1) * stride - 2 * padding
        + dilation * (kH - 1) + output_padding + 1 (likewise W_out).

    >>> import chainrule as cr
    >>> x = cr.tensor([[[[1.0, 2.0]]]])
    >>> conv_transpose2d(x, cr.tensor([[[[1.0, 1.0]]]])).tolist()
    [[[[1.0, 3.0, 2.0]]]]
    """
    return _transpose_convolve("conv_transpose2d", 2, x, weight, bias, stride, padding,
                               output_padding, groups, dilation)
