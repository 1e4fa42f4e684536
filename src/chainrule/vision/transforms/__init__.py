"""torchvision's image transforms for one image: ``Compose``, ``ToTensor``, ``Normalize``...

Images are NumPy arrays, (H, W) or (H, W, C), uint8 in 0..255 or float, or PIL images when
Pillow is installed; ``ToTensor`` makes a uint8 image a (C, H, W) Tensor of the default dtype
(float32) in [0, 1] (other dtypes keep theirs, unscaled, as torchvision's). ``Normalize``,
``RandomErasing`` and ``ConvertImageDtype`` take Tensors (after ``ToTensor``); the others take
either, and give back the kind they were given (an array in its layout, a PIL image, a
Tensor). The random ones draw from ``rng``, or from the default generator
(``chainrule.manual_seed``; inside a DataLoader pass, each sample's own stream).
``transforms.functional`` has torchvision's functional forms (``rotate``, ``affine``...).
"""

from __future__ import annotations

import numbers

import numpy as np

from ...autograd.mode import is_grad_enabled
from ...autograd.tensor import Tensor
from ...backend.defaults import get_default_dtype
from ...backend.random import resolve_rng
from .._color import ColorJitter
from .._image import _Image, _is_pil
from ._autoaugment import (
    AugMix,
    AutoAugment,
    AutoAugmentPolicy,
    RandAugment,
    TrivialAugmentWide,
)
from ._geometric import (
    ElasticTransform,
    FiveCrop,
    Pad,
    RandomAffine,
    RandomPerspective,
    RandomRotation,
    TenCrop,
)
from ._pixel import (
    ConvertImageDtype,
    GaussianBlur,
    Grayscale,
    LinearTransformation,
    PILToTensor,
    RandomAdjustSharpness,
    RandomApply,
    RandomAutocontrast,
    RandomChoice,
    RandomEqualize,
    RandomErasing,
    RandomGrayscale,
    RandomInvert,
    RandomOrder,
    RandomPosterize,
    RandomSolarize,
    ToPILImage,
)
from ._resize import InterpolationMode, RandomResizedCrop, Resize

