"""``ColorJitter``: random brightness, contrast, saturation and hue, as torchvision's (tensors)."""

from __future__ import annotations

import numbers

import numpy as np

from ..backend.random import resolve_rng
from ._image import _Image

__all__ = ["ColorJitter"]


def _factor_range(name, value, centre=1.0):
    if isinstance(value, numbers.Real):
        if value < 0:
            raise ValueError(f"ColorJitter: {name} must be non-negative, got {value!r}")
        return None if value == 0 else (max(0.0, centre - value), centre + value)
    lo, hi = value
    if not 0 <= lo <= hi:
        raise ValueError(f"ColorJitter: {name} range must satisfy 0 <= min <= max, got {value!r}")
    return float(lo), float(hi)


class ColorJitter:
    """Random changes of brightness, contrast and saturation, in a random order.

    Each of ``brightness``, ``contrast``, ``saturation`` is a number v (a factor drawn from
    [max(0, 1 - v), 1 + v]) or a (min, max) range; 0 leaves that property alone. The factor
    blends the image with black (brightness), with its mean grey level (contrast) or with its
    grey version (saturation), clipped to the image's range, as torchvision does on tensors.
    ``hue`` is not supported (a ValueError).
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0, *, rng=None):
        if hue:
            raise ValueError("ColorJitter: hue is not supported (brightness, contrast and "
                             "saturation are)")
        self.ranges = {"brightness": _factor_range("brightness", brightness),
                       "contrast": _factor_range("contrast", contrast),
                       "saturation": _factor_range("saturation", saturation)}
        self.rng = rng

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
        rng = resolve_rng(self.rng, "ColorJitter")
        order = rng.permutation(3)
        factors = {name: (None if r is None else rng.uniform(*r))
                   for name, r in self.ranges.items()}
        names = list(self.ranges)
        for k in order:
            f = factors[names[k]]
            if f is None:
                continue
            if names[k] == "brightness":
                other = 0.0
            elif names[k] == "contrast":
                grey = self._grey(work, img.c_axis)
                other = (np.floor(grey) if integer else grey).mean()
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
