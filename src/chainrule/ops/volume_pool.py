"""Volumetric (3-D) pooling: max, average and their adaptive forms, composed from the 2-D pools.

A box window is the product of a window over (H, W) and one over D, and max, mean and their
divisors all factor over it: the max over a box is the max over depth of the per-plane maxima,
the mean (with or without the padding counted, in ``ceil_mode`` too) the mean over depth of the
per-plane means, each axis dividing by its own count. So a 3-D pool is a 2-D pool of the planes,
(N, C * D, H, W), then one over depth, (N, C, D, H_out * W_out) with (kD, 1) windows. The first
maximum in (d, h, w) order wins, as in PyTorch: the first in (h, w) within each plane, then the
first plane among equal maxima. Gradients come from the 2-D pools (both kernel modes).
"""

from __future__ import annotations

from ..autograd.tensor import Tensor
from ._pool_index import max_pool_indices
from ._unbatched import batch_optional
from ._windows import check_rank, pool_setup, positive_int
from ._windows import ints as _ints
from .adaptive_pool import adaptive_avg_pool2d, adaptive_max_pool2d
from .pool import avg_pool2d, max_pool2d, torch_defaults
from .pool_integer import integer_average
from .shape import reshape
from .unpool import dilated_max_pool

__all__ = ["adaptive_avg_pool3d", "adaptive_max_pool3d", "avg_pool3d", "max_pool3d"]


def _setup(op, x, kernel_size, stride, padding, floating, ceil_mode):
    """PyTorch's checks of a 3-D pool; returns (kernel, stride, padding) as 3-tuples."""
    a = x._data if isinstance(x, Tensor) else x
    geom = pool_setup(op, 3, floating, tuple(a.shape), a.dtype, ceil_mode, kernel_size, stride,
                      padding)
    return geom.kernel, geom.stride, geom.padding


def _separable(pool2d, x, kernel, stride, padding, **options):
    """``pool2d`` over each plane's (H, W), then over depth: the 3-D pool of ``x``."""
    n, c, d, h, w = x.shape
    planes = pool2d(reshape(x, (n, c * d, h, w)), kernel[1:], stride[1:], padding[1:], **options)
    h_out, w_out = planes.shape[2:]
    depth = pool2d(reshape(planes, (n, c, d, h_out * w_out)), (kernel[0], 1), (stride[0], 1),
                   (padding[0], 0), **options)
    return reshape(depth, (n, c, depth.shape[2], h_out, w_out))


@batch_optional(3)
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False, return_indices=False):
    """Max over sliding windows of a batch of volumes (N, C, D, H, W).

    Args:
        input: of shape (N, C, D, H, W).
        kernel_size: window size, an int or (kd, kh, kw).
        stride: step between windows (default: ``kernel_size``).
        padding: -inf border (at most half the kernel), an int or (pd, ph, pw).
        ceil_mode: round the output sizes up, as PyTorch's (a last window may be partial).
        return_indices: also return each window's winner as a flat index into its (D, H, W)
            volume (PyTorch's, what ``max_unpool3d`` takes).

    Returns:
        Tensor of shape (N, C, D_out, H_out, W_out), D_out = (D + 2 * padding - kd) // stride
        + 1 (likewise H, W); with ``return_indices`` also an int64 Tensor of that shape. The
        gradient goes to the first maximum of each window in (d, h, w) order. ``dilation``
        (PyTorch's) spaces a window's elements, through the winners' indices.
    """
    x = input  # taken by PyTorch's name, input=
    if dilation != 1 or ceil_mode is not False or return_indices is not False:
        torch_defaults("max_pool3d", ceil_mode=ceil_mode, return_indices=return_indices)
        if dilation != 1 and dilation != (1, 1, 1):  # windows with gaps
            y, idx = dilated_max_pool("max_pool3d", 3, x, kernel_size, stride, padding, dilation,
                                      ceil_mode)
            return (y, idx) if return_indices else y
    kernel, stride, padding = _setup("max_pool3d", x, kernel_size, stride, padding, False,
                                     ceil_mode)
    y = _separable(max_pool2d, x, kernel, stride, padding, ceil_mode=ceil_mode)
    if return_indices:
        return y, max_pool_indices(x, kernel, stride, padding, y.shape[2:])
    return y


