"""Convolution layers: Conv1d, Conv2d, Conv3d and their transposes, with PyTorch's arguments and
layouts.

Weights are (out_channels, in_channels / groups, *kernel) for a convolution and (in_channels,
out_channels / groups, *kernel) for a transposed one, exactly as in PyTorch, so state dicts move
between the two libraries unchanged. Both are initialized as PyTorch does:
kaiming_uniform_(a=sqrt(5)) for the weight and U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias.
"""

from __future__ import annotations

import math
import operator

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops._unbatched import either_layout
from ..ops.conv import (
    conv1d,
    conv1d_relu,
    conv2d,
    conv2d_relu,
    conv_transpose1d,
    conv_transpose1d_relu,
    conv_transpose2d,
    conv_transpose2d_relu,
)
from ..ops.join import pad
from ..ops.volumetric import conv3d, conv_transpose3d
from . import init
from ._checks import (
    check_input,
    float_dtype,
    int_tuple,
    positive_int,
    reset_with,
    resolve_rng,
)
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

class _ConvNd(Module):
    """What convolutions and transposed convolutions share: checks, parameters, init and repr.
    PyTorch's constructor arguments and order, for layers subclassing it directly (a Gabor
    convolution): their settings are then tuples (``_pair``'s), whose length gives nd."""

    _nd = 0
    _transposed = False
    transposed = False  # PyTorch's attribute
    padding_mode = "zeros"
    _complex = False  # whether a complex dtype is allowed (its op computes complex values)

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode="zeros", *, rng=None,
                 dtype=None):
        super().__init__()
        who = type(self).__name__
        if not self._nd:  # a subclass of _ConvNd itself, as in PyTorch: tuples of nd entries
            if not isinstance(kernel_size, (tuple, list)) or not kernel_size:
                raise TypeError(f"{who}: kernel_size must be a tuple of ints (one per spatial "
                                f"axis, as PyTorch's _ConvNd takes it), got {kernel_size!r}")
            self._nd = len(kernel_size)
        nd = self._nd
        if transposed is not self.transposed:
            self.transposed = bool(transposed)
        self.in_channels = positive_int(who, "in_channels", in_channels)
        self.out_channels = positive_int(who, "out_channels", out_channels)
        self.groups = positive_int(who, "groups", groups)
        for name, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if n % groups:
                raise ValueError(f"{who}: {name}={n} must be divisible by groups={groups}")
        self.kernel_size = int_tuple(who, "kernel_size", kernel_size, nd, 1)
        self.stride = int_tuple(who, "stride", stride, nd, 1)
        self.dilation = int_tuple(who, "dilation", dilation, nd, 1)
        self.padding = self._check_padding(padding)
        self._reversed_padding_repeated_twice = _reversed_padding(
            self.padding, self.kernel_size, self.dilation)
        self.output_padding = int_tuple(who, "output_padding", output_padding, nd, 0)
        for op, s, d in zip(self.output_padding, self.stride, self.dilation, strict=True):
            if op >= max(s, d):
                raise ValueError(
                    f"{who}: output_padding {self.output_padding} must be smaller than stride "
                    f"{self.stride} or dilation {self.dilation} on every axis"
                )
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"{who}: padding_mode must be 'zeros', 'reflect', 'replicate' or "
                             f"'circular', got {padding_mode!r}")
        if padding_mode != "zeros":
            self.padding_mode = padding_mode
        dt = float_dtype(dtype, who, complex_ok=self._complex)
        xp = get_array_module()
        pair = (in_channels, out_channels // groups) if self.transposed else (
            out_channels, in_channels // groups)
        self.weight = Parameter(xp.empty(pair + self.kernel_size, dtype=dt))
        if bias:
            self.bias = Parameter(xp.empty((out_channels,), dtype=dt))
        else:
            self.register_parameter("bias", None)
        reset_with(self, resolve_rng(rng, who))

    def _check_padding(self, padding):
        who = type(self).__name__
        if isinstance(padding, str) and not self.transposed:
            if padding not in ("same", "valid"):
                raise ValueError(f"{who}: padding must be an int, a tuple, 'same' or 'valid', "
                                 f"got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{who}: padding='same' needs stride 1, got stride {self.stride}")
            return padding
        return int_tuple(who, "padding", padding, self._nd, 0)

    def reset_parameters(self, *, rng=None) -> None:
        """Draw fresh weights with PyTorch's default initialization (``rng`` None: the default
        generator, as ``chainrule.manual_seed`` seeds it)."""
        rng = resolve_rng(rng, type(self).__name__)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound, rng=rng)

    def _check(self, x) -> None:
        shape = x._data.shape if isinstance(x, Tensor) else getattr(x, "shape", None)
        if shape is not None and len(shape) == self._nd + 2 and shape[1] == self.in_channels:
            return  # the usual case, checked before any message is formatted (batch 1 feels it)
        who, nd = type(self).__name__, self._nd
        check_input(who, x, (nd + 1, nd + 2), either_layout(nd))  # the ops take (C, *spatial)
        # the weight's channels: a weight replaced by hand (an RGB stem summed into a grayscale
        # one) rules, as PyTorch's
        w = self.weight.shape
        channels = w[0] if self.transposed else w[1] * self.groups
        if x.shape[-nd - 1] != channels:
            layout = either_layout(nd).replace("C", str(channels))
            raise ValueError(f"{who}: expected input with {channels} channels, shape "
                             f"{layout}, got shape {tuple(x.shape)}")

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"  # PyTorch's, unquoted
        return s


