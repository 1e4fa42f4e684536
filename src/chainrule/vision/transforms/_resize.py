"""torchvision's ``Resize`` and ``RandomResizedCrop``: bilinear (antialiased) or nearest resizing.

A float image (Tensor (..., C, H, W) or array (H, W[, C])) is resized by PyTorch's
``interpolate(mode="bilinear", align_corners=False, antialias=antialias)`` rule (or "nearest"),
written as one weight matrix per axis, as torchvision resizes float tensors. An integer Tensor
(uint8...) resizes as torchvision's ``transforms.functional.resize`` does it: the same rule in
float32, then rounded and cast back (uint8 bicubic clamped to 0..255). A PIL image, and a uint8
array (H, W[, C]) (chainrule's stand-in for one), goes through Pillow's ``resize``, torchvision's
path for PIL images; so does a uint8 Tensor with BOX, HAMMING or LANCZOS, which torchvision's
tensors do not take.
"""

from __future__ import annotations

import enum
import math
import numbers

import numpy as np

from ...autograd.tensor import Tensor
from ...backend.random import resolve_rng
from .._image import _Image

__all__ = ["InterpolationMode", "RandomResizedCrop", "Resize"]

_FLOAT_MODES = ("nearest", "nearest-exact", "bilinear", "bicubic")
_PIL_RESAMPLE = {"nearest": "NEAREST", "nearest-exact": "NEAREST", "bilinear": "BILINEAR",
                 "bicubic": "BICUBIC", "box": "BOX", "hamming": "HAMMING", "lanczos": "LANCZOS"}