@batch_optional(3)
def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """Mean over sliding windows of (N, C, D, H, W), as PyTorch's ``avg_pool3d``.

    Args:
        input: of shape (N, C, D, H, W).
        kernel_size, stride, padding, ceil_mode: as in ``max_pool3d`` (zero padding); a partial
            last window of ``ceil_mode`` divides by its part inside the padded input.
        count_include_pad: divide by kd * kh * kw (True) or by the non-padding elements.
        divisor_override: divide every window's sum by this int instead.

    Returns:
        Tensor of shape (N, C, D_out, H_out, W_out).
    """
    x = input  # taken by PyTorch's name, input=
    op = "avg_pool3d"
    if getattr(x._data if isinstance(x, Tensor) else x, "dtype", None) == "int64":
        return integer_average(op, 3, x, kernel_size, stride, padding, ceil_mode,
                               count_include_pad, divisor_override)  # PyTorch's, no gradient
    if ceil_mode is not False:
        torch_defaults(op, ceil_mode=ceil_mode)
    kernel, stride, padding = _setup(op, x, kernel_size, stride, padding, True, ceil_mode)
    options = {"ceil_mode": ceil_mode, "count_include_pad": bool(count_include_pad)}
    if divisor_override is None:
        return _separable(avg_pool2d, x, kernel, stride, padding, **options)
    if (divisor := positive_int(divisor_override)) is None:
        raise ValueError(f"{op}: divisor_override must be a positive int or None, got "
                         f"{divisor_override!r}")
    divisor_override = divisor
    n, c, d, h, w = x.shape  # window sums over the planes, then over depth divided as told
    planes = avg_pool2d(reshape(x, (n, c * d, h, w)), kernel[1:], stride[1:], padding[1:],
                        divisor_override=1, **options)
    h_out, w_out = planes.shape[2:]
    depth = avg_pool2d(reshape(planes, (n, c, d, h_out * w_out)), (kernel[0], 1), (stride[0], 1),
                       (padding[0], 0), divisor_override=divisor_override, **options)
    return reshape(depth, (n, c, depth.shape[2], h_out, w_out))


def _output_size(op, x, output_size, floating):
    shape = tuple(x.shape)
    check_rank(op, shape, x.dtype, 3, floating, nonempty=True)
    if isinstance(output_size, (tuple, list)) and len(output_size) == 3:
        output_size = tuple(shape[2 + a] if v is None else v for a, v in enumerate(output_size))
    return _ints(op, "output_size", output_size, 3, 1, spread=False)


@batch_optional(3)
def adaptive_avg_pool3d(input, output_size):  # noqa: A002
    """Average (N, C, D, H, W) down to (N, C, *output_size) over PyTorch's adaptive windows.

    Args:
        input: of shape (N, C, D, H, W).
        output_size: an int or (d, h, w); None in the tuple keeps that input size.

    Returns:
        Tensor of shape (N, C, d, h, w).
    """
    x = input  # taken by PyTorch's name, input=
    od, oh, ow = _output_size("adaptive_avg_pool3d", x, output_size, True)
    n, c, d, h, w = x.shape
    planes = adaptive_avg_pool2d(reshape(x, (n, c * d, h, w)), (oh, ow))
    depth = adaptive_avg_pool2d(reshape(planes, (n, c, d, oh * ow)), (od, oh * ow))
    return reshape(depth, (n, c, od, oh, ow))


@batch_optional(3)
def adaptive_max_pool3d(input, output_size, return_indices=False):  # noqa: A002
    """Max of (N, C, D, H, W) over adaptive windows -> (N, C, *output_size).

    Args:
        input: of shape (N, C, D, H, W).
        output_size: an int or (d, h, w); None keeps that input size.
        return_indices: also return the winners' flat indices into each (D, H, W) volume.

    Returns:
        Tensor of shape (N, C, d, h, w) (and the int64 indices); the gradient goes to the first
        maximum of each window.
    """
    x = input  # taken by PyTorch's name, input=
    out = _output_size("adaptive_max_pool3d", x, output_size, False)
    if not isinstance(return_indices, bool):
        raise TypeError(f"adaptive_max_pool3d: return_indices must be a bool, got "
                        f"{return_indices!r}")
    n, c, d, h, w = x.shape
    planes = adaptive_max_pool2d(reshape(x, (n, c * d, h, w)), out[1:])
    depth = adaptive_max_pool2d(reshape(planes, (n, c, d, out[1] * out[2])),
                                (out[0], out[1] * out[2]))
    y = reshape(depth, (n, c) + out)
    if return_indices:
        return y, max_pool_indices(x, None, None, None, out)
    return y

