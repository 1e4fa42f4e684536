"""torchvision's pixel transforms (``Grayscale``, ``GaussianBlur``, ``RandomErasing``, the
``Random*`` colour operations), conversions (``ConvertImageDtype``, ``PILToTensor``,
``ToPILImage``) and the random containers (``RandomApply``, ``RandomChoice``, ``RandomOrder``).

The random ones draw from ``rng`` or the default generator, as the other transforms.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ...autograd.tensor import Tensor
from ...backend.random import resolve_rng
from .._image import _Image, _is_pil
from . import _adjust as adj

__all__ = ["ConvertImageDtype", "GaussianBlur", "Grayscale", "LinearTransformation", "PILToTensor",
           "RandomAdjustSharpness", "RandomApply", "RandomAutocontrast", "RandomChoice",
           "RandomEqualize", "RandomErasing", "RandomGrayscale", "RandomInvert", "RandomOrder",
           "RandomPosterize", "RandomSolarize", "ToPILImage"]


def _probability(who, p):
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{who}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


def _channels(image) -> int:
    img = _Image(image, "channels")
    if img.kind == "tensor":
        return img.array.shape[-3] if img.array.ndim >= 3 else 1
    return img.array.shape[2] if img.array.ndim == 3 else 1


class Grayscale:
    """The grey version of an RGB image, as 1 or 3 (equal) channels."""

    def __init__(self, num_output_channels: int = 1):
        if num_output_channels not in (1, 3):
            raise ValueError(f"Grayscale: num_output_channels must be 1 or 3, got "
                             f"{num_output_channels!r}")
        self.num_output_channels = num_output_channels

    def __call__(self, image):
        return adj.rgb_to_grayscale(image, self.num_output_channels)

    def __repr__(self) -> str:
        return f"Grayscale(num_output_channels={self.num_output_channels})"


class _RandomApplied:
    """Apply ``self._apply(image)`` with probability ``p``."""

    def __init__(self, p: float = 0.5, *, rng=None):
        self.p, self.rng = _probability(type(self).__name__, p), rng

    def __call__(self, image):
        if resolve_rng(self.rng, type(self).__name__).random() < self.p:
            return self._apply(image)
        return image

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomGrayscale(_RandomApplied):
    """With probability ``p`` (default 0.1), the grey version with as many channels as the
    image."""

    def __init__(self, p: float = 0.1, *, rng=None):
        super().__init__(p, rng=rng)

    def _apply(self, image):
        return adj.rgb_to_grayscale(image, _channels(image))


class RandomInvert(_RandomApplied):
    """With probability ``p``, ``max - image``."""

    def _apply(self, image):
        return adj.invert(image)


class RandomPosterize(_RandomApplied):
    """With probability ``p``, keep the ``bits`` highest bits of a uint8 image's values."""

    def __init__(self, bits: int, p: float = 0.5, *, rng=None):
        super().__init__(p, rng=rng)
        if not isinstance(bits, numbers.Integral) or not 0 <= bits <= 8:
            raise ValueError(f"RandomPosterize: bits must be an int in 0..8, got {bits!r}")
        self.bits = int(bits)

    def _apply(self, image):
        return adj.posterize(image, self.bits)


class RandomSolarize(_RandomApplied):
    """With probability ``p``, invert the values at or above ``threshold``."""

    def __init__(self, threshold: float, p: float = 0.5, *, rng=None):
        super().__init__(p, rng=rng)
        self.threshold = threshold

    def _apply(self, image):
        return adj.solarize(image, self.threshold)


class RandomAdjustSharpness(_RandomApplied):
    """With probability ``p``, ``adjust_sharpness(image, sharpness_factor)``."""

    def __init__(self, sharpness_factor: float, p: float = 0.5, *, rng=None):
        super().__init__(p, rng=rng)
        self.sharpness_factor = adj._check_factor("RandomAdjustSharpness", "sharpness_factor",
                                                sharpness_factor)

    def _apply(self, image):
        return adj.adjust_sharpness(image, self.sharpness_factor)


