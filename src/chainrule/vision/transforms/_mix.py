"""torchvision.transforms.v2's batch mixing (``MixUp``, ``CutMix``) and small v2-only
transforms (``Identity``, ``RGB``, ``GaussianNoise``, ``RandomChannelPermutation``).

``MixUp``/``CutMix`` take a batch after the DataLoader: ``images, labels = cutmix(images,
labels)`` with images a (N, C, H, W) Tensor and labels (N,) class indices (or (N, num_classes)
probabilities); the labels come back as float32 probabilities. Each image is mixed with the one
before it in the batch (the first with the last), as torchvision pairs them, with a weight drawn
from Beta(alpha, alpha) (from ``rng`` or the default generator).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ...autograd.tensor import Tensor
from ...backend.random import resolve_rng

__all__ = ["CutMix", "GaussianNoise", "Identity", "MixUp", "RGB", "RandomChannelPermutation"]


class _BatchMix:
    def __init__(self, *, alpha: float = 1.0, num_classes=None, labels_getter="default",
                 rng=None):
        if not isinstance(alpha, numbers.Real) or alpha <= 0:
            raise ValueError(f"{type(self).__name__}: alpha must be positive, got {alpha!r}")
        if labels_getter != "default" and not callable(labels_getter):
            raise TypeError(f"{type(self).__name__}: labels_getter must be 'default' or "
                            f"callable, got {labels_getter!r}")
        self.alpha, self.num_classes = float(alpha), num_classes
        self.labels_getter, self.rng = labels_getter, rng

    def __call__(self, *inputs):
        who = type(self).__name__
        packed = len(inputs) == 1
        items = list(inputs[0] if packed else inputs)
        labels = items[1] if self.labels_getter == "default" and len(items) > 1 else (
            self.labels_getter(inputs[0] if packed else inputs)
            if self.labels_getter != "default" else None)
        if not isinstance(labels, Tensor):
            raise ValueError(f"{who}: the labels must be a Tensor (call it as "
                             f"{who.lower()}(images, labels)), got {type(labels).__name__}")
        if labels.ndim not in (1, 2):
            raise ValueError(f"{who}: labels must be class indices (batch_size,) or "
                             f"probabilities (batch_size, num_classes), got shape "
                             f"{tuple(labels.shape)}")
        if labels.ndim == 1 and self.num_classes is None:
            raise ValueError(f"{who}: num_classes must be passed if the labels are class "
                             f"indices (1-D)")
        if labels.ndim == 2 and self.num_classes is not None and \
                labels.shape[-1] != self.num_classes:
            raise ValueError(f"{who}: 2-D labels need num_classes ({self.num_classes}) columns, "
                             f"got {labels.shape[-1]}")
        rng = resolve_rng(self.rng, who)
        lam = float(rng.beta(self.alpha, self.alpha))
        out, mixed_lam = [], None
        for item in items:  # the first Tensor other than the labels is the batch of images
            if item is labels or not isinstance(item, Tensor) or mixed_lam is not None:
                if type(item).__module__.startswith("PIL."):
                    raise ValueError(f"{who}: PIL images are not supported (batches of Tensors)")
                out.append(item)
                continue
            if item.ndim != 4 or item.shape[0] != labels.shape[0]:
                raise ValueError(f"{who}: expected a batch of images (N, C, H, W) with N = "
                                 f"{labels.shape[0]} as the labels, got shape "
                                 f"{tuple(item.shape)}")
            if mixed_lam is None:
                mixed_lam = self._params(item._data.shape[-2:], lam, rng)
            out.append(self._mix(item._data, lam))
        if mixed_lam is None:
            raise ValueError(f"{who}: found no (N, C, H, W) image Tensor to mix")
        out = [self._mix_labels(labels._data, mixed_lam) if item is labels else item
               for item in out]
        return tuple(out) if not packed or isinstance(inputs[0], tuple) else out

    def _mix_labels(self, labels, lam):
        if labels.ndim == 1:
            labels = np.eye(self.num_classes, dtype=np.float32)[labels.astype(np.int64)]
        elif labels.dtype.kind != "f":
            labels = labels.astype(np.float32)
        return Tensor(np.roll(labels, 1, axis=0) * (1.0 - lam) + labels * lam)


class MixUp(_BatchMix):
    """``lam * x + (1 - lam) * x_previous`` for images and labels (Zhang et al., 2018)."""

    def _params(self, size, lam, rng):
        return lam

    def _mix(self, a, lam):
        work = a if a.dtype.kind == "f" else a.astype(np.float32)
        mixed = np.roll(work, 1, axis=0) * (1.0 - lam) + work * lam
        return Tensor(mixed.astype(a.dtype, copy=False))


class CutMix(_BatchMix):
    """A box of each image replaced by the same box of the previous image, the labels mixed by
    the area kept (Yun et al., 2019); the box is centred at a random pixel, with sides
    ``sqrt(1 - lam)`` of the image's, clipped to it."""

    def _params(self, size, lam, rng):
        """Draw the box (x1, y1, x2, y2); the label weight is the area it leaves."""
        h, w = size
        cx, cy = int(rng.integers(w)), int(rng.integers(h))
        r = 0.5 * math.sqrt(1.0 - lam)
        half_w, half_h = int(r * w), int(r * h)
        x1, y1 = max(cx - half_w, 0), max(cy - half_h, 0)
        x2, y2 = min(cx + half_w, w), min(cy + half_h, h)
        self.box = (x1, y1, x2, y2)
        return 1.0 - (x2 - x1) * (y2 - y1) / (w * h)

    def _mix(self, a, lam):
        x1, y1, x2, y2 = self.box
        out = a.copy()
        out[..., y1:y2, x1:x2] = np.roll(a, 1, axis=0)[..., y1:y2, x1:x2]
        return Tensor(out)


