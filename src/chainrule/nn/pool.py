"""Pooling layers: max, min (the lecture's) and average pooling over windows, and adaptive pooling.

Arguments follow PyTorch, in its order (``stride`` defaults to ``kernel_size``; ``ceil_mode``
rounds output sizes up). Pooling layers have no parameters.
"""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor
from ..ops import pool as P  # noqa: N812 - short alias for the op family
from ..ops import volume_pool as V  # noqa: N812 - the 3-D family
from ..ops._unbatched import either_layout
from ..ops._windows import no_stride, positive_int
from ..ops.pool import torch_defaults
from ._checks import check_input, int_tuple
from .module import Module

__all__ = [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "MaxPool1d",
    "MaxPool2d", "MaxPool3d", "MinPool1d", "MinPool2d",
]

_RANKS = {nd: (nd + 1, nd + 2) for nd in (1, 2, 3)}  # (C, *spatial) or (N, C, *spatial)


def _window(who, name, value, nd, minimum):
    """``int_tuple`` of a sliding window's setting; one int in a tuple or list serves every
    axis, as PyTorch's pools take it (``MaxPool2d((2,))``)."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = tuple(value) * nd
    return int_tuple(who, name, value, nd, minimum)


class _Pool(Module):
    """Sliding-window pooling: validates the window once and calls the class's op."""

    _nd = 0
    _op = None

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False):
        super().__init__()
        who, nd = type(self).__name__, self._nd
        torch_defaults(who, ceil_mode=ceil_mode)
        kernel = _window(who, "kernel_size", kernel_size, nd, 1)
        if not no_stride(stride):  # PyTorch's empty list is its default, as None
            _window(who, "stride", stride, nd, 1)
        pad = _window(who, "padding", padding, nd, 0)
        if any(2 * p > k for p, k in zip(pad, kernel, strict=True)):
            raise ValueError(
                f"{who}: padding {padding!r} must be at most half the kernel size {kernel_size!r}"
            )
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode

    def _check(self, x) -> None:
        shape = x._data.shape if isinstance(x, Tensor) else getattr(x, "shape", None)
        if shape is not None and len(shape) == self._nd + 2:
            return  # the usual case, settled before any argument is built
        check_input(type(self).__name__, x, _RANKS[self._nd], either_layout(self._nd))

    def forward(self, x):
        self._check(x)
        return type(self)._op(x, self.kernel_size, self.stride, self.padding,
                              ceil_mode=self.ceil_mode)

    def extra_repr(self) -> str:
        ceil = ", ceil_mode=True" if self.ceil_mode else ""
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}{ceil}"


