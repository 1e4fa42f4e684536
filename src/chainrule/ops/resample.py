"""Resampling: ``interpolate`` (nearest, linear and bicubic modes), ``pixel_shuffle``/
``pixel_unshuffle`` and ``channel_shuffle``, PyTorch's functions with PyTorch's source-index rules.

None needs a gradient rule of its own. Nearest-neighbour resampling picks entries by index
(``getitem``, whose gradient adds up the copies); linear resampling, one axis at a time, is a
weighted sum of two such picks, bicubic of four; the pixel shuffles are a reshape and a
permutation. So all of them differentiate to any order.
"""

from __future__ import annotations

import math
import numbers
import operator

from ..autograd.tensor import Tensor
from ..backend import get_array_module, numpy
from ._unbatched import input_shape
from .adaptive_pool import adaptive_avg_pool1d, adaptive_avg_pool2d
from .cast import cast
from .methods import clone
from .resample_aa import antialiased_resize
from .shape import getitem, permute, reshape
from .volume_pool import adaptive_avg_pool3d

__all__ = ["channel_shuffle", "interpolate", "native_channel_shuffle", "pixel_shuffle",
           "pixel_unshuffle"]

_LINEAR_MODES = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}  # mode -> input ndim
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "bicubic", "area",
          "lanczos")
_CUBIC_A = -0.75  # PyTorch's (and OpenCV's) bicubic convolution coefficient


def _along(x, axis, idx):
    return getitem(x, (slice(None),) * axis + (Tensor(idx),))


def _sizes_and_scales(x, size, scale_factor, recompute_scale_factor, n):
    """The output sizes of the ``n`` spatial axes, and the scales PyTorch hands its kernels."""
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor, got "
                         f"size={size!r}, scale_factor={scale_factor!r}")
    spatial = tuple(x.shape[2:])
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * n
        if len(sizes) != n or any(isinstance(s, bool) or not _is_index(s) or operator.index(s)
                                  <= 0 for s in sizes):
            raise ValueError(f"interpolate: size must be a positive int or {n} positive ints for "
                             f"input of shape {tuple(x.shape)}, got {size!r}")
        sizes = tuple(operator.index(s) for s in sizes)  # 0-d int tensors too, as PyTorch's
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor=True needs scale_factor, not "
                             f"size (got size={size!r})")
        return tuple(int(s) for s in sizes), (None,) * n
    scales = (tuple(scale_factor) if isinstance(scale_factor, (tuple, list))
              else (scale_factor,) * n)
    if len(scales) != n or any(isinstance(s, bool) or not isinstance(s, numbers.Real)
                               or not s > 0 or math.isinf(s) for s in scales):
        raise ValueError(f"interpolate: scale_factor must be a positive number or {n} positive "
                         f"numbers for input of shape {tuple(x.shape)}, got {scale_factor!r}")
    sizes = tuple(math.floor(float(d) * float(s)) for d, s in zip(spatial, scales))
    if any(s <= 0 for s in sizes):
        raise ValueError(f"interpolate: scale_factor {scale_factor!r} shrinks spatial shape "
                         f"{spatial} to {sizes}; every output size must be positive")
    return sizes, ((None,) * n if recompute_scale_factor else tuple(float(s) for s in scales))


def _is_index(s):
    """Whether ``s`` is an integer: a Python or NumPy int, or an integer tensor of one element."""
    try:
        operator.index(s)
    except (TypeError, ValueError):
        return False
    return True