def _reversed_padding(padding, kernel_size, dilation):
    """PyTorch's ``_reversed_padding_repeated_twice``, F.pad's form of the padding that subclasses
    read: last axis first, (before, after) each; "same" puts the odd one of d (k - 1) after."""
    if not isinstance(padding, str):
        return tuple(p for p in reversed(padding) for _ in range(2))
    pads = [0, 0] * len(kernel_size)
    if padding == "same":
        for i, (d, k) in enumerate(zip(reversed(dilation), reversed(kernel_size))):
            total = d * (k - 1)
            pads[2 * i], pads[2 * i + 1] = total // 2, total - total // 2
    return pads


_PAD_MODES = {"zeros": None, "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


class _Conv(_ConvNd):
    """``padding_mode`` (PyTorch's): "zeros", or "reflect" / "replicate" / "circular", which pad
    the input with ``F.pad`` first and convolve without padding, as PyTorch does."""

    _op = _op_relu = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros", *,
                 rng=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, False,
                         0, groups, bias, padding_mode, rng=rng, dtype=dtype)

    def _padded(self, x):
        """``x`` and the padding left for the op: "reflect" / "replicate" / "circular" pad here,
        then 0."""
        if self.padding == "valid":
            return x, self.padding
        if self.padding == "same":  # PyTorch's split: the odd one of d (k - 1) on the right
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            pads = tuple((t // 2, t - t // 2) for t in totals)
        else:
            pads = tuple((p, p) for p in self.padding)
        pads = ((0, 0),) * (x.ndim - self._nd) + pads  # (N,) C: unpadded; N may be absent
        mode = self.padding_mode
        if mode in ("reflect", "circular"):  # PyTorch's limits (NumPy would reflect or wrap on)
            room = [n - (mode == "reflect") for n in x.shape[-self._nd:]]
            if any(max(lo, hi) > r for (lo, hi), r in zip(pads[-self._nd:], room)):
                most = "smaller than" if mode == "reflect" else "at most"
                raise ValueError(
                    f"{type(self).__name__}: padding_mode={mode!r} needs padding {most} the "
                    f"input on every spatial axis, got (before, after) padding "
                    f"{pads[-self._nd:]} for "
                    f"input shape {tuple(x.shape)}")
        return pad(x, pads, _PAD_MODES[mode]), 0

    def forward(self, x):
        self._check(x)
        p = self._parameters  # one dict instead of two trips through Module.__getattr__
        # nn.utils.weight_norm / spectral_norm make the weight a computed attribute
        w = p["weight"] if "weight" in p else self.weight
        b = p["bias"] if "bias" in p else self.bias  # nn.utils.prune may compute the bias too
        return self._conv_forward(x, w, b)

    def _conv_forward(self, input, weight, bias):  # noqa: A002 - PyTorch's names
        """PyTorch's: this layer's convolution (its padding mode too) of ``input`` with
        ``weight`` and ``bias``. ``forward`` calls it with the layer's parameters, so that a
        subclass may override it (a padding of its own) or call it with another weight (LoRA's
        ``weight + B @ A``)."""
        padding = self.padding
        if self.padding_mode != "zeros":
            input, padding = self._padded(input)  # noqa: A001
        return type(self)._op(input, weight, bias, self.stride, padding, self.dilation,
                              self.groups)

    def forward_relu(self, x):
        """``relu(self(x))`` in one op (``F.conv2d_relu``), what ``nn.fuse``'s layers run."""
        self._check(x)
        p = self._parameters
        padding = self.padding
        if self.padding_mode != "zeros":
            x, padding = self._padded(x)
        w = p["weight"] if "weight" in p else self.weight
        b = p["bias"] if "bias" in p else self.bias
        return type(self)._op_relu(x, w, b, self.stride, padding, self.dilation, self.groups)


class _ConvTranspose(_ConvNd):
    _op = _op_relu = None
    _transposed = transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", *, rng=None, dtype=None):
        if padding_mode != "zeros":  # as PyTorch's transposed convolutions
            raise ValueError(f"{type(self).__name__}: padding_mode must be 'zeros', got "
                             f"{padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, True,
                         output_padding, groups, bias, padding_mode, rng=rng, dtype=dtype)

    def forward(self, x, output_size=None):
        """``output_size`` (PyTorch's): the spatial size wanted (its last ``nd`` entries), one
        of the ``stride`` sizes that a convolution would map back to ``x``'s; it sets the
        output padding of this call instead of ``output_padding``."""
        self._check(x)
        extra = self.output_padding if output_size is None else self._output_padding(
            x, output_size, self.stride, self.padding, self.kernel_size, self._nd, self.dilation)
        return type(self)._op(x, self.weight, self.bias, self.stride, self.padding, extra,
                              self.groups, self.dilation)

    def _output_padding(self, x, output_size, stride=None, padding=None, kernel_size=None,
                        num_spatial_dims=None, dilation=None):
        """PyTorch's: the output padding that gives ``output_size`` (the layer's own
        ``output_padding`` for None; else a list). Subclasses' forwards call it with PyTorch's
        arguments (``stride, padding, kernel_size, num_spatial_dims, dilation``): those left out
        are the layer's own, but a dilation left out is 1, as in PyTorch."""
        if output_size is None:
            return self.output_padding
        who = type(self).__name__
        nd = self._nd if num_spatial_dims is None else operator.index(num_spatial_dims)
        stride, padding, kernel_size = (
            getattr(self, name) if v is None else tuple(v) for name, v in (
                ("stride", stride), ("padding", padding), ("kernel_size", kernel_size)))
        dilation = (1,) * nd if dilation is None else tuple(dilation)
        given = tuple(output_size) if isinstance(output_size, (tuple, list)) else None
        lead = "C" if x.ndim == nd + 1 else "N and C"  # PyTorch's: the input's leading axes
        if given is None or len(given) not in (nd, x.ndim) or not all(
                hasattr(v, "__index__") and not isinstance(v, bool) for v in given):
            raise ValueError(f"{who}: output_size must be {nd} ints (or {x.ndim} with {lead}) "
                             f"for input shape {tuple(x.shape)}, got {output_size!r}")
        given = tuple(operator.index(v) for v in given)
        extra = []
        for a, want in enumerate(given[len(given) - nd:]):
            low = ((x.shape[x.ndim - nd + a] - 1) * stride[a] - 2 * padding[a]
                   + dilation[a] * (kernel_size[a] - 1) + 1)
            if not low <= want < low + stride[a]:
                raise ValueError(f"{who}: output_size {tuple(given)} is not reachable from input "
                                 f"shape {tuple(x.shape)}: spatial axis {a} must lie in "
                                 f"[{low}, {low + stride[a] - 1}], got {want}")
            extra.append(want - low)
        return extra

    def forward_relu(self, x):
        """``relu(self(x))`` in one op (``F.conv_transpose2d_relu``), as ``nn.fuse`` runs it."""
        self._check(x)
        return type(self)._op_relu(x, self.weight, self.bias, self.stride, self.padding,
                                   self.output_padding, self.groups, self.dilation)


class Conv1d(_Conv):
    """1-D convolution over (N, C, L) sequences, as ``torch.nn.Conv1d``.

    Args:
        in_channels, out_channels: channels of the input and output.
        kernel_size, stride, dilation: an int or a 1-tuple.
        padding: an int, a 1-tuple, "valid" or "same" (stride 1 only).
        groups: split the channels into independent groups (both counts must divide by it).
        bias: learn an additive per-channel bias.
        rng: numpy Generator for the initial weights (None: the default generator).
        dtype: floating-point or complex dtype of the parameters.

    Shape:
        (N, in_channels, L) -> (N, out_channels, L_out); weight (out_channels,
        in_channels / groups, k).
    """

    _nd = 1
    _complex = True
    _op = staticmethod(conv1d)
    _op_relu = staticmethod(conv1d_relu)


class Conv2d(_Conv):
    """2-D convolution over (N, C, H, W) images, as ``torch.nn.Conv2d``.

    Args:
        in_channels, out_channels: channels of the input and output.
        kernel_size, stride, dilation: an int or an (h, w) tuple.
        padding: an int, an (h, w) tuple, "valid" or "same" (stride 1 only).
        groups: split the channels into independent groups (groups = in_channels is depthwise).
        bias: learn an additive per-channel bias.
        rng: numpy Generator for the initial weights (None: the default generator).
        dtype: floating-point or complex dtype of the parameters.

    Shape:
        (N, in_channels, H, W) -> (N, out_channels, H_out, W_out); weight (out_channels,
        in_channels / groups, kh, kw).

    >>> import numpy as np
    >>> from chainrule import nn
    >>> nn.Conv2d(1, 6, 5, rng=np.random.default_rng(0))
    Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
    """

    _nd = 2
    _complex = True
    _op = staticmethod(conv2d)
    _op_relu = staticmethod(conv2d_relu)


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution (the adjoint of Conv1d), as ``torch.nn.ConvTranspose1d``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias: as for the
            convolution this is the adjoint of (padding is an int or a 1-tuple).
        output_padding: extra length at the end (smaller than stride or dilation).
        rng, dtype: as for Conv1d.

    Shape:
        (N, in_channels, L) -> (N, out_channels, L_out), L_out = (L - 1) * stride - 2 * padding
        + dilation * (k - 1) + output_padding + 1; weight (in_channels, out_channels / groups, k).
    """

    _nd = 1
    _complex = True
    _op = staticmethod(conv_transpose1d)
    _op_relu = staticmethod(conv_transpose1d_relu)


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution (upsampling in decoders, GANs), as ``torch.nn.ConvTranspose2d``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias: as for the
            convolution this is the adjoint of (ints or (h, w) tuples).
        output_padding: extra rows/columns at the bottom/right (smaller than stride or dilation).
        rng, dtype: as for Conv2d.

    Shape:
        (N, in_channels, H, W) -> (N, out_channels, H_out, W_out), H_out = (H - 1) * stride
        - 2 * padding + dilation * (kh - 1) + output_padding + 1; weight (in_channels,
        out_channels / groups, kh, kw).
    """

    _nd = 2
    _complex = True
    _op = staticmethod(conv_transpose2d)
    _op_relu = staticmethod(conv_transpose2d_relu)


class Conv3d(_Conv):
    """3-D convolution over (N, C, D, H, W) volumes, as ``torch.nn.Conv3d``.

    Args:
        in_channels, out_channels, groups, bias, padding_mode, rng, dtype: as for Conv2d.
        kernel_size, stride, dilation: an int or a (d, h, w) tuple.
        padding: an int, a (d, h, w) tuple, "valid" or "same" (stride 1 only).

    Shape:
        (N, in_channels, D, H, W) -> (N, out_channels, D_out, H_out, W_out); weight
        (out_channels, in_channels / groups, kd, kh, kw).
    """

    _nd = 3
    _op = staticmethod(conv3d)


class ConvTranspose3d(_ConvTranspose):
    """3-D transposed convolution (the adjoint of Conv3d), as ``torch.nn.ConvTranspose3d``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias: as for the
            convolution this is the adjoint of (ints or (d, h, w) tuples).
        output_padding: extra planes at the end of each axis (smaller than stride or dilation).
        rng, dtype: as for Conv3d.

    Shape:
        (N, in_channels, D, H, W) -> (N, out_channels, D_out, H_out, W_out), D_out = (D - 1) *
        stride - 2 * padding + dilation * (kd - 1) + output_padding + 1 (likewise H, W); weight
        (in_channels, out_channels / groups, kd, kh, kw).
    """

    _nd = 3
    _op = staticmethod(conv_transpose3d)