class _MaxPool(_Pool):
    """PyTorch's signature: ``dilation`` spaces a window's elements; ``return_indices=True``
    makes the layer return (values, indices), as PyTorch's."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        torch_defaults(type(self).__name__, return_indices=return_indices)
        super().__init__(kernel_size, stride, padding, ceil_mode)
        _window(type(self).__name__, "dilation", dilation, self._nd, 1)
        self.dilation = dilation
        self.return_indices = return_indices

    def forward(self, x):
        self._check(x)
        if self.return_indices or self.dilation != 1:
            return type(self)._op(x, self.kernel_size, self.stride, self.padding, self.dilation,
                                  ceil_mode=self.ceil_mode, return_indices=self.return_indices)
        return type(self)._op(x, self.kernel_size, self.stride, self.padding,
                              ceil_mode=self.ceil_mode)

    def extra_repr(self) -> str:  # PyTorch's, every field shown
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class _AvgPool(_Pool):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        if not isinstance(count_include_pad, bool):
            raise TypeError(
                f"{type(self).__name__}: count_include_pad must be a bool, "
                f"got {count_include_pad!r}"
            )
        if divisor_override is not None and positive_int(divisor_override) is None:
            raise ValueError(f"{type(self).__name__}: divisor_override must be a positive int or "
                             f"None, got {divisor_override!r}")
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x):
        self._check(x)
        if self._nd == 1:  # avg_pool1d has no divisor_override (PyTorch's neither)
            return type(self)._op(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                  self.count_include_pad)
        return type(self)._op(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                              self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:  # PyTorch's: these three only
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptivePool(Module):
    """Pooling to a fixed output size whatever the input size (e.g. 1 for global pooling)."""

    _nd = 0
    _op = None

    def __init__(self, output_size):
        super().__init__()
        who, nd = type(self).__name__, self._nd
        sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * nd
        ok = len(sizes) == nd and all(
            s is None or (isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1)
            for s in sizes
        )
        if not ok:
            raise ValueError(
                f"{who}: output_size must be a positive int or a tuple of {nd} positive ints (None "
                f"keeps that input size), got {output_size!r}"
            )
        self.output_size = output_size

    def forward(self, x):
        check_input(type(self).__name__, x, _RANKS[self._nd], either_layout(self._nd))
        return type(self)._op(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _AdaptiveMaxPool(_AdaptivePool):
    def __init__(self, output_size, return_indices: bool = False):
        super().__init__(output_size)
        if not isinstance(return_indices, bool):
            raise TypeError(f"{type(self).__name__}: return_indices must be a bool, got "
                            f"{return_indices!r}")
        self.return_indices = return_indices

    def forward(self, x):
        check_input(type(self).__name__, x, _RANKS[self._nd], either_layout(self._nd))
        return type(self)._op(x, self.output_size, self.return_indices)


class MaxPool1d(_MaxPool):
    """Max over sliding windows of (N, C, L) sequences (-inf padding); stride defaults to kernel."""

    _nd = 1
    _op = staticmethod(P.max_pool1d)


class MaxPool2d(_MaxPool):
    """Max over sliding windows of (N, C, H, W) images; stride defaults to kernel_size.

    Args:
        kernel_size: window size, an int or (kh, kw).
        stride: step between windows (default: ``kernel_size``).
        padding: -inf border, at most half the kernel.
        dilation: the spacing of a window's elements (PyTorch's).
        return_indices: return (values, indices), the indices for MaxUnpool2d.
        ceil_mode: round the output sizes up.

    Shape:
        (N, C, H, W) -> (N, C, H_out, W_out), H_out = (H + 2 * padding - kh) // stride + 1.

    >>> MaxPool2d(2)
    MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    """

    _nd = 2
    _op = staticmethod(P.max_pool2d)


class MinPool1d(_Pool):
    """Min over sliding windows of (N, C, L) sequences (+inf padding)."""

    _nd = 1
    _op = staticmethod(P.min_pool1d)


class MinPool2d(_Pool):
    """Min pooling (the lecture's) over windows of (N, C, H, W); arguments as MaxPool2d."""

    _nd = 2
    _op = staticmethod(P.min_pool2d)


class AvgPool1d(_AvgPool):
    """Mean over sliding windows of (N, C, L) sequences (zero padding).

    Args:
        kernel_size, stride, padding: as for MaxPool1d.
        count_include_pad: divide by the kernel size (True) or by the non-padding count.
    """

    _nd = 1
    _op = staticmethod(P.avg_pool1d)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad: bool = True):  # PyTorch's: no divisor_override
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        # PyTorch's AvgPool1d keeps 1-tuples (``kernel_size=(3,)`` in its repr)
        self.kernel_size, self.stride, self.padding = (
            tuple(v) if isinstance(v, (tuple, list)) else (v,)
            for v in (self.kernel_size, self.stride, self.padding))


class AvgPool2d(_AvgPool):
    """Mean over sliding windows of (N, C, H, W) images (zero padding).

    Args:
        kernel_size, stride, padding: as for MaxPool2d.
        count_include_pad: divide by kh * kw (True) or by the non-padding count.
    """

    _nd = 2
    _op = staticmethod(P.avg_pool2d)


class AdaptiveAvgPool1d(_AdaptivePool):
    """Average (N, C, L) down to (N, C, output_size) over PyTorch's adaptive windows."""

    _nd = 1
    _op = staticmethod(P.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptivePool):
    """Average (N, C, H, W) down to (N, C, *output_size); output_size 1 is global average pooling.

    Args:
        output_size: an int or (h, w); None in the tuple keeps that input size.
    """

    _nd = 2
    _op = staticmethod(P.adaptive_avg_pool2d)


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Max of (N, C, L) over ``output_size`` adaptive windows."""

    _nd = 1
    _op = staticmethod(P.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Max of (N, C, H, W) over adaptive windows -> (N, C, *output_size)."""

    _nd = 2
    _op = staticmethod(P.adaptive_max_pool2d)


class MaxPool3d(_MaxPool):
    """Max over sliding windows of (N, C, D, H, W) volumes; arguments as MaxPool2d, with
    (kd, kh, kw) windows."""

    _nd = 3
    _op = staticmethod(V.max_pool3d)


class AvgPool3d(_AvgPool):
    """Mean over sliding windows of (N, C, D, H, W) volumes; arguments as AvgPool2d."""

    _nd = 3
    _op = staticmethod(V.avg_pool3d)


class AdaptiveAvgPool3d(_AdaptivePool):
    """Average (N, C, D, H, W) down to (N, C, *output_size); output_size an int or (d, h, w)."""

    _nd = 3
    _op = staticmethod(V.adaptive_avg_pool3d)


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    """Max of (N, C, D, H, W) over adaptive windows -> (N, C, *output_size)."""

    _nd = 3
    _op = staticmethod(V.adaptive_max_pool3d)