def _nearest(x, axis, out, scale, exact):
    xp = get_array_module(x._data)
    n = x.shape[axis]
    dst = xp.arange(out)
    # PyTorch's 2-D kernel (not its 1-D one) copies a kept axis and maps a doubled one by i // 2,
    # whatever the scale_factor that led to it.
    if not exact and x.ndim == 4 and out == n:
        return x
    if not exact and x.ndim == 4 and out == 2 * n:
        return _along(x, axis, dst >> 1)
    # PyTorch's kernels (1-D and 2-D) compute the positions in the input's precision (float32
    # for half types) and round them to float32 before the floor (a float64 input's
    # 41 * (4 / 164) is 1 there, where float32 arithmetic gives 0.99999994)
    f32 = xp.float32
    kind = xp.float64 if x._data.dtype == xp.float64 else f32
    step = kind(1.0 / scale) if scale is not None else kind(n) / kind(out)
    if not exact:
        pos = dst.astype(kind) * step
    elif kind is f32:  # (i + 0.5) * step - 0.5 fused (exact in float64), then + 0.5
        pos = ((dst + 0.5) * float(step) - 0.5).astype(f32) + f32(0.5)
    else:
        pos = (dst.astype(kind) + kind(0.5)) * step - kind(0.5) + kind(0.5)
    pos = pos.astype(f32)
    idx = xp.minimum(xp.floor(pos).astype(xp.int64), n - 1)
    return _along(x, axis, idx)


def _linear(x, axis, out, scale, align_corners):
    xp = get_array_module(x._data)
    kind = x._data.dtype.type
    n = x.shape[axis]
    if out == n:  # PyTorch copies an axis whose size does not change, whatever the scale_factor
        return x
    dst = xp.arange(out).astype(kind)
    if align_corners:
        step = kind(n - 1) / kind(out - 1) if out > 1 else kind(0)
        pos = dst * step
    else:
        step = kind(1.0 / scale) if scale is not None else kind(n) / kind(out)
        pos = xp.maximum(step * (dst + kind(0.5)) - kind(0.5), kind(0))
    i0 = pos.astype(xp.int64)
    lam = xp.clip(pos - i0.astype(kind), 0, 1).astype(kind)
    i1 = i0 + (i0 < n - 1)
    shape = (out,) + (1,) * (x.ndim - axis - 1)
    w0 = Tensor((1 - lam).reshape(shape))
    w1 = Tensor(lam.reshape(shape))
    return _along(x, axis, i0) * w0 + _along(x, axis, i1) * w1


