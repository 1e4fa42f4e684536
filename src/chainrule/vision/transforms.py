"""torchvision's common image transforms for one image: ``Compose``, ``ToTensor``, ``Normalize``...

Images are NumPy arrays, (H, W) or (H, W, C), uint8 in 0..255 or float; ``ToTensor`` makes a
float32 (C, H, W) Tensor in [0, 1], and the transforms after it take and return Tensors. The
random ones draw from ``rng``, or from the default generator (``chainrule.manual_seed``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..autograd.tensor import Tensor
from ..backend.random import resolve_rng

__all__ = ["Compose", "Lambda", "Normalize", "RandomAffine", "ToTensor"]


class Compose:
    """Apply ``transforms`` one after another."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {t!r}")

    def __call__(self, image):
        for t in self.transforms:
            image = t(image)
        return image

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({inner}\n)"


class Lambda:
    """Apply the function ``fn``."""

    def __init__(self, fn):
        if not callable(fn):
            raise TypeError(f"Lambda: fn must be callable, got {type(fn).__name__}")
        self.fn = fn

    def __call__(self, image):
        return self.fn(image)


class ToTensor:
    """An (H, W) or (H, W, C) image as a float32 (C, H, W) Tensor; uint8 is divided by 255."""

    def __call__(self, image):
        a = np.asarray(image)
        if a.ndim == 2:
            a = a[:, :, None]
        if a.ndim != 3:
            raise ValueError(f"ToTensor: expected an (H, W) or (H, W, C) image, got shape "
                             f"{a.shape}")
        scale = 255.0 if a.dtype == np.uint8 else 1.0
        return Tensor(np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32) / scale)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel of a (C, H, W) Tensor."""

    def __init__(self, mean, std, inplace: bool = False):
        self.mean, self.std = tuple(np.atleast_1d(mean)), tuple(np.atleast_1d(std))
        if len(self.mean) != len(self.std) or not all(s > 0 for s in self.std):
            raise ValueError(f"Normalize: mean and std need one value per channel and positive "
                             f"stds, got mean={mean!r}, std={std!r}")

    def __call__(self, x):
        a = x.data if isinstance(x, Tensor) else np.asarray(x, dtype=np.float32)
        if a.ndim != 3 or len(self.mean) not in (1, a.shape[0]):
            raise ValueError(f"Normalize: expected a (C, H, W) image with {len(self.mean)} "
                             f"channel(s), got shape {a.shape}")
        mean = np.asarray(self.mean, a.dtype).reshape(-1, 1, 1)
        std = np.asarray(self.std, a.dtype).reshape(-1, 1, 1)
        return Tensor((a - mean) / std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class RandomAffine:
    """A random rotation, translation and scaling of a (C, H, W) Tensor about its centre.

    Nearest-neighbour sampling; pixels from outside the image are ``fill``.

    Args:
        degrees: rotation drawn from [-degrees, degrees] (or a (min, max) pair).
        translate: (a, b): shifts up to a * W horizontally and b * H vertically.
        scale: (min, max) of the zoom factor.
        fill: the value of pixels from outside the image.
        rng: numpy Generator (None: the default generator).
    """

    def __init__(self, degrees, translate=None, scale=None, shear=None, fill=0.0, *, rng=None):
        if isinstance(degrees, numbers.Real):
            degrees = (-float(degrees), float(degrees))
        if shear is not None:
            raise ValueError("RandomAffine: shear is not supported")
        self.degrees, self.translate, self.scale, self.fill = tuple(degrees), translate, scale, fill
        self.rng = rng

    def __call__(self, x):
        a = x.data if isinstance(x, Tensor) else np.asarray(x, dtype=np.float32)
        if a.ndim != 3:
            raise ValueError(f"RandomAffine: expected a (C, H, W) image, got shape {a.shape}")
        rng = resolve_rng(self.rng, "RandomAffine")
        _, h, w = a.shape
        angle = math.radians(rng.uniform(*self.degrees))
        tx = ty = 0.0
        if self.translate is not None:
            tx = rng.uniform(-1, 1) * self.translate[0] * w
            ty = rng.uniform(-1, 1) * self.translate[1] * h
        s = rng.uniform(*self.scale) if self.scale is not None else 1.0
        # Each output pixel reads the input at the inverse map of its position.
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        cy, cx = (h - 1) / 2, (w - 1) / 2
        u, v = xx - cx - tx, yy - cy - ty
        cos, sin = math.cos(angle) / s, math.sin(angle) / s
        src_x = np.rint(cos * u + sin * v + cx).astype(int)
        src_y = np.rint(-sin * u + cos * v + cy).astype(int)
        inside = (src_x >= 0) & (src_x < w) & (src_y >= 0) & (src_y < h)
        out = np.full_like(a, self.fill)
        out[:, inside] = a[:, src_y[inside], src_x[inside]]
        return Tensor(out)

    def __repr__(self) -> str:
        return (f"RandomAffine(degrees={self.degrees}, translate={self.translate}, "
                f"scale={self.scale})")
