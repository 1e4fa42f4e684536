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
"""

from __future__ import annotations

import operator
from typing import NamedTuple

from ..autograd.function import Function
from ..backend import get_array_module

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


class _Geom(NamedTuple):
    """Convolution geometry in 2-D form; ``nd``: spatial axes of the caller's arrays (1 or 2)."""

    stride: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]  # (before, after) for each spatial axis
    dilation: tuple[int, int]
    groups: int
    nd: int


def _as2d(a, nd):
    """A (N, C, L) array as (N, C, 1, L), a view; 2-D arrays are returned unchanged."""
    return a[:, :, None] if nd == 1 else a


def _from2d(a, nd):
    return a[:, :, 0] if nd == 1 else a


def _size2d(size, nd):
    return (1,) * (2 - nd) + tuple(size)


def _pad(x, padding, value=0):
    """``x`` (N, C, H, W) with ``padding`` ((top, bottom), (left, right)) filled with ``value``."""
    (pt, pb), (pl, pr) = padding
    if not (pt or pb or pl or pr):
        return x
    xp = get_array_module(x)
    n, c, h, w = x.shape
    out = xp.full((n, c, h + pt + pb, w + pl + pr), value, dtype=x.dtype)
    out[:, :, pt:pt + h, pl:pl + w] = x
    return out


def _window(start, out_size, stride):
    """Index of the strided slice (last two axes) holding offset ``start`` of every window."""
    (i, j), (ho, wo), (sh, sw) = start, out_size, stride
    return (..., slice(i, i + sh * (ho - 1) + 1, sh), slice(j, j + sw * (wo - 1) + 1, sw))


def _out_len(size, k, stride, pad, dilation):
    return (size + pad[0] + pad[1] - dilation * (k - 1) - 1) // stride + 1