class InterpolationMode(str, enum.Enum):
    """torchvision's interpolation names (``interpolation=``; a member or its string value).

    Float images resize with NEAREST, NEAREST_EXACT, BILINEAR and BICUBIC (PyTorch's
    ``interpolate``) and warp (rotate, affine, perspective) with NEAREST and BILINEAR, as
    torchvision's tensors; PIL (and uint8, for resizing) images take every mode through Pillow.
    """

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_CODES = {0: "nearest", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming", 1: "lanczos"}


def interpolation_name(who: str, interpolation, allowed=None) -> str:
    """The string value of an ``InterpolationMode`` (or of its value as a string, or of a
    Pillow resampling constant such as ``Image.BICUBIC``), checked against ``allowed`` (default:
    every mode)."""
    if isinstance(interpolation, int) and not isinstance(interpolation, bool):
        # Pillow's resampling constants, which torchvision still accepts (deprecated there)
        interpolation = _PIL_CODES.get(interpolation, interpolation)
    name = getattr(interpolation, "value", interpolation)
    allowed = tuple(m.value for m in InterpolationMode) if allowed is None else allowed
    if name not in allowed:
        raise ValueError(f"{who}: interpolation must be one of {list(allowed)} (or the "
                         f"InterpolationMode members), got {interpolation!r}")
    return name


def _mode(who: str, interpolation) -> str:
    return interpolation_name(who, interpolation)


def _cubic(x, a: float):
    """The cubic convolution kernel with parameter ``a`` (PyTorch: -0.75, antialiased -0.5)."""
    x = np.abs(x)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def _weights(n_in: int, n_out: int, mode: str, antialias: bool, dtype) -> np.ndarray:
    """The (n_out, n_in) matrix that resizes one axis of an image of float ``dtype`` (PyTorch's
    interpolate, align_corners False, the scale ``n_in / n_out``)."""
    scale = n_in / n_out
    w = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    if mode == "nearest":  # PyTorch's kernel: the positions in the image's precision, then
        # rounded to float32 (as ops.interpolate): float32's 23 * (26 / 46) is 13, float64's
        # 12.999999999999998 (rounded to 13 too, where a float64 floor would give 12)
        kind = np.float64 if dtype == np.float64 else np.float32  # PyTorch's opmath type
        source = (rows.astype(kind) * (kind(n_in) / kind(n_out))).astype(np.float32)
        w[rows, np.minimum(np.floor(source).astype(np.int64), n_in - 1)] = 1.0
    elif mode == "nearest-exact":
        w[rows, np.minimum(np.floor((rows + 0.5) * scale).astype(np.int64), n_in - 1)] = 1.0
    elif mode == "bicubic" and antialias:  # PyTorch's separable filter: support 2 (times the
        # scale when shrinking), taps normalised to sum 1
        support, stretch = (2.0 * scale, 1.0 / scale) if scale >= 1 else (2.0, 1.0)
        for i in rows:
            center = scale * (i + 0.5)
            lo = max(int(center - support + 0.5), 0)
            hi = min(int(center + support + 0.5), n_in)
            taps = _cubic((np.arange(lo, hi) - center + 0.5) * stretch, -0.5)
            w[i, lo:hi] = taps / taps.sum()
    elif mode == "bicubic":  # four taps around the unclamped source, indices clamped
        source = (rows + 0.5) * scale - 0.5
        low = np.floor(source).astype(np.int64)
        frac = source - low
        for k in range(-1, 3):
            np.add.at(w, (rows, np.clip(low + k, 0, n_in - 1)), _cubic(frac - k, -0.75))
    elif antialias and scale > 1:  # a triangle filter widened by the scale
        for i in rows:
            center = scale * (i + 0.5)
            lo = max(int(center - scale + 0.5), 0)
            hi = min(int(center + scale + 0.5), n_in)
            taps = np.maximum(0.0, 1.0 - np.abs((np.arange(lo, hi) - center + 0.5) / scale))
            w[i, lo:hi] = taps / taps.sum()
    else:
        source = np.maximum((rows + 0.5) * scale - 0.5, 0.0)
        low = np.minimum(np.floor(source).astype(np.int64), n_in - 1)
        high = np.minimum(low + 1, n_in - 1)
        frac = source - low
        np.add.at(w, (rows, low), 1.0 - frac)
        np.add.at(w, (rows, high), frac)
    return w


def _pil_module(who: str):
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(f'{who}: resizing uint8 images uses Pillow: pip install "chainrule[viz]" '
                          "(or convert the image to float first)") from e
    return Image


def resize_image(image, size: tuple[int, int], mode: str, antialias: bool, who: str):
    """``image`` (any kind the transforms take) resized to ``size`` = (height, width)."""
    img = _Image(image, who)
    height, width = size
    integer_tensor = img.kind == "tensor" and img.array.dtype.kind in "ui"
    if img.kind == "pil" or (img.array.dtype == np.uint8 and not (
            integer_tensor and mode in _FLOAT_MODES)):
        module = _pil_module(who)
        resample = getattr(module.Resampling, _PIL_RESAMPLE[mode])
        if img.kind == "pil":
            return image.resize((width, height), resample)
        a = img.array
        if img.kind == "tensor":  # (..., H, W): each plane on its own
            planes = a.reshape(-1, *a.shape[-2:])
            out = np.stack([np.asarray(module.fromarray(np.ascontiguousarray(p))
                                       .resize((width, height), resample)) for p in planes])
            return Tensor(out.reshape(*a.shape[:-2], height, width))
        if a.ndim == 3:
            return np.stack([np.asarray(module.fromarray(np.ascontiguousarray(a[:, :, c]))
                                        .resize((width, height), resample))
                             for c in range(a.shape[2])], axis=2)
        return np.asarray(module.fromarray(a).resize((width, height), resample))
    if img.array.dtype.kind != "f" and not integer_tensor:
        raise TypeError(f"{who}: expected a float or uint8 image (or an integer Tensor), got "
                        f"dtype {img.array.dtype}")
    if mode not in _FLOAT_MODES:
        raise ValueError(f"{who}: interpolation {mode!r} resizes PIL and uint8 images only (as "
                         f"torchvision's tensors: {list(_FLOAT_MODES)}); got a "
                         f"{img.array.dtype} Tensor")
    # an integer Tensor resizes as torchvision's: in float32, bicubic's uint8 clamped to
    # [0, 255], rounded (half to even) and cast back; float16 in float32 too (not float16's
    # arithmetic, an ulp off), rounded back once
    source = img.array.dtype
    dtype = source if source.kind == "f" and source.itemsize >= 4 else np.dtype(np.float32)
    rows = _weights(img.size[0], height, mode, antialias, dtype).astype(dtype)
    cols = _weights(img.size[1], width, mode, antialias, dtype).astype(dtype)
    a = np.moveaxis(img.array, (img.h_axis, img.w_axis), (-2, -1)).astype(dtype, copy=False)
    out = rows @ a @ cols.T
    if integer_tensor:
        if mode == "bicubic" and img.array.dtype == np.uint8:
            out = np.clip(out, 0, 255)
        out = np.round(out).astype(img.array.dtype)
    elif dtype != source:
        out = out.astype(source)
    return img.back(np.moveaxis(out, (-2, -1), (img.h_axis, img.w_axis)))


def _output_size(who: str, size, max_size, h: int, w: int) -> tuple[int, int]:
    """torchvision's rule: an int (or [int]) sets the shorter edge, keeping the aspect ratio."""
    if isinstance(size, numbers.Integral) or len(size) == 1:
        requested = int(size if isinstance(size, numbers.Integral) else size[0])
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = requested, int(requested * long / short)
        if max_size is not None:
            if max_size <= requested:
                raise ValueError(f"{who}: max_size = {max_size} must be strictly greater than "
                                 f"the requested size for the smaller edge, size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_long, new_short) if w <= h else (new_short, new_long)
    if max_size is not None:
        raise ValueError(f"{who}: max_size is only supported with an int size, got size={size}")
    return int(size[0]), int(size[1])


def _check_size(who: str, size):
    if isinstance(size, bool) or not (
            isinstance(size, numbers.Integral)
            or (isinstance(size, (tuple, list)) and len(size) in (1, 2)
                and all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                        for s in size))):
        raise TypeError(f"{who}: size must be an int or a sequence of one or two ints, got "
                        f"{size!r}")
    if any(s < 1 for s in ([size] if isinstance(size, numbers.Integral) else size)):
        raise ValueError(f"{who}: size must be positive, got {size!r}")
    return size


class Resize:
    """Resize an image to ``size`` ((height, width), or the shorter edge for an int), as
    torchvision's ``Resize(size, interpolation=BILINEAR, max_size=None, antialias=True)``."""

    def __init__(self, size, interpolation="bilinear", max_size=None, antialias=True):
        self.size = _check_size("Resize", size)
        self.interpolation = _mode("Resize", interpolation)
        self.max_size, self.antialias = max_size, bool(antialias)

    def __call__(self, image):
        img = _Image(image, "Resize")
        out = _output_size("Resize", self.size, self.max_size, *img.size)
        return resize_image(image, out, self.interpolation, self.antialias, "Resize")

    def __repr__(self) -> str:
        return (f"Resize(size={self.size}, interpolation={self.interpolation}, "
                f"max_size={self.max_size}, antialias={self.antialias})")


class RandomResizedCrop:
    """A random part of the image (area ``scale`` of it, aspect ``ratio``) resized to ``size``,
    as torchvision's ``RandomResizedCrop``; draws from ``rng`` or the default generator."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation="bilinear", antialias=True, *, rng=None):
        size = _check_size("RandomResizedCrop", size)
        self.size = (size, size) if isinstance(size, numbers.Integral) else \
            (size[0], size[0]) if len(size) == 1 else tuple(size)
        for name, pair in (("scale", scale), ("ratio", ratio)):
            if len(pair) != 2 or pair[0] > pair[1]:
                raise ValueError(f"RandomResizedCrop: {name} should be (min, max), got {pair!r}")
        if scale[0] < 0 or ratio[0] <= 0:  # else a "math domain error" (some draws, or all)
            raise ValueError(f"RandomResizedCrop: scale must be >= 0 and ratio > 0, got "
                             f"scale={scale!r}, ratio={ratio!r}")
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.interpolation = _mode("RandomResizedCrop", interpolation)
        self.antialias, self.rng = bool(antialias), rng

    def params(self, height: int, width: int, rng) -> tuple[int, int, int, int]:
        """(top, left, crop height, crop width), by torchvision's ``get_params`` rule."""
        return _crop_params(height, width, self.scale, self.ratio, rng)

    @staticmethod
    def get_params(img, scale, ratio, *, rng=None) -> tuple[int, int, int, int]:
        """torchvision's static draw: (top, left, height, width) of a random part of ``img``
        of area fraction in ``scale`` and aspect in ``ratio``."""
        return _crop_params(*_Image(img, "RandomResizedCrop.get_params").size, tuple(scale),
                            tuple(ratio), resolve_rng(rng, "RandomResizedCrop"))

    def __call__(self, image):
        img = _Image(image, "RandomResizedCrop")
        top, left, h, w = self.params(*img.size, resolve_rng(self.rng, "RandomResizedCrop"))
        if img.kind == "pil":
            part = image.crop((left, top, left + w, top + h))
        else:
            part = img.back(img.window(top, left, h, w))
        return resize_image(part, self.size, self.interpolation, self.antialias,
                            "RandomResizedCrop")

    def __repr__(self) -> str:
        return (f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio}, "
                f"interpolation={self.interpolation}, antialias={self.antialias})")


def _crop_params(height: int, width: int, scale, ratio, rng) -> tuple[int, int, int, int]:
    """torchvision's RandomResizedCrop.get_params: ten tries at a random area and aspect, then
    the centre crop of the closest allowed aspect."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        h, w = height, width
    return (height - h) // 2, (width - w) // 2, h, w
