"""ONNX's Resize (nearest and n-linear, with every coordinate mode but tf_crop_and_resize) and
Pad (constant, reflect, edge, wrap; negative pads crop)."""

from __future__ import annotations

import math

from .. import ops
from ..backend import get_array_module, numpy
from ._load_ops import ints, op, scalar

__all__: list[str] = []

_COORDINATES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                "asymmetric", "tf_half_pixel_for_nn")
_NEAREST = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def _resize_check(attrs, n_inputs, used, opset):
    mode = attrs.get("mode", "nearest")
    coordinates = attrs.get("coordinate_transformation_mode", "half_pixel")
    if mode not in ("nearest", "linear"):
        return f"Resize mode={mode!r}"
    if coordinates not in _COORDINATES:
        return f"Resize coordinate_transformation_mode={coordinates!r}"
    if attrs.get("nearest_mode", "round_prefer_floor") not in _NEAREST:
        return f"Resize nearest_mode={attrs['nearest_mode']!r}"
    if attrs.get("antialias", 0):
        return "Resize antialias=1"
    if attrs.get("keep_aspect_ratio_policy", "stretch") != "stretch":
        return f"Resize keep_aspect_ratio_policy={attrs['keep_aspect_ratio_policy']!r}"
    return None


def _source(mode, i, size, out, scale):
    """The input coordinate each output position ``i`` (an array) maps to."""
    if mode == "half_pixel":
        return (i + 0.5) / scale - 0.5
    if mode == "half_pixel_symmetric":
        shift = size / 2 * (1 - out / (scale * size))
        return shift + (i + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (i + 0.5) / scale - 0.5 if out > 1 else 0 * i
    if mode == "align_corners":
        return i * (size - 1) / (out - 1) if out > 1 else 0 * i
    if mode == "asymmetric":
        return i / scale
    return (i + 0.5) / scale  # tf_half_pixel_for_nn


def _round(x, mode):
    if mode == "floor":
        return numpy.floor(x)
    if mode == "ceil":
        return numpy.ceil(x)
    half = x - numpy.floor(x) == 0.5
    up = numpy.floor(x) + 1 if mode == "round_prefer_ceil" else numpy.floor(x)
    return numpy.where(half, up, numpy.floor(x + 0.5))


def _take(x, axis, index):
    xp = get_array_module(x._data)
    return x[(slice(None),) * axis + (xp.asarray(index),)]


def _resize_axis(x, axis, out, scale, attrs):
    size = x.shape[axis]
    coords = _source(attrs.get("coordinate_transformation_mode", "half_pixel"),
                     numpy.arange(out, dtype=numpy.float64), size, out, scale)
    if attrs.get("mode", "nearest") == "nearest":
        index = _round(coords, attrs.get("nearest_mode", "round_prefer_floor"))
        return _take(x, axis, numpy.clip(index, 0, size - 1).astype(numpy.int64))
    coords = numpy.clip(coords, 0, size - 1)
    low = numpy.floor(coords).astype(numpy.int64)
    high = numpy.minimum(low + 1, size - 1)
    shape = [1] * x.ndim
    shape[axis] = out
    xp = get_array_module(x._data)
    w = xp.asarray((coords - low).reshape(shape).astype(x._data.dtype))
    return _take(x, axis, low) * (1 - w) + _take(x, axis, high) * w


def _present(t):
    return t is not None and t._data.size > 0


@op("Resize", const=(1, 2, 3), check=_resize_check)
def _resize(ctx, attrs, x, roi=None, scales=None, sizes=None):
    axes = attrs.get("axes") or tuple(range(x.ndim))
    axes = [a % x.ndim for a in axes]
    if _present(scales):
        factors = [float(s) for s in scales._data.reshape(-1).tolist()]
        outs = [math.floor(x.shape[a] * f) for a, f in zip(axes, factors, strict=True)]
    elif _present(sizes):
        outs = list(ints(sizes))
        factors = [o / x.shape[a] for a, o in zip(axes, outs, strict=True)]
    else:
        raise ValueError("Resize: give scales or sizes")
    if len(outs) != len(axes):
        raise ValueError(f"Resize: {len(outs)} scales or sizes for {len(axes)} axes of input "
                         f"shape {tuple(x.shape)}")
    for axis, out, factor in zip(axes, outs, factors, strict=True):
        if out != x.shape[axis] or factor != 1.0:
            x = _resize_axis(x, axis, out, factor, attrs)
    return x


def _pad_check(attrs, n_inputs, used, opset):
    mode = attrs.get("mode", "constant")
    return None if mode in ("constant", "reflect", "edge", "wrap") else f"Pad mode={mode!r}"


@op("Pad", const=(1, 2, 3), check=_pad_check)
def _pad(ctx, attrs, x, pads, value=None, axes=None):
    pads = ints(pads)
    axes = range(x.ndim) if axes is None else [a % x.ndim for a in ints(axes)]
    axes = list(axes)
    if len(pads) != 2 * len(axes):
        raise ValueError(f"Pad: {len(pads)} pads for {len(axes)} axes of shape {tuple(x.shape)}")
    pairs = [(0, 0)] * x.ndim
    for i, axis in enumerate(axes):
        pairs[axis] = (pads[i], pads[i + len(axes)])
    crop = tuple(slice(-min(b, 0), x.shape[i] + min(a, 0)) for i, (b, a) in enumerate(pairs))
    if any(b < 0 or a < 0 for b, a in pairs):
        x = x[crop]
    grow = [(max(b, 0), max(a, 0)) for b, a in pairs]
    mode = attrs.get("mode", "constant")
    fill = 0.0 if value is None or value._data.size == 0 else scalar(value)
    return ops.pad(x, grow, mode=mode, value=fill)