class RandomAutocontrast(_RandomApplied):
    """With probability ``p``, stretch each channel to the full range."""

    def _apply(self, image):
        return adj.autocontrast(image)


class RandomEqualize(_RandomApplied):
    """With probability ``p``, equalise the histogram of a uint8 image."""

    def _apply(self, image):
        return adj.equalize(image)


class GaussianBlur:
    """Blur with a Gaussian of ``kernel_size`` taps (odd; (kx, ky) or one int) and a sigma
    drawn from ``sigma`` ((min, max)) or fixed (a number)."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0), *, rng=None):
        self.kernel_size = adj._kernel_sizes(kernel_size)
        if isinstance(sigma, numbers.Real):
            if sigma <= 0:
                raise ValueError(f"GaussianBlur: sigma must be positive, got {sigma!r}")
            sigma = (float(sigma), float(sigma))
        elif len(sigma) != 2 or not 0 < sigma[0] <= sigma[1]:
            raise ValueError(f"GaussianBlur: sigma must be a positive number or a (min, max) "
                             f"range with 0 < min <= max, got {sigma!r}")
        self.sigma, self.rng = (float(sigma[0]), float(sigma[1])), rng

    @staticmethod
    def get_params(sigma_min: float, sigma_max: float, *, rng=None) -> float:
        return float(resolve_rng(rng, "GaussianBlur").uniform(sigma_min, sigma_max))

    def __call__(self, image):
        s = self.get_params(*self.sigma, rng=self.rng)
        return adj.gaussian_blur(image, self.kernel_size, [s, s])

    def __repr__(self) -> str:
        return f"GaussianBlur(kernel_size={tuple(self.kernel_size)}, sigma={self.sigma})"


class RandomErasing:
    """With probability ``p``, set a random rectangle of a Tensor image to ``value`` (a number,
    one per channel, or ``"random"``: standard normal noise), as torchvision's (Zhong et al.,
    2017). The rectangle covers ``scale`` of the area with aspect ``ratio``."""

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0,
                 inplace: bool = False, *, rng=None):
        self.p = _probability("RandomErasing", p)
        if isinstance(value, str) and value != "random":
            raise ValueError(f"RandomErasing: value as a string must be 'random', got {value!r}")
        if not isinstance(value, (numbers.Real, str, tuple, list)):
            raise TypeError(f"RandomErasing: value must be a number, a sequence or 'random', got "
                            f"{type(value).__name__}")
        if len(scale) != 2 or len(ratio) != 2 or scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(f"RandomErasing: scale and ratio must be (min, max) ranges, got "
                             f"{scale!r} and {ratio!r}")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError(f"RandomErasing: scale must lie in [0, 1], got {scale!r}")
        if ratio[0] <= 0:  # log(0): a "math domain error" at the first call
            raise ValueError(f"RandomErasing: ratio must be positive, got {ratio!r}")
        self.scale, self.ratio, self.value = tuple(scale), tuple(ratio), value
        self.inplace, self.rng = bool(inplace), rng

    @staticmethod
    def get_params(img, scale, ratio, value=None, *, rng=None):
        """(top, left, height, width, values) of the rectangle (the whole image, unchanged,
        when 10 draws give none that fits)."""
        rng = resolve_rng(rng, "RandomErasing")
        c, h, w = (img.shape[-3] if img.ndim >= 3 else 1), img.shape[-2], img.shape[-1]
        area = h * w
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            erase_area = area * rng.uniform(scale[0], scale[1])
            aspect = math.exp(rng.uniform(*log_ratio))
            eh = int(round(math.sqrt(erase_area * aspect)))
            ew = int(round(math.sqrt(erase_area / aspect)))
            if not (eh < h and ew < w):
                continue
            if value is None:
                v = rng.standard_normal((c, eh, ew)).astype(np.float32)
            else:
                v = np.asarray(value, np.float64)[:, None, None]
            return int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1)), eh, ew, v
        return 0, 0, h, w, img

    def __call__(self, image):
        if not isinstance(image, Tensor):
            raise TypeError(f"RandomErasing: expected a Tensor image (ToTensor first), got "
                            f"{type(image).__name__}")
        rng = resolve_rng(self.rng, "RandomErasing")
        if rng.random() >= self.p:
            return image
        value = self.value
        if isinstance(value, numbers.Real):
            value = [float(value)]
        elif isinstance(value, str):
            value = None
        else:
            value = [float(v) for v in value]
        channels = image.shape[-3] if image.ndim >= 3 else 1
        if value is not None and len(value) not in (1, channels):
            raise ValueError(f"RandomErasing: value must be a number or one per channel "
                             f"({channels}), got {self.value!r}")
        top, left, h, w, v = self.get_params(image, self.scale, self.ratio, value, rng=rng)
        if v is image:
            return image
        return adj.erase(image, top, left, h, w, v, self.inplace)

    def __repr__(self) -> str:
        return (f"RandomErasing(p={self.p}, scale={self.scale}, ratio={self.ratio}, "
                f"value={self.value}, inplace={self.inplace})")


class LinearTransformation:
    """``(x.flatten() - mean_vector) @ transformation_matrix`` for each (C, H, W) Tensor image
    (ZCA whitening, as torchvision's); a batch is transformed image by image."""

    def __init__(self, transformation_matrix, mean_vector):
        matrix = np.asarray(getattr(transformation_matrix, "_data", transformation_matrix))
        mean = np.asarray(getattr(mean_vector, "_data", mean_vector))
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"LinearTransformation: transformation_matrix must be square, got "
                             f"shape {matrix.shape}")
        if mean.shape != (matrix.shape[0],):
            raise ValueError(f"LinearTransformation: mean_vector must have shape "
                             f"({matrix.shape[0]},), got {mean.shape}")
        self.transformation_matrix, self.mean_vector = matrix, mean

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"LinearTransformation: expected a Tensor image, got "
                            f"{type(tensor).__name__}")
        a = tensor._data
        n = int(np.prod(a.shape[-3:]))
        if n != self.mean_vector.size:
            raise ValueError(f"LinearTransformation: a (C, H, W) image of {n} values does not fit "
                             f"the {self.mean_vector.size}-value matrix (shape {a.shape})")
        flat = a.reshape(-1, n) - self.mean_vector.astype(a.dtype)
        return Tensor((flat @ self.transformation_matrix.astype(a.dtype)).reshape(a.shape))

    def __repr__(self) -> str:
        return f"LinearTransformation(size={self.transformation_matrix.shape[0]})"


