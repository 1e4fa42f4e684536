"""The convolution Functions and their backward, and the public ``conv*`` functions.

The array work is in the sibling modules: ``_gemm`` (the three products), ``_columns``
(im2col/col2im), ``_small`` (the lean unrecorded forward) and ``_layout`` (batch-last memory).
"""

from __future__ import annotations

import math

from ...autograd.function import Function
from ...backend import config, get_array_module
from .._windows import conv_setup, conv_transpose_setup
from .._windows import size2d as _size2d
from ..activation import relu_mask
from ._columns import _batch_last_input, _im2col
from ._gemm import _conv, _conv_transpose, _conv_weight_grad
from ._layout import _as2d, _from2d
from ._small import _small_conv

__all__ = ["conv1d", "conv1d_relu", "conv2d", "conv2d_relu", "conv_transpose1d",
           "conv_transpose2d"]


def _out_len(size, k, stride, pad, dilation):
    return (size + pad[0] + pad[1] - dilation * (k - 1) - 1) // stride + 1


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
        keep_columns = (self.needs_input_grad[1] and cols is not None
                and cols.nbytes <= config.keep_columns_mib * 2**20)
        self.cols = cols if keep_columns else None
        if self.needs_input_grad[1] and not keep_columns and dense is not x:
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

    def backward(self, g):
        return ConvNd.backward(self, relu_mask(g, self.output))


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
        out = get_array_module(gw).empty((o, gw.shape[1] // math.prod(ksize), *ksize), gw.dtype)
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
