"""Convolution and transposed convolution (1-D and 2-D) and their gradients.

Convolution is PyTorch's: a cross-correlation of an (N, C, *spatial) batch with (O, C/groups, *k)
filters (groups = 1 here),

    y[n, o, p, q] = b[o] + sum over c, i, j of w[o, c, i, j] x[n, c, p*s + i*d, q*s + j*d]

(zero padding around x, stride s, dilation d): for each kernel offset (i, j), the filter tap
w[:, :, i, j] applied over the channels to x shifted by that offset. Its gradients are again
such sums:

    dL/dx = conv_transpose(g, w)          the adjoint of the forward in x: each tap transposed,
                                          applied to g, added back where the forward read
    dL/dw[:, :, i, j] = g . (x shifted by (i, j)), summed over the batch and output positions
    dL/db = g summed over all but the channel axis

Three Functions close under differentiation: the input gradient of ``ConvNd`` is a
``ConvTransposeNd``, that of ``ConvTransposeNd`` is a ``ConvNd``, both filter gradients are a
``ConvWeightGrad``, whose own gradients are again a convolution and a transposed convolution;
so derivatives of every order are convolutions. These Functions take 2-D images (N, C, H, W);
a 1-D convolution is the 2-D one of its sequences seen as images one row high (``_convolve``).

The array work is in ``kernels.convolution``: in ``chainrule.reference_mode()`` its references,
the formulas above one kernel offset at a time; otherwise the fast routes, one GEMM per group
over the columns of im2col in batch-last memory (docs/performance.md).
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..kernels import K
from ._conj import MakeComplex
from ._unbatched import add_batch, drop_batch
from ._windows import conv_setup, conv_transpose_setup
from .activation import ReLUMask
from .shape import reshape, squeeze, unsqueeze

__all__ = ["conv1d", "conv1d_relu", "conv2d", "conv2d_relu", "conv_transpose1d",
           "conv_transpose1d_relu", "conv_transpose2d", "conv_transpose2d_relu"]


class ConvNd(Function):
    """Convolution of x (N, C, *s) with w (O, C/groups, *k), plus an optional bias (O,).

    ``reuse``: the columns of x when the caller has built them (``K.columns_of``); after
    the forward, what the filter gradient reuses (the columns, or a batch-last copy of x).
    """

    reuse = None
    relu = False

    def forward(self, x, w, b=None):
        y, self.reuse = K.convolve(x, w, b, self.out_size, self.geom, relu=self.relu,
                                   reuse=self.reuse, keep=self.needs_input_grad[1],
                                   recording=self.recording)
        return y

    def backward(self, g):
        x, w = self.inputs[:2]
        need = self.needs_input_grad
        gx = gw = None
        if need[0]:  # dL/dx: the transposed convolution of g with the same filters
            gx = ConvTransposeNd.apply(g, w, geom=self.geom, size=x._data.shape[2:])
        if need[1]:  # dL/dw: g times the columns of x
            gw = ConvWeightGrad.apply(x, g, geom=self.geom, wshape=w._data.shape, reuse=self.reuse)
        if len(self.inputs) == 2:
            return gx, gw
        return gx, gw, _ChannelSum.apply(g) if need[2] else None  # dL/db: g summed per channel


class ConvReLUNd(ConvNd):
    """``relu(conv(x, w, b))`` as one node: the bias add and the ReLU in one sweep, in place.

    The same array operations as ConvNd followed by ReLU, so the same values and gradients; it
    saves the ReLU's node, Tensor and output array, and keeps no pre-activation alive: as for
    ReLU, backward masks the gradient by output > 0 before the convolution's own backward.
    """

    relu = True

    def backward(self, g):
        return ConvNd.backward(self, ReLUMask.apply(g, self.output))


class ConvTransposeNd(Function):
    """Transposed convolution of g (N, O, *s) with w (O, C/groups, *k) to ``size``; bias (C,).

    The adjoint of ``ConvNd`` in its input: its input gradient is that convolution.
    """

    relu = False

    def forward(self, g, w, b=None):
        return K.convolve_transpose(g, w, b, self.size, self.geom, relu=self.relu)

    def backward(self, gy):
        g, w = self.inputs[:2]
        need = self.needs_input_grad
        geom = self.geom
        reuse = None
        if need[0] and need[1]:  # both gradients multiply the columns of gy: build them once
            reuse = K.columns_of(gy._data, w.shape[2:], g.shape[2:], geom)
        gg = ConvNd.apply(gy, w, geom=geom, out_size=g.shape[2:], reuse=reuse) if need[0] else None
        gw = ConvWeightGrad.apply(gy, g, geom=geom, wshape=w.shape,
                                  reuse=reuse) if need[1] else None
        return (gg, gw) + _bias_grad(self, gy)


class ConvTransposeReLUNd(ConvTransposeNd):
    """``relu(conv_transpose(g, w, b))`` as one node, as ``ConvReLUNd``: the ReLU in col2im's
    sweep (with the bias), and backward masks the gradient by output > 0 first."""

    relu = True

    def backward(self, gy):
        return ConvTransposeNd.backward(self, ReLUMask.apply(gy, self.output))


class ConvWeightGrad(Function):
    """The gradient of a convolution's filters (shape ``wshape``): g times the columns of x.

    ``reuse``: what the convolution's forward kept to rebuild the columns faster, or None.
    """

    reuse = None

    def forward(self, x, g):
        gw = K.filter_gradient(x, g, self.geom, self.wshape, self.reuse)
        self.reuse = None  # not needed for higher derivatives
        return gw

    def backward(self, gw):
        x, g = self.inputs
        need = self.needs_input_grad
        gx = ConvTransposeNd.apply(g, gw, geom=self.geom, size=x.shape[2:]) if need[0] else None
        gg = ConvNd.apply(x, gw, geom=self.geom, out_size=g.shape[2:]) if need[1] else None
        return gx, gg


class _ChannelSum(Function):
    """Sum of (N, C, H, W) over every axis but the channels: the gradient of a per-channel bias."""

    def forward(self, g):
        return K.channel_sums(g)

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


def _shape_and_dtype(t, op="conv", name="input"):
    """(shape, dtype) of a Tensor or array (None for None): what the geometry checks read."""
    if t is None:
        return None
    a = _array(op, name, t)
    return tuple(a.shape), a.dtype


def _array(op, name, t):
    """The array of a Tensor (or an array itself); anything else is refused, naming it."""
    if isinstance(t, Tensor):
        return t._data
    if not (hasattr(t, "shape") and hasattr(t, "dtype")):
        what = "a Tensor or None" if name == "bias" else "a Tensor"
        raise TypeError(f"{op}: {name} must be {what}, got {type(t).__name__}")
    return t


def _convolve(op, nd, x, weight, bias, stride, padding, dilation, groups, fn=ConvNd):
    """Check the arguments of ``op`` and apply ``fn``, a 1-D convolution as a 2-D one: its
    sequences (N, C, L) and filters seen as images one row high, (N, C, 1, L). An unbatched
    input (C, *spatial), as PyTorch takes, runs as a batch of one."""
    xa = _array(op, "input", x)
    if len(xa.shape) == nd + 1:
        return drop_batch(_convolve(op, nd, add_batch(x), weight, bias, stride, padding,
                                    dilation, groups, fn))
    wa = _array(op, "weight", weight)
    # a complex input or weight Tensor: four real convolutions (the arrays tested first)
    if fn is ConvNd and "c" in (xa.dtype.kind, wa.dtype.kind) and "c" in (
            _kind(x), _kind(weight)):
        return _complex_convolve(op, nd, x, weight, bias, lambda a, w: _convolve(
            op, nd, a, w, None, stride, padding, dilation, groups))
    ba = None if bias is None else _array(op, "bias", bias)
    geom, out_size = conv_setup(  # the geometry in 2-D form
        op, nd, tuple(xa.shape), xa.dtype, tuple(wa.shape), wa.dtype,
        None if ba is None else (tuple(ba.shape), ba.dtype), stride, padding, dilation, groups)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    if nd == 2:
        return fn.apply(*inputs, geom=geom, out_size=out_size)
    inputs = (unsqueeze(x, 2), unsqueeze(weight, 2)) + inputs[2:]
    return squeeze(fn.apply(*inputs, geom=geom, out_size=(1,) + out_size), 2)


def _kind(t):
    return t._data.dtype.kind if isinstance(t, Tensor) else None



def _complex_convolve(op, nd, x, weight, bias, conv):
    """A complex (transposed) convolution as four real ones of the parts, ``conv(x_part,
    w_part)`` (re = xr*wr - xi*wi, im = xr*wi + xi*wr), so that its gradients are the real
    ones' through ``real``, ``imag`` and ``complex`` (PyTorch's convention). Input and weight
    must share one complex dtype."""
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and _kind(t) is not None and t.dtype != x.dtype:
            raise TypeError(f"{op}: input ({x.dtype}) and {name} ({t.dtype}) must have one "
                            "dtype (a complex convolution needs complex input and weight)")
    if _kind(x) != "c":
        raise TypeError(f"{op}: input ({x.dtype}) and weight ({weight.dtype}) must have one dtype")
    xr, xi, wr, wi = x.real, x.imag, weight.real, weight.imag
    out = MakeComplex.apply(conv(xr, wr) - conv(xi, wi), conv(xr, wi) + conv(xi, wr))
    if bias is None:
        return out
    return out + reshape(bias, (-1,) + (1,) * nd)


def _transpose_convolve(op, nd, x, weight, bias, stride, padding, output_padding, groups, dilation,
                        fn=ConvTransposeNd):
    """Check the arguments of ``op`` and apply ``fn``, 1-D and unbatched as in ``_convolve``."""
    xa = _array(op, "input", x)
    if len(xa.shape) == nd + 1:
        return drop_batch(_transpose_convolve(op, nd, add_batch(x), weight, bias, stride,
                                              padding, output_padding, groups, dilation, fn))
    wa = _array(op, "weight", weight)
    # a complex input or weight Tensor: four real convolutions (the arrays tested first)
    if fn is ConvTransposeNd and "c" in (xa.dtype.kind, wa.dtype.kind) and "c" in (
            _kind(x), _kind(weight)):
        return _complex_convolve(op, nd, x, weight, bias, lambda a, w: _transpose_convolve(
            op, nd, a, w, None, stride, padding, output_padding, groups, dilation))
    ba = None if bias is None else _array(op, "bias", bias)
    geom, size = conv_transpose_setup(
        op, nd, tuple(xa.shape), xa.dtype, tuple(wa.shape), wa.dtype,
        None if ba is None else (tuple(ba.shape), ba.dtype), stride, padding, output_padding,
        groups, dilation)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    if nd == 2:
        return fn.apply(*inputs, geom=geom, size=size)
    inputs = (unsqueeze(x, 2), unsqueeze(weight, 2)) + inputs[2:]
    return squeeze(fn.apply(*inputs, geom=geom, size=(1,) + size), 2)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """1-D convolution (cross-correlation, as in PyTorch) of a batch of sequences.

    Args:
        input: input of shape (N, C_in, L).
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
    return _convolve("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv1d_relu(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``relu(conv1d(...))`` in one op: the same values and gradients, one pass and node fewer.

    ``nn.fuse(model)`` makes each ``Conv1d`` followed by ``ReLU`` in a ``Sequential`` (neither
    with hooks) one layer that runs it; nothing fuses by itself.
    The arguments are those of ``conv1d``.
    """
    return _convolve("conv1d_relu", 1, x, weight, bias, stride, padding, dilation, groups,
                     ConvReLUNd)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """2-D convolution (cross-correlation, as in PyTorch) of a batch of images, one GEMM per group.

    Args:
        input: input of shape (N, C_in, H, W).
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
    return _convolve("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv2d_relu(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``relu(conv2d(...))`` in one op: the same values and gradients, one pass and node fewer.

    ``nn.fuse(model)`` makes each ``Conv2d`` followed by ``ReLU`` in a ``Sequential`` (neither
    with hooks) one layer that runs it; nothing fuses by itself.
    The arguments are those of ``conv2d``.

    >>> import chainrule as cr
    >>> x = cr.tensor([[[[1.0, -2.0, 3.0]]]])
    >>> conv2d_relu(x, cr.tensor([[[[1.0, 1.0]]]])).tolist()
    [[[[0.0, 1.0]]]]
    """
    return _convolve("conv2d_relu", 2, x, weight, bias, stride, padding, dilation, groups,
                     ConvReLUNd)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution (the adjoint of ``conv1d``; "deconvolution"), as in PyTorch.

    Args:
        input: input of shape (N, C_in, L).
        weight: filters of shape (C_in, C_out / groups, kL) (PyTorch's layout).
        bias: optional (C_out,).
        stride, padding, dilation, groups: those of the convolution this is the adjoint of.
        output_padding: extra length added at the end (smaller than stride or dilation).

    Returns:
        Tensor of shape (N, C_out, L_out), L_out = (L - 1) * stride - 2 * padding
        + dilation * (kL - 1) + output_padding + 1.
    """
    return _transpose_convolve("conv_transpose1d", 1, input, weight, bias, stride, padding,
                               output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution (the adjoint of ``conv2d``): upsampling in decoders and GANs.

    Args:
        input: input of shape (N, C_in, H, W).
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
    return _transpose_convolve("conv_transpose2d", 2, input, weight, bias, stride, padding,
                               output_padding, groups, dilation)


def conv_transpose1d_relu(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                          dilation=1):
    """``relu(conv_transpose1d(...))`` in one op: the same values and gradients, the bias and
    the ReLU in one sweep (``nn.fuse`` uses it for a ConvTranspose1d followed by a ReLU)."""
    return _transpose_convolve("conv_transpose1d_relu", 1, x, weight, bias, stride, padding,
                               output_padding, groups, dilation, ConvTransposeReLUNd)


def conv_transpose2d_relu(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                          dilation=1):
    """``relu(conv_transpose2d(...))`` in one op: the same values and gradients, the bias and
    the ReLU in one sweep (``nn.fuse`` uses it for a ConvTranspose2d followed by a ReLU).

    >>> import chainrule as cr
    >>> x = cr.tensor([[[[1.0, -2.0]]]])
    >>> conv_transpose2d_relu(x, cr.tensor([[[[1.0, 1.0]]]])).tolist()
    [[[[1.0, 0.0, 0.0]]]]
    """
    return _transpose_convolve("conv_transpose2d_relu", 2, x, weight, bias, stride, padding,
                               output_padding, groups, dilation, ConvTransposeReLUNd)