class Identity:
    """The input, unchanged."""

    def __call__(self, *inputs):
        return inputs[0] if len(inputs) == 1 else inputs

    def __repr__(self) -> str:
        return "Identity()"


class RGB:
    """A one-channel image as three equal channels; RGB images unchanged."""

    def __call__(self, image):
        from ._adjust import _CHW

        chw = _CHW(image, "RGB")
        if chw.channels == 3:
            return image
        return chw.back(np.repeat(chw.array, 3, axis=-3))

    def __repr__(self) -> str:
        return "RGB()"


class GaussianNoise:
    """``image + N(mean, sigma^2)`` noise on a float Tensor image, clipped to [0, 1] with
    ``clip``."""

    def __init__(self, mean: float = 0.0, sigma: float = 0.1, clip: bool = True, *, rng=None):
        if sigma < 0:
            raise ValueError(f"GaussianNoise: sigma must be non-negative, got {sigma!r}")
        self.mean, self.sigma, self.clip, self.rng = float(mean), float(sigma), bool(clip), rng

    def __call__(self, image):
        if not isinstance(image, Tensor) or image._data.dtype.kind != "f":
            raise TypeError(f"GaussianNoise: expected a float Tensor image, got "
                            f"{getattr(image, 'dtype', type(image).__name__)}")
        a = image._data
        noise = resolve_rng(self.rng, "GaussianNoise").standard_normal(a.shape)
        out = a + (self.mean + noise * self.sigma).astype(a.dtype)
        return Tensor(np.clip(out, 0, 1) if self.clip else out)

    def __repr__(self) -> str:
        return f"GaussianNoise(mean={self.mean}, sigma={self.sigma}, clip={self.clip})"


class RandomChannelPermutation:
    """The channels of a Tensor image (..., C, H, W) in a random order."""

    def __init__(self, *, rng=None):
        self.rng = rng

    def __call__(self, image):
        if not isinstance(image, Tensor) or image.ndim < 3:
            raise TypeError("RandomChannelPermutation: expected a (..., C, H, W) Tensor image")
        a = image._data
        order = resolve_rng(self.rng, "RandomChannelPermutation").permutation(a.shape[-3])
        return Tensor(np.ascontiguousarray(a[..., order, :, :]))

    def __repr__(self) -> str:
        return "RandomChannelPermutation()"