__all__ = ["AugMix", "AutoAugment", "AutoAugmentPolicy", "CenterCrop", "ColorJitter", "Compose",
           "ConvertImageDtype", "ElasticTransform", "FiveCrop", "GaussianBlur", "Grayscale",
           "InterpolationMode", "Lambda", "LinearTransformation", "Normalize", "PILToTensor", "Pad",
           "RandAugment", "RandomAdjustSharpness", "RandomAffine", "RandomApply",
           "RandomAutocontrast", "RandomChoice", "RandomCrop", "RandomEqualize", "RandomErasing",
           "RandomGrayscale", "RandomHorizontalFlip", "RandomInvert", "RandomOrder",
           "RandomPerspective", "RandomPosterize", "RandomResizedCrop", "RandomRotation",
           "RandomSolarize", "RandomVerticalFlip", "Resize", "TenCrop", "ToPILImage", "ToTensor",
           "TrivialAugmentWide", "functional"]


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
    """Apply the function ``lambd`` (torchvision's name for it)."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: lambd must be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, image):
        return self.lambd(image)


_PIL_DTYPES = {"I": np.int32, "I;16": np.int16, "F": np.float32}


class ToTensor:
    """An (H, W) or (H, W, C) image (array or PIL image) as a (C, H, W) Tensor: uint8 as the
    default dtype divided by 255; any other dtype (a float64 or int16 array, a PIL "I" or "F"
    image) kept as it is, unscaled, as torchvision's."""

    def __call__(self, image):
        if _is_pil(image):  # torchvision's dtypes by mode: "1" read as uint8 0/255
            a = np.array(image, _PIL_DTYPES.get(image.mode, np.uint8))
            a = a * np.uint8(255) if image.mode == "1" else a
        else:
            a = np.asarray(image)
        if a.ndim == 2:
            a = a[:, :, None]
        if a.ndim != 3:
            raise ValueError(f"ToTensor: expected an (H, W) or (H, W, C) image, got shape "
                             f"{a.shape}")
        if a.dtype != np.uint8:
            return Tensor(np.ascontiguousarray(a.transpose(2, 0, 1)))
        dtype = get_default_dtype()
        return Tensor(np.ascontiguousarray(a.transpose(2, 0, 1), dtype=dtype) / dtype.type(255))

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel of a float (..., C, H, W) Tensor; ``inplace``
    overwrites a Tensor's values and returns it. A Tensor that requires grad gives a recorded
    result, so gradients pass through it: with ``inplace``, as torchvision's, the input itself
    written in place (a leaf that requires grad is then PyTorch's RuntimeError)."""

    def __init__(self, mean, std, inplace: bool = False):
        self.mean, self.std = tuple(np.atleast_1d(mean)), tuple(np.atleast_1d(std))
        # torchvision refuses only a zero std (a negative one flips the channel's sign); one
        # mean (or std) broadcasts over the other's channels, as its view(-1, 1, 1)s do
        if len(self.mean) not in (1, len(self.std)) and len(self.std) != 1 or \
                not all(s != 0 for s in self.std):
            raise ValueError(f"Normalize: mean and std need one value per channel and non-zero "
                             f"stds, got mean={mean!r}, std={std!r}")
        self.inplace = bool(inplace)

    def __call__(self, x):
        a = x._data if isinstance(x, Tensor) else np.asarray(x, dtype=np.float32)
        if a.dtype.kind != "f":  # as torchvision: a uint8 image would wrap the mean to 0
            raise TypeError(f"Normalize: expected a float image (ToTensor first), got dtype "
                            f"{a.dtype}")
        channels = max(len(self.mean), len(self.std))
        if a.ndim < 3 or channels not in (1, a.shape[-3]):
            raise ValueError(f"Normalize: expected a (C, H, W) image with {channels} "
                             f"channel(s) (or a batch of them), got shape {a.shape}")
        mean = np.asarray(self.mean, a.dtype).reshape(-1, 1, 1)
        std = np.asarray(self.std, a.dtype).reshape(-1, 1, 1)
        if (std == 0).any():  # a std of 1e-50 is 0 in float32: the image became inf
            raise ValueError(f"Normalize: std {[float(v) for v in self.std]} evaluated to zero "
                             f"after conversion to {a.dtype}, leading to division by zero "
                             "(PyTorch's error)")
        if isinstance(x, Tensor) and x.requires_grad and is_grad_enabled():
            # Recorded, as torchvision's (a Normalize in front of a model passes gradients);
            # inplace writes into x through sub_/div_, so a leaf is PyTorch's error.
            if not self.inplace:
                return (x - Tensor(mean)) / Tensor(std)
            if x.is_leaf:
                raise RuntimeError(f"Normalize(inplace=True): the input (shape {a.shape}) is a "
                                   "leaf tensor that requires grad, which cannot be written in "
                                   "place while gradients are recorded (PyTorch's error); use "
                                   "inplace=False, or normalize under no_grad()")
            return x.sub_(Tensor(mean)).div_(Tensor(std))
        if self.inplace and isinstance(x, Tensor):
            np.subtract(a, mean, out=a)
            np.divide(a, std, out=a)
            x._mark_changed()
            return x
        return Tensor((a - mean) / std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


def _pair(who: str, name: str, value) -> tuple[int, int]:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = int(value)  # torchvision's _setup_size: CenterCrop(4.0) is CenterCrop(4)
    if not isinstance(value, (numbers.Integral, tuple, list)):
        raise TypeError(f"{who}: {name} must be an int or (height, width), got {value!r}")
    values = (value, value) if isinstance(value, numbers.Integral) else tuple(value)
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or not all(isinstance(v, numbers.Integral) and v > 0 for v in values):
        raise ValueError(f"{who}: {name} must be a positive int or (height, width), got {value!r}")
    return int(values[0]), int(values[1])


_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect",
              "symmetric": "symmetric"}


class RandomCrop:
    """A random ``size`` window of the image, after optional padding (torchvision's semantics).

    Args:
        size: (height, width) of the crop, or one int for a square.
        padding: added on each border first: an int (all), (left/right, top/bottom) or
            (left, top, right, bottom).
        pad_if_needed: pad an image smaller than ``size`` up to it.
        fill: the value of constant padding.
        padding_mode: "constant", "edge", "reflect" or "symmetric".
        rng: numpy Generator (None: the default generator).
    """

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0,
                 padding_mode: str = "constant", *, rng=None):
        self.size = _pair("RandomCrop", "size", size)
        if padding is not None:
            pads = (padding,) * 4 if isinstance(padding, numbers.Integral) else tuple(padding)
            if len(pads) == 2:
                pads = (pads[0], pads[1], pads[0], pads[1])
            if len(pads) != 4 or not all(isinstance(p, numbers.Integral) and p >= 0
                                         for p in pads):
                raise ValueError(f"RandomCrop: padding must be an int >= 0 or a tuple of 2 or 4 "
                                 f"of them, got {padding!r}")
            padding = tuple(int(p) for p in pads)
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"RandomCrop: padding_mode must be one of {sorted(_PAD_MODES)}, got "
                             f"{padding_mode!r}")
        self.padding, self.pad_if_needed, self.fill = padding, bool(pad_if_needed), fill
        self.padding_mode, self.rng = padding_mode, rng

    def _pad(self, img: _Image, left, top, right, bottom):
        widths = [(0, 0)] * img.array.ndim
        widths[img.h_axis], widths[img.w_axis] = (top, bottom), (left, right)
        if self.padding_mode != "constant":
            if self.padding_mode == "reflect" and img.kind == "tensor" and (
                    max(top, bottom) >= img.size[0] or max(left, right) >= img.size[1]):
                # PyTorch's reflection pad (torchvision's tensor path) refuses it
                raise ValueError(f"RandomCrop: reflect padding {(left, top, right, bottom)} must "
                                 f"be less than the image's size {img.size} on each side")
            img.array = np.pad(img.array, widths, mode=_PAD_MODES[self.padding_mode])
            return
        fill = np.asarray(self.fill)  # a number, or one per channel (torchvision's tuple)
        if fill.ndim > 1 or (fill.ndim and fill.size != 1 and (
                img.c_axis is None or fill.size != img.array.shape[img.c_axis])):
            raise ValueError(f"RandomCrop: fill must be a number or one per channel of the "
                             f"image {img.array.shape}, got {self.fill!r}")
        shape = [n + a + b for n, (a, b) in zip(img.array.shape, widths, strict=True)]
        out = np.empty(shape, img.array.dtype)
        if fill.ndim and fill.size != 1:
            fill = fill.reshape([-1 if i == img.c_axis else 1 for i in range(len(shape))])
        out[...] = fill.reshape(-1)[0] if fill.size == 1 else fill
        out[tuple(slice(a, a + n) for n, (a, _) in zip(img.array.shape, widths, strict=True))] \
            = img.array
        img.array = out

    @staticmethod
    def get_params(img, output_size, *, rng=None) -> tuple[int, int, int, int]:
        """torchvision's draw: (top, left, height, width) of a random ``output_size`` window of
        ``img`` (the whole image when it is that size)."""
        (h, w), (th, tw) = _Image(img, "RandomCrop.get_params").size, tuple(output_size)
        if h < th or w < tw:
            raise ValueError(f"RandomCrop.get_params: required crop size {(th, tw)} is larger "
                             f"than the input image size {(h, w)}")
        if (h, w) == (th, tw):
            return 0, 0, h, w
        rng = resolve_rng(rng, "RandomCrop")
        return int(rng.integers(0, h - th + 1)), int(rng.integers(0, w - tw + 1)), th, tw

    def __call__(self, image):
        img = _Image(image, "RandomCrop")
        if self.padding is not None:
            self._pad(img, *self.padding)
        th, tw = self.size
        h, w = img.size
        if self.pad_if_needed and h < th:
            self._pad(img, 0, th - h, 0, th - h)
        if self.pad_if_needed and w < tw:
            self._pad(img, tw - w, 0, tw - w, 0)
        h, w = img.size
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: crop size {(th, tw)} is larger than the (padded) "
                             f"image {(h, w)}; pass padding= or pad_if_needed=True")
        rng = resolve_rng(self.rng, "RandomCrop")
        top, left = int(rng.integers(0, h - th + 1)), int(rng.integers(0, w - tw + 1))
        return img.back(img.window(top, left, th, tw))

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class CenterCrop:
    """The central ``size`` window of the image (rounded as torchvision rounds); an image smaller
    than ``size`` is first padded with zeros on both sides, as torchvision's."""

    def __init__(self, size):
        self.size = _pair("CenterCrop", "size", size)

    def __call__(self, image):
        img = _Image(image, "CenterCrop")
        (h, w), (th, tw) = img.size, self.size
        if h < th or w < tw:
            widths = [(0, 0)] * img.array.ndim
            widths[img.h_axis] = ((th - h) // 2, (th - h + 1) // 2) if th > h else (0, 0)
            widths[img.w_axis] = ((tw - w) // 2, (tw - w + 1) // 2) if tw > w else (0, 0)
            img.array = np.pad(img.array, widths)
            h, w = img.size
        return img.back(img.window(int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw))

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


class _RandomFlip:
    _axis = "w_axis"

    def __init__(self, p: float = 0.5, *, rng=None):
        if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be a probability in [0, 1], got {p!r}")
        self.p, self.rng = float(p), rng

    def __call__(self, image):
        img = _Image(image, type(self).__name__)
        if resolve_rng(self.rng, type(self).__name__).random() < self.p:
            return img.back(img.flipped(getattr(img, self._axis)))
        return image

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomHorizontalFlip(_RandomFlip):
    """Mirror the image left to right with probability ``p``."""


class RandomVerticalFlip(_RandomFlip):
    """Turn the image upside down with probability ``p``."""

    _axis = "h_axis"


from . import functional  # noqa: E402 - it uses the classes above