def _cubic(x, axis, out, scale, align_corners):
    """PyTorch's bicubic rule along one axis: the source position (not clamped at 0), its
    floor (taken in float32, as PyTorch's floorf) and the four taps around it, edge indices
    repeated, weighted by the cubic convolution kernel with A = -0.75."""
    xp = get_array_module(x._data)
    kind = x._data.dtype.type
    n = x.shape[axis]
    dst = xp.arange(out).astype(kind)
    if align_corners:
        pos = dst * (kind(n - 1) / kind(out - 1) if out > 1 else kind(0))
    else:
        step = kind(1.0 / scale) if scale is not None else kind(n) / kind(out)
        pos = step * (dst + kind(0.5)) - kind(0.5)
    i0 = xp.minimum(xp.floor(pos.astype(xp.float32)).astype(xp.int64), n - 1)
    t = xp.clip(pos - i0.astype(kind), 0, 1).astype(kind)
    a = kind(_CUBIC_A)

    def near(v):  # |v| <= 1
        return ((a + 2) * v - (a + 3)) * v * v + 1

    def far(v):  # 1 < |v| < 2
        return ((a * v - 5 * a) * v + 8 * a) * v - 4 * a

    shape = (out,) + (1,) * (x.ndim - axis - 1)
    y = None
    for k, w in enumerate((far(t + 1), near(t), near(1 - t), far(2 - t))):
        term = _along(x, axis, xp.clip(i0 - 1 + k, 0, n - 1)) * Tensor(w.reshape(shape))
        y = term if y is None else y + term
    return y


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest",  # noqa: A002
                align_corners=None, recompute_scale_factor=None, antialias: bool = False) -> Tensor:
    """PyTorch's ``F.interpolate``: resize the spatial axes of (N, C, L), (N, C, H, W) or
    (N, C, D, H, W) input.

    Args:
        input: a float Tensor, 3-D (N, C, L), 4-D (N, C, H, W) or 5-D (N, C, D, H, W).
        size: the output's spatial size (an int or one per spatial axis), or
        scale_factor: a multiplier (a number or one per spatial axis); output size is
            ``floor(in * scale_factor)``, and the kernel uses ``1 / scale_factor`` as its step
            unless ``recompute_scale_factor=True`` (then ``in / out``), as in PyTorch.
        mode: "nearest" (PyTorch's default and its index rule), "nearest-exact", "linear" (3-D
            input), "bilinear" or "bicubic" (4-D input; bicubic may overshoot the input's range,
            as PyTorch's), "trilinear" (5-D input), "area" (adaptive average pooling) or
            "lanczos" (4-D input, with ``antialias=True`` only: PIL's Lanczos-3 filter).
        align_corners: for the linear and bicubic modes only: True maps the corner pixels'
            centres onto each other; False (the default) maps their outer edges.
        antialias: for "bilinear", "bicubic" and "lanczos" with 4-D input: when shrinking, the
            filter is widened by the scale so every input pixel counts, as PyTorch's (and PIL's)
            resize; the bicubic filter is then a = -0.5's (see ``resample_aa.py``).
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: input must be a Tensor, got {type(input).__name__}")
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; chainrule has "
                                  f"{', '.join(repr(m) for m in _MODES)}")
    if input.ndim not in (3, 4, 5):
        raise ValueError(f"interpolate: input must be 3-D (N, C, L), 4-D (N, C, H, W) or 5-D "
                         f"(N, C, D, H, W), got shape {tuple(input.shape)}")
    if input._data.dtype.kind != "f" and not (
            input._data.dtype.name == "uint8" and mode in ("nearest", "nearest-exact")):
        raise TypeError(f"interpolate: input must have a floating-point dtype (or uint8 with "
                        f"modes 'nearest' and 'nearest-exact'), got {input._data.dtype}")
    if mode in _LINEAR_MODES and input.ndim != _LINEAR_MODES[mode]:
        raise ValueError(f"interpolate: mode {mode!r} needs {_LINEAR_MODES[mode]}-D input, got "
                         f"shape {tuple(input.shape)}")
    if mode == "lanczos":
        _check_lanczos(input, align_corners, antialias)
    elif mode not in _LINEAR_MODES and align_corners is not None:
        raise ValueError(f"interpolate: align_corners is for modes 'linear', 'bilinear', "
                         f"'trilinear' and 'bicubic' only, got align_corners={align_corners!r} "
                         f"with mode {mode!r}")
    if antialias and (mode not in ("bilinear", "bicubic", "lanczos") or input.ndim != 4):
        raise ValueError(f"interpolate: antialias=True is for modes 'bilinear', 'bicubic' and "
                         f"'lanczos' with 4-D input (N, C, H, W), got mode {mode!r} and shape "
                         f"{tuple(input.shape)}")
    if input._data.dtype == numpy.float16 and (mode in _LINEAR_MODES or mode == "lanczos"):
        # PyTorch takes a float16 resize's positions, weights and sums in float32, rounding the
        # result once; float16 weights and a rounded first pass were several units off
        y = interpolate(cast(input, numpy.float32), size, scale_factor, mode, align_corners,
                        recompute_scale_factor, antialias)
        return cast(y, numpy.float16)
    n = input.ndim - 2
    sizes, scales = _sizes_and_scales(input, size, scale_factor, recompute_scale_factor, n)
    if antialias:
        return antialiased_resize(input, sizes, scales, mode, bool(align_corners))
    if mode == "area":  # PyTorch's "area" is adaptive average pooling to the output size
        pool = (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[n - 1]
        return pool(input, sizes[0] if n == 1 else sizes)
    y = input
    # The last axis first: PyTorch's bilinear kernel nests the width sum inside the height sum.
    for k in reversed(range(n)):
        axis = 2 + k
        if mode == "bicubic":
            y = _cubic(y, axis, sizes[k], scales[k], bool(align_corners))
        elif mode in _LINEAR_MODES:
            y = _linear(y, axis, sizes[k], scales[k], bool(align_corners))
        else:
            y = _nearest(y, axis, sizes[k], scales[k], mode == "nearest-exact")
    return _fresh(y, input)


def _check_lanczos(x, align_corners, antialias):
    """PyTorch's terms for mode "lanczos": 4-D input, ``antialias=True``, corners not aligned."""
    if x.ndim != 4:
        raise ValueError(f"interpolate: mode 'lanczos' needs 4-D input (N, C, H, W), got shape "
                         f"{tuple(x.shape)}")
    if align_corners:
        raise ValueError(f"interpolate: mode 'lanczos' does not support align_corners=True, got "
                         f"align_corners={align_corners!r}")
    if not antialias:
        raise ValueError("interpolate: mode 'lanczos' requires antialias=True, got "
                         f"antialias={antialias!r}")