def _im2col(x, ksize, out_size, geom):
    """Every receptive field of ``x`` (N, C, H, W) as a column: (G, C/G * kh * kw, N * Ho * Wo)."""
    xp = get_array_module(x)
    n, c = x.shape[:2]
    xpad = _pad(x, geom.padding)
    (kh, kw), (ho, wo) = ksize, out_size
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    s = xpad.strides
    view = xp.lib.stride_tricks.as_strided(
        xpad, (c, kh, kw, n, ho, wo), (s[1], s[2] * dh, s[3] * dw, s[0], s[2] * sh, s[3] * sw)
    )
    return view.reshape(geom.groups, c // geom.groups * kh * kw, n * ho * wo)  # the one copy


def _col2im(cols, size, geom):
    """Adjoint of ``_im2col``: add columns (C, kh, kw, N, Ho, Wo) back into (N, C, H, W)."""
    xp = get_array_module(cols)
    c, kh, kw, n, ho, wo = cols.shape
    (pt, pb), (pl, pr) = geom.padding
    # Channels first, like the columns, so that every slice-add below runs over matching layouts.
    out = xp.zeros((c, n, size[0] + pt + pb, size[1] + pl + pr), dtype=cols.dtype)
    (dh, dw) = geom.dilation
    for i in range(kh):
        for j in range(kw):
            view = out[_window((i * dh, j * dw), (ho, wo), geom.stride)]
            view += cols[:, i, j]
    out = out[:, :, pt:pt + size[0], pl:pl + size[1]]
    return xp.ascontiguousarray(out.transpose(1, 0, 2, 3))


def _gemm_layout(g, groups):
    """(N, O, Ho, Wo) -> (groups, O/groups, N*Ho*Wo), the layout the GEMMs use."""
    n, o = g.shape[:2]
    return g.transpose(1, 0, 2, 3).reshape(groups, o // groups, -1)


def _conv(x, w, out_size, geom):
    """The convolution and the columns it used (kept for the weight gradient)."""
    xp = get_array_module(x, w)
    o, g = w.shape[0], geom.groups
    cols = _im2col(x, w.shape[2:], out_size, geom)
    y = xp.matmul(w.reshape(g, o // g, -1), cols)
    y = y.reshape(o, x.shape[0], *out_size).transpose(1, 0, 2, 3)
    return xp.ascontiguousarray(y), cols


def _conv_transpose(g, w, size, geom):
    xp = get_array_module(g, w)
    n, o, ho, wo = g.shape
    groups = geom.groups
    cols = xp.matmul(w.reshape(groups, o // groups, -1).transpose(0, 2, 1), _gemm_layout(g, groups))
    return _col2im(cols.reshape(w.shape[1] * groups, *w.shape[2:], n, ho, wo), size, geom)


_CHUNK = 4096


def _gemm_nt(a, b):
    """``a @ b.T`` for 2-D a (M, L), b (K, L); a long inner dimension L is split into chunks.

    The filter gradient of an early layer is such a degenerate product (LeNet's C1: 6 x 25 outputs
    summed over 100,352 positions); BLAS runs it far faster as a sum of cache-sized pieces.
    """
    m, length = a.shape
    k = b.shape[0]
    if length <= 2 * _CHUNK or m * k > 4096:
        return a @ b.T
    out = a[:, :_CHUNK] @ b[:, :_CHUNK].T
    for s in range(_CHUNK, length, _CHUNK):
        out += a[:, s:s + _CHUNK] @ b[:, s:s + _CHUNK].T
    return out


def _conv_weight_grad(x, g, ksize, geom, cols=None):
    xp = get_array_module(x, g)
    if cols is None:
        cols = _im2col(x, ksize, g.shape[2:], geom)
    gl = _gemm_layout(g, geom.groups)
    gw = xp.stack([_gemm_nt(gl[i], cols[i]) for i in range(geom.groups)])
    return gw.reshape(g.shape[1], -1, *ksize)


def _add_bias(y, b):
    if b is not None:
        y += b.reshape(-1, 1, 1)
    return y


class ConvNd(Function):
    """Convolution of x (N, C, *s) with w (O, C/groups, *k), plus an optional bias (O,)."""

    def forward(self, x, w, b=None):
        nd = self.geom.nd
        x2, w2 = _as2d(x, nd), _as2d(w, nd)
        geom, out_size = self.geom, self.out_size
        if out_size is None:
            out_size = tuple(
                _out_len(x2.shape[2 + a], w2.shape[2 + a], geom.stride[a], geom.padding[a],
                         geom.dilation[a])
                for a in range(2)
            )
        else:
            out_size = _size2d(out_size, nd)
        y, cols = _conv(x2, w2, out_size, geom)
        # Kept only when the filter gradient will be computed: that GEMM reuses the columns.
        self.cols = cols if self.needs_input_grad[1] else None
        return _from2d(_add_bias(y, b), nd)

    def backward(self, g):
        x, w = self.inputs[:2]
        need = self.needs_input_grad
        gx = ConvTransposeNd.apply(g, w, geom=self.geom, size=x.shape[2:]) if need[0] else None
        gw = None
        if need[1]:
            gw = ConvWeightGrad.apply(x, g, geom=self.geom, ksize=w.shape[2:], cols=self.cols)
        return (gx, gw) + _bias_grad(self, g)


class ConvTransposeNd(Function):
    """Transposed convolution of g (N, O, *s) with w (O, C/groups, *k) to ``size``; bias (C,)."""

    def forward(self, g, w, b=None):
        nd = self.geom.nd
        y = _conv_transpose(_as2d(g, nd), _as2d(w, nd), _size2d(self.size, nd), self.geom)
        return _from2d(_add_bias(y, b), nd)

    def backward(self, gy):
        g, w = self.inputs[:2]
        need = self.needs_input_grad
        gg = ConvNd.apply(gy, w, geom=self.geom, out_size=g.shape[2:]) if need[0] else None
        gw = None
        if need[1]:
            gw = ConvWeightGrad.apply(gy, g, geom=self.geom, ksize=w.shape[2:], cols=None)
        return (gg, gw) + _bias_grad(self, gy)


class ConvWeightGrad(Function):
    """Gradient of a convolution with respect to its filters: g times the columns of x, summed."""

    def forward(self, x, g):
        nd = self.geom.nd
        gw = _conv_weight_grad(_as2d(x, nd), _as2d(g, nd), _size2d(self.ksize, nd), self.geom,
                               self.cols)
        self.cols = None  # not needed for higher derivatives
        return _from2d(gw, nd)

    def backward(self, gw):
        x, g = self.inputs
        need = self.needs_input_grad
        gx = ConvTransposeNd.apply(g, gw, geom=self.geom, size=x.shape[2:]) if need[0] else None
        gg = ConvNd.apply(x, gw, geom=self.geom, out_size=g.shape[2:]) if need[1] else None
        return gx, gg


class _ChannelSum(Function):
    """Sum of (N, C, *s) over every axis but the channels: the gradient of a per-channel bias."""

    def forward(self, g):
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


def _ints(op, name, value, nd, minimum):
    """``value`` (an int or ``nd`` ints, each >= ``minimum``) as a tuple of ``nd`` ints."""
    items = value if isinstance(value, (tuple, list)) else (value,) * nd
    try:
        if isinstance(value, bool) or any(isinstance(v, bool) for v in items):
            raise TypeError
        out = tuple(operator.index(v) for v in items)
    except TypeError:
        raise TypeError(
            f"{op}: {name} must be an int or a tuple of {nd} ints, got {value!r}"
        ) from None
    if len(out) != nd:
        raise ValueError(f"{op}: {name} must have {nd} entries, got {value!r}")
    if any(v < minimum for v in out):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be {what}, got {value!r}")
    return out


_LAYOUT = {1: "(N, C, L)", 2: "(N, C, H, W)"}
_KLAYOUT = {1: "kL", 2: "kH, kW"}


def _check_input(op, x, nd):
    if x.ndim != nd + 2:
        raise ValueError(
            f"{op}: input must be {nd + 2}-D {_LAYOUT[nd]}, got shape {tuple(x.shape)}"
        )
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {x.dtype}")


def _check_weight(op, x, w, b, nd, groups, transposed):
    """Validate weight and bias against the input."""
    if groups is True or groups is False or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    io = "in_channels, out_channels/groups" if transposed else "out_channels, in_channels/groups"
    if w.ndim != nd + 2:
        raise ValueError(
            f"{op}: weight must be {nd + 2}-D ({io}, {_KLAYOUT[nd]}), got shape {tuple(w.shape)}"
        )
    if w.dtype != x.dtype:
        raise TypeError(f"{op}: input dtype {x.dtype} and weight dtype {w.dtype} differ")
    c = x.shape[1]
    if c % groups:
        raise ValueError(f"{op}: groups={groups} does not divide in_channels={c}")
    if transposed:
        if w.shape[0] != c:
            raise ValueError(
                f"{op}: input has {c} channels but weight expects {w.shape[0]} (input shape "
                f"{tuple(x.shape)}, weight shape {tuple(w.shape)})"
            )
        out = w.shape[1] * groups
    else:
        out = w.shape[0]
        if out % groups:
            raise ValueError(f"{op}: groups={groups} does not divide out_channels={out}")
        if w.shape[1] * groups != c:
            raise ValueError(
                f"{op}: input has {c} channels but weight expects {w.shape[1] * groups} = "
                f"groups {groups} x {w.shape[1]} (input shape {tuple(x.shape)}, weight shape "
                f"{tuple(w.shape)})"
            )
    if b is not None:
        if b.shape != (out,):
            raise ValueError(f"{op}: bias must have shape ({out},), got {tuple(b.shape)}")
        if b.dtype != x.dtype:
            raise TypeError(f"{op}: input dtype {x.dtype} and bias dtype {b.dtype} differ")


def _conv_padding(op, padding, ksize, stride, dilation, nd):
    """Padding as ((before, after), ...) per axis; "same" puts an odd extra one after (PyTorch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
            total = [d * (k - 1) for k, d in zip(ksize, dilation)]
            return tuple((t // 2, t - t // 2) for t in total)
        raise ValueError(
            f"{op}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}"
        )
    return tuple((p, p) for p in _ints(op, "padding", padding, nd, 0))


def _convolve(op, nd, x, weight, bias, stride, padding, dilation, groups):
    _check_input(op, x, nd)
    _check_weight(op, x, weight, bias, nd, groups, transposed=False)
    stride = _ints(op, "stride", stride, nd, 1)
    dilation = _ints(op, "dilation", dilation, nd, 1)
    ksize = tuple(weight.shape[2:])
    pads = _conv_padding(op, padding, ksize, stride, dilation, nd)
    for a in range(nd):
        span = dilation[a] * (ksize[a] - 1) + 1
        padded = x.shape[2 + a] + sum(pads[a])
        if span > padded:
            raise ValueError(
                f"{op}: kernel size {ksize} (dilation {dilation}) spans {span} but the padded "
                f"input is only {padded} wide on spatial axis {a} (input shape "
                f"{tuple(x.shape)}, padding {padding!r})"
            )
    pads = ((0, 0),) * (2 - nd) + pads
    geom = _Geom(_size2d(stride, nd), pads, _size2d(dilation, nd), groups, nd)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvNd.apply(*inputs, geom=geom, out_size=None)


def _transpose_convolve(op, nd, x, weight, bias, stride, padding, output_padding, groups, dilation):
    _check_input(op, x, nd)
    _check_weight(op, x, weight, bias, nd, groups, transposed=True)
    stride = _ints(op, "stride", stride, nd, 1)
    dilation = _ints(op, "dilation", dilation, nd, 1)
    pad = _ints(op, "padding", padding, nd, 0)
    extra = _ints(op, "output_padding", output_padding, nd, 0)
    ksize = tuple(weight.shape[2:])
    size = []
    for a in range(nd):
        if extra[a] >= max(stride[a], dilation[a]):
            raise ValueError(
                f"{op}: output_padding {output_padding!r} must be smaller than stride {stride} or "
                f"dilation {dilation} on every axis"
            )
        n = (x.shape[2 + a] - 1) * stride[a] - 2 * pad[a] + dilation[a] * (ksize[a] - 1)
        n += extra[a] + 1
        if n < 1:
            raise ValueError(
                f"{op}: the output would be {n} wide on spatial axis {a} (input shape "
                f"{tuple(x.shape)}, kernel {ksize}, stride {stride}, padding {padding!r})"
            )
        size.append(n)
    pads = ((0, 0),) * (2 - nd) + tuple((p, p) for p in pad)
    geom = _Geom(_size2d(stride, nd), pads, _size2d(dilation, nd), groups, nd)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvTransposeNd.apply(*inputs, geom=geom, size=tuple(size))


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