class ConvertImageDtype:
    """A Tensor image in ``dtype``, its values rescaled (``convert_image_dtype``)."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def __call__(self, image):
        return adj.convert_image_dtype(image, self.dtype)

    def __repr__(self) -> str:
        return f"ConvertImageDtype(dtype={self.dtype})"


class PILToTensor:
    """A PIL image (or an (H, W[, C]) array, chainrule's stand-in for one) as a (C, H, W)
    Tensor of its own dtype, unscaled."""

    def __call__(self, image):
        if isinstance(image, Tensor) or not (_is_pil(image) or isinstance(image, np.ndarray)):
            raise TypeError(f"PILToTensor: expected a PIL image or a NumPy array, got "
                            f"{type(image).__name__}")
        a = np.asarray(image)
        if a.ndim not in (2, 3):
            raise ValueError(f"PILToTensor: expected an (H, W) or (H, W, C) image, got shape "
                             f"{a.shape}")
        return Tensor(np.ascontiguousarray((a[:, :, None] if a.ndim == 2 else a)
                                           .transpose(2, 0, 1)))

    def __repr__(self) -> str:
        return "PILToTensor()"


class ToPILImage:
    """A (C, H, W) Tensor or an (H, W[, C]) array as a PIL image (needs Pillow): floats are
    multiplied by 255 and truncated to uint8 (kept as floats for ``mode="F"``), one int16
    channel is an "I;16" image, as torchvision's ``to_pil_image``."""

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, image):
        try:
            from PIL import Image
        except ImportError as e:
            raise ImportError('ToPILImage: needs Pillow: pip install "chainrule[viz]"') from e
        if isinstance(image, Tensor):
            a = image.numpy()
            if a.ndim not in (2, 3):
                raise ValueError(f"ToPILImage: expected a (C, H, W) or (H, W) Tensor, got "
                                 f"shape {a.shape}")
            a = a if a.ndim == 2 else a.transpose(1, 2, 0)
        else:
            a = np.asarray(image)
        if a.ndim == 3 and a.shape[2] > 4:  # else Pillow's "Cannot handle this data type"
            raise ValueError(f"ToPILImage: pic should not have > 4 channels, got {a.shape[2]}")
        if a.dtype.kind == "f":  # mode "F" keeps the floats, as float32: Pillow read a float64
            a = (a * 255).astype(np.uint8) if self.mode != "F" else a.astype(np.float32)
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[:, :, 0]
        if a.dtype == np.bool_ and a.ndim == 2 and self.mode == "1":  # Pillow's mode="1" read
            return Image.fromarray(np.ascontiguousarray(a))  # the bools as 0 bits
        if a.ndim == 2 and a.dtype == np.int16 and self.mode in (None, "I;16"):
            # torchvision's mode for int16: "I;16" (its 16 bits read unsigned)
            return Image.fromarray(np.ascontiguousarray(a).view(np.uint16))
        if self.mode == "F" and a.ndim == 2 and a.dtype == np.float32:
            return Image.fromarray(np.ascontiguousarray(a))
        return Image.fromarray(np.ascontiguousarray(a), mode=self.mode) if self.mode else \
            Image.fromarray(np.ascontiguousarray(a))

    def __repr__(self) -> str:
        return f"ToPILImage(mode={self.mode})"