def _fresh(y, x):
    """``y``, or a copy of it where it is ``x`` or shares ``x``'s memory: PyTorch's shuffles and
    resizes return new memory, while a reshape (a shuffle by 1, of 1 x 1 pixels) or an axis left
    as it is gives ``x``'s own, which a later in-place change of either would change in both."""
    if y is x or get_array_module(x._data).may_share_memory(y._data, x._data):
        return clone(y)
    return y


def _factor(op, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")
    return int(value)


def pixel_shuffle(input, upscale_factor: int) -> Tensor:  # noqa: A002 - torch's name
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r): each group of r * r channels becomes an r x r
    block of pixels, as PyTorch's ``F.pixel_shuffle``."""
    r = _factor("pixel_shuffle", "upscale_factor", upscale_factor)
    if len(input_shape("pixel_shuffle", input)) < 3 or input.shape[-3] % (r * r):
        raise ValueError(f"pixel_shuffle: input must be (*, C * {r * r}, H, W) for "
                         f"upscale_factor={r}, got shape {tuple(input.shape)}")
    *lead, c, h, w = input.shape
    y = reshape(input, (*lead, c // (r * r), r, r, h, w))
    k = len(lead)
    y = permute(y, (*range(k), k, k + 3, k + 1, k + 4, k + 2))
    return _fresh(reshape(y, (*lead, c // (r * r), h * r, w * r)), input)


def pixel_unshuffle(input, downscale_factor: int) -> Tensor:  # noqa: A002 - torch's name
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W): the inverse of ``pixel_shuffle``."""
    r = _factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    if len(input_shape("pixel_unshuffle", input)) < 3 or input.shape[-2] % r or input.shape[-1] % r:
        raise ValueError(f"pixel_unshuffle: input must be (*, C, H * {r}, W * {r}) for "
                         f"downscale_factor={r}, got shape {tuple(input.shape)}")
    *lead, c, h, w = input.shape
    y = reshape(input, (*lead, c, h // r, r, w // r, r))
    k = len(lead)
    y = permute(y, (*range(k), k, k + 2, k + 4, k + 1, k + 3))
    return _fresh(reshape(y, (*lead, c * r * r, h // r, w // r)), input)


def channel_shuffle(input, groups: int) -> Tensor:  # noqa: A002 - torch's name
    """(N, C, *) with the channels regrouped: C = g * k is read as (g, k) and laid out as (k, g),
    as PyTorch's ``F.channel_shuffle`` (ShuffleNet)."""
    g = _factor("channel_shuffle", "groups", groups)
    if len(input_shape("channel_shuffle", input)) < 3 or input.shape[1] % g:
        raise ValueError(f"channel_shuffle: input must be (N, C, *) with at least 3 axes and C "
                         f"divisible by groups={g}, got shape {tuple(input.shape)}")
    n, c, *rest = input.shape
    y = permute(reshape(input, (n, g, c // g, *rest)), (0, 2, 1, *range(3, 3 + len(rest))))
    return _fresh(reshape(y, tuple(input.shape)), input)


def native_channel_shuffle(input, groups: int) -> Tensor:  # noqa: A002 - torch's name
    """``channel_shuffle`` (PyTorch's name for its kernel without a CPU fast path)."""
    return channel_shuffle(input, groups)
