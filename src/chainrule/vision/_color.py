"""``ColorJitter``: random brightness, contrast, saturation and hue, as torchvision's (tensors)."""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd.tensor import Tensor
from ..backend.random import resolve_rng
from ._image import _Image

__all__ = ["ColorJitter"]


def _factor_range(name, value, centre=1.0):
    if isinstance(value, numbers.Real):
        if value < 0:
            raise ValueError(f"ColorJitter: {name} must be non-negative, got {value!r}")
        return None if value == 0 else (max(0.0, centre - value), centre + value)
    lo, hi = _two(name, value)
    if not 0 <= lo <= hi:
        raise ValueError(f"ColorJitter: {name} range must satisfy 0 <= min <= max, got {value!r}")
    return float(lo), float(hi)


def _two(name, value):
    """A (min, max) pair; three values failed with "too many values to unpack"."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"ColorJitter: {name} should be a single number or a list/tuple with "
                        f"length 2, got {value!r}")
    return value


def _hue_range(value):
    lo, hi = (-value, value) if isinstance(value, numbers.Real) else _two("hue", value)
    if not -0.5 <= lo <= hi <= 0.5:
        raise ValueError(f"ColorJitter: hue must be a number in [0, 0.5] or a (min, max) range "
                         f"within [-0.5, 0.5], got {value!r}")
    return None if lo == hi == 0 else (float(lo), float(hi))


def rgb_to_hsv(rgb):
    """(3, ...) RGB in [0, 1] -> (3, ...) hue, saturation, value, each in [0, 1]."""
    r, g, b = rgb
    maxc, minc = rgb.max(axis=0), rgb.min(axis=0)
    flat = maxc == minc
    spread = maxc - minc
    s = spread / np.where(flat, 1.0, maxc)
    spread = np.where(flat, 1.0, spread)
    rc, gc, bc = (maxc - r) / spread, (maxc - g) / spread, (maxc - b) / spread
    h = np.where(maxc == r, bc - gc, np.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = np.where(flat, 0.0, h)
    return np.stack([np.fmod(h / 6.0 + 1.0, 1.0), s, maxc])


def hsv_to_rgb(hsv):
    """The inverse of ``rgb_to_hsv``."""
    h, s, v = hsv
    sector = np.floor(h * 6.0)
    f = h * 6.0 - sector
    sector = sector.astype(np.int64) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    table = np.stack([np.stack(c) for c in ((v, q, p, p, t, v), (t, v, v, q, p, p),
                                            (p, p, t, v, v, q))])  # (3, 6, ...)
    return np.take_along_axis(table, sector[None, None], axis=1)[:, 0]


class ColorJitter:
    """Random changes of brightness, contrast, saturation and hue, in a random order.

    Each of ``brightness``, ``contrast``, ``saturation`` is a number v (a factor drawn from
    [max(0, 1 - v), 1 + v]) or a (min, max) range; 0 leaves that property alone. The factor
    blends the image with black (brightness), with its mean grey level (contrast; each image's
    own in a batch) or with its
    grey version (saturation), clipped to the image's range, as torchvision does on tensors.
    ``hue`` (a number h in [0, 0.5], for a shift drawn from [-h, h], or a range) turns the hue
    of every pixel by that fraction of the colour circle (RGB images only).
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0, *, rng=None):
        self.ranges = {"brightness": _factor_range("brightness", brightness),
                       "contrast": _factor_range("contrast", contrast),
                       "saturation": _factor_range("saturation", saturation),
                       "hue": _hue_range(hue)}
        # torchvision's attributes: each a [min, max] list, or None
        self.brightness, self.contrast, self.saturation, self.hue = (
            None if r is None else list(r) for r in self.ranges.values())
        self.rng = rng

    @staticmethod
    def get_params(brightness, contrast, saturation, hue, *, rng=None):
        """torchvision's draw: (the order of the four changes, an int64 Tensor permutation of
        0..3, then each factor drawn from its [min, max] range, or None for a None range)."""
        rng = resolve_rng(rng, "ColorJitter")
        order = rng.permutation(4).astype(np.int64)
        factors = [None if r is None else float(rng.uniform(r[0], r[1]))
                   for r in (brightness, contrast, saturation, hue)]
        return (Tensor(order), *factors)

    @staticmethod
    def _hue(work, c_axis, shift, integer):
        if c_axis is None or work.shape[c_axis] == 1:
            return work
        rgb = np.moveaxis(work, c_axis, 0) / (255.0 if integer else 1.0)
        rgb = rgb.astype(np.float32) if rgb.dtype == np.float16 else rgb  # torchvision's float32
        hsv = rgb_to_hsv(rgb)
        hsv[0] = np.mod(hsv[0] + shift, 1.0)
        out = hsv_to_rgb(hsv)
        if integer:  # torchvision's float -> uint8: scale by 255.999 and truncate
            out = np.floor(out * (256.0 - 1e-3))
        return np.moveaxis(out, 0, c_axis).astype(work.dtype, copy=False)

    @staticmethod
    def _grey(a, c_axis):
        if c_axis is None or a.shape[c_axis] == 1:
            return a
        if a.shape[c_axis] != 3:
            raise ValueError(f"ColorJitter: expected 1 or 3 channels, got {a.shape[c_axis]}")
        r, g, b = (np.take(a, i, axis=c_axis) for i in range(3))
        return np.expand_dims(0.2989 * r + 0.587 * g + 0.114 * b, c_axis)

    def __call__(self, image):
        img = _Image(image, "ColorJitter")
        a = img.array
        integer = a.dtype.kind in "ui"
        bound = 255.0 if integer else 1.0
        work = a.astype(np.float64) if integer else a
        order, *drawn = self.get_params(*self.ranges.values(), rng=self.rng)
        order = order.numpy()
        names = list(self.ranges)
        factors = dict(zip(names, drawn, strict=True))
        for k in order:
            f = factors[names[k]]
            if f is None:
                continue
            if names[k] == "hue":
                work = self._hue(work, img.c_axis, f, integer)
                continue
            if names[k] == "brightness":
                other = 0.0
            elif names[k] == "contrast":  # the mean grey level of each image of a batch
                grey = self._grey(work, img.c_axis)
                axes = tuple(i for i in (img.c_axis, img.h_axis, img.w_axis) if i is not None)
                other = (np.floor(grey) if integer else grey).mean(axis=axes, keepdims=True)
            elif img.c_axis is None or work.shape[img.c_axis] == 1:
                continue  # saturation leaves a grey image as it is (f * a + (1 - f) * a != a)
            else:
                grey = self._grey(work, img.c_axis)
                other = np.floor(grey) if integer else grey
            work = np.clip(f * work + (1.0 - f) * other, 0.0, bound)
            if integer:
                work = np.floor(work)
        return img.back(work.astype(a.dtype, copy=False))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.ranges.items() if v is not None)
        return f"ColorJitter({inner})"