def _transforms(who, transforms):
    transforms = list(transforms)
    for t in transforms:
        if not callable(t):
            raise TypeError(f"{who}: every transform must be callable, got {t!r}")
    return transforms


class RandomApply:
    """Apply all of ``transforms`` in order with probability ``p``, else none."""

    def __init__(self, transforms, p: float = 0.5, *, rng=None):
        self.transforms = _transforms("RandomApply", transforms)
        self.p, self.rng = _probability("RandomApply", p), rng

    def __call__(self, image):
        if resolve_rng(self.rng, "RandomApply").random() >= self.p:
            return image
        for t in self.transforms:
            image = t(image)
        return image

    def __repr__(self) -> str:
        return f"RandomApply(p={self.p}, transforms={self.transforms!r})"


class RandomChoice:
    """Apply one of ``transforms``, picked with the weights ``p`` (default: equally)."""

    def __init__(self, transforms, p=None, *, rng=None):
        self.transforms = _transforms("RandomChoice", transforms)
        if p is not None:
            p = [float(v) for v in p]
            if len(p) != len(self.transforms) or any(v < 0 for v in p) or sum(p) <= 0:
                raise ValueError(f"RandomChoice: p must be one non-negative weight per "
                                 f"transform ({len(self.transforms)}), got {p!r}")
        self.p, self.rng = p, rng

    def __call__(self, image):
        weights = None if self.p is None else np.asarray(self.p) / sum(self.p)
        k = int(resolve_rng(self.rng, "RandomChoice").choice(len(self.transforms), p=weights))
        return self.transforms[k](image)

    def __repr__(self) -> str:
        return f"RandomChoice(transforms={self.transforms!r}, p={self.p})"


class RandomOrder:
    """Apply all of ``transforms`` in a random order."""

    def __init__(self, transforms, *, rng=None):
        self.transforms, self.rng = _transforms("RandomOrder", transforms), rng

    def __call__(self, image):
        for k in resolve_rng(self.rng, "RandomOrder").permutation(len(self.transforms)):
            image = self.transforms[int(k)](image)
        return image

    def __repr__(self) -> str:
        return f"RandomOrder(transforms={self.transforms!r})"
