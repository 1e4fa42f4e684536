"""torchvision's functional colour and pixel operations, by its tensor arithmetic.

Each takes a Tensor (..., C, H, W), an array (H, W) or (H, W, C), or a PIL image (as its array),
and gives back the same kind. Integer images keep their dtype: a blend (brightness, contrast,
saturation, sharpness) is clamped to [0, 255] and truncated, as torchvision's ``.to(uint8)``.
Float images live in [0, 1].
"""

from __future__ import annotations

import numbers

import numpy as np

from ...autograd.mode import is_grad_enabled
from ...autograd.tensor import Tensor
from .._color import ColorJitter
from .._image import _Image

__all__ = ["adjust_brightness", "adjust_contrast", "adjust_gamma", "adjust_hue",
           "adjust_saturation", "adjust_sharpness", "autocontrast", "convert_image_dtype",
           "equalize", "erase", "gaussian_blur", "invert", "posterize", "rgb_to_grayscale",
           "solarize"]


class _CHW:
    """An image as a channel-first array (..., C, H, W), and the way back to its kind."""

    def __init__(self, image, who: str, channels=(1, 3)):
        self.image = _Image(image, who)
        a = self.image.array
        if self.image.kind == "tensor":
            self.array = a if a.ndim >= 3 else a[None]
        else:
            self.array = a[None] if a.ndim == 2 else np.moveaxis(a, 2, 0)
        if channels is not None and self.array.shape[-3] not in channels:
            raise ValueError(f"{who}: expected an image with {' or '.join(map(str, channels))} "
                             f"channels, got shape {a.shape}")
        self.dtype = a.dtype
        self.who = who

    @property
    def channels(self) -> int:
        return self.array.shape[-3]

    def bound(self) -> float:
        if self.dtype.kind == "f":
            return 1.0
        if self.dtype.kind in "ui":
            return float(np.iinfo(self.dtype).max)
        raise TypeError(f"{self.who}: expected a float or integer image, got dtype {self.dtype}")

    def back(self, chw):
        chw = np.asarray(chw).astype(self.dtype, copy=False)
        a = self.image.array
        if self.image.kind == "tensor":
            return self.image.back(chw if a.ndim >= 3 else chw[0])
        if chw.shape[0] == 1:  # one channel: (H, W), as PIL's "L" images
            return self.image.back(chw[0])
        return self.image.back(np.moveaxis(chw, 0, 2))


def _blend(chw: _CHW, a, other, ratio: float):
    out = np.clip(ratio * a + (1.0 - ratio) * other, 0.0, chw.bound())
    return np.trunc(out) if chw.dtype.kind != "f" else out


def _work(a):
    return a if a.dtype.kind == "f" else a.astype(np.float32)


def _check_factor(who, name, value):
    if not isinstance(value, numbers.Real) or value < 0:
        raise ValueError(f"{who}: {name} must be a non-negative number, got {value!r}")
    return float(value)


def _grey(a, dtype):
    """torchvision's luma (ITU-R 601-2) of (..., 3, H, W), cast back to ``dtype`` (truncated
    for integers), keeping a channel axis of 1."""
    a = _work(a)
    r, g, b = a[..., 0, :, :], a[..., 1, :, :], a[..., 2, :, :]
    return (0.2989 * r + 0.587 * g + 0.114 * b).astype(dtype)[..., None, :, :]


def rgb_to_grayscale(img, num_output_channels: int = 1):
    """The grey level of an RGB image (0.2989 R + 0.587 G + 0.114 B), as 1 or 3 channels."""
    if num_output_channels not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: num_output_channels must be 1 or 3, got "
                         f"{num_output_channels!r}")
    chw = _CHW(img, "rgb_to_grayscale")
    a = chw.array
    grey = _grey(a, chw.dtype) if chw.channels == 3 else a.copy()
    if num_output_channels == 3:
        grey = np.repeat(grey, 3, axis=-3)
    return chw.back(grey)


def adjust_brightness(img, brightness_factor: float):
    """Blend with black: 0 gives black, 1 the image, 2 twice as bright (clamped)."""
    f = _check_factor("adjust_brightness", "brightness_factor", brightness_factor)
    chw = _CHW(img, "adjust_brightness")
    return chw.back(_blend(chw, _work(chw.array), 0.0, f))


def adjust_contrast(img, contrast_factor: float):
    """Blend with the image's mean grey level: 0 gives a flat grey image, 1 the image."""
    f = _check_factor("adjust_contrast", "contrast_factor", contrast_factor)
    chw = _CHW(img, "adjust_contrast")
    a = chw.array
    work = a.dtype if a.dtype.kind == "f" else np.float32
    grey = _grey(a, chw.dtype) if chw.channels == 3 else a
    mean = grey.astype(work).mean(axis=(-3, -2, -1), keepdims=True)
    return chw.back(_blend(chw, _work(a), mean, f))


def adjust_saturation(img, saturation_factor: float):
    """Blend with the grey version: 0 gives grey, 1 the image, 2 doubles the saturation."""
    f = _check_factor("adjust_saturation", "saturation_factor", saturation_factor)
    chw = _CHW(img, "adjust_saturation")
    if chw.channels == 1:
        return img
    return chw.back(_blend(chw, _work(chw.array), _work(_grey(chw.array, chw.dtype)), f))


def adjust_hue(img, hue_factor: float):
    """Turn every pixel's hue by ``hue_factor`` (in [-0.5, 0.5]) of the colour circle."""
    if not isinstance(hue_factor, numbers.Real) or not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor must be in [-0.5, 0.5], got {hue_factor!r}")
    chw = _CHW(img, "adjust_hue")
    a = chw.array
    integer = a.dtype.kind != "f"
    out = ColorJitter._hue(a.astype(np.float64) if integer else a, a.ndim - 3,
                           float(hue_factor), integer)
    return chw.back(out)


def adjust_sharpness(img, sharpness_factor: float):
    """Blend with a smoothed copy (3 x 3 kernel, 5 at the centre, 1 around; border pixels
    kept): 0 blurs, 1 gives the image, 2 sharpens."""
    f = _check_factor("adjust_sharpness", "sharpness_factor", sharpness_factor)
    chw = _CHW(img, "adjust_sharpness")
    a = chw.array
    h, w = a.shape[-2:]
    if h <= 2 or w <= 2:
        return img
    work = _work(a)
    kernel = np.ones((3, 3), work.dtype)
    kernel[1, 1] = 5.0
    kernel /= kernel.sum()
    smooth = sum(kernel[i, j] * work[..., i:h - 2 + i, j:w - 2 + j]
                 for i in range(3) for j in range(3))
    if a.dtype.kind != "f":
        smooth = np.rint(smooth)
    degenerate = work.copy()
    degenerate[..., 1:-1, 1:-1] = smooth.astype(a.dtype).astype(work.dtype)
    return chw.back(_blend(chw, work, degenerate, f))


def adjust_gamma(img, gamma: float, gain: float = 1.0):
    """``gain * image ** gamma`` on the [0, 1] scale, clamped to it."""
    if not isinstance(gamma, numbers.Real) or gamma < 0:
        raise ValueError(f"adjust_gamma: gamma must be a non-negative number, got {gamma!r}")
    chw = _CHW(img, "adjust_gamma", None)
    a = chw.array
    if a.dtype.kind == "f":
        return chw.back(np.clip(gain * a ** gamma, 0.0, 1.0))
    top = chw.bound()
    out = np.clip(gain * (a.astype(np.float32) / np.float32(top)) ** gamma, 0.0, 1.0)
    return chw.back(out * (top + 1.0 - 1e-3))


def invert(img):
    """``max - image`` (1 - x for floats, 255 - x for uint8)."""
    chw = _CHW(img, "invert")
    return chw.back(chw.bound() - chw.array.astype(np.float64 if chw.dtype.kind != "f"
                                                   else chw.dtype))


def posterize(img, bits: int):
    """Keep the ``bits`` highest bits of each value of a uint8 image."""
    if not isinstance(bits, numbers.Integral) or not 0 <= bits <= 8:
        raise ValueError(f"posterize: bits must be an int in 0..8, got {bits!r}")
    chw = _CHW(img, "posterize")
    if chw.dtype != np.uint8:
        raise TypeError(f"posterize: expected a uint8 image, got dtype {chw.dtype}")
    return chw.back(chw.array & np.uint8((0xFF << (8 - int(bits))) & 0xFF))


def solarize(img, threshold: float):
    """Invert the values at or above ``threshold``."""
    chw = _CHW(img, "solarize")
    if not isinstance(threshold, numbers.Real) or threshold > chw.bound():
        raise TypeError(f"solarize: threshold must be a number at most the image's maximum "
                        f"{chw.bound():g}, got {threshold!r}")
    a = chw.array
    return chw.back(np.where(a >= threshold, chw.bound() - a.astype(np.float64), a))


def autocontrast(img):
    """Stretch each channel to the full range (its minimum to 0, its maximum to the top)."""
    chw = _CHW(img, "autocontrast")
    a, bound = chw.array, chw.bound()
    work = a.dtype if a.dtype.kind == "f" else np.float32
    low = a.min(axis=(-2, -1), keepdims=True).astype(work)
    high = a.max(axis=(-2, -1), keepdims=True).astype(work)
    # bound / spread as PyTorch computes a number over a tensor: the reciprocal times it; where
    # that is not finite (a flat channel, a NaN in it, a float16 spread too small), torchvision
    # keeps the channel (scale 1, minimum 0): a NaN pixel made its whole channel NaN here
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = (1.0 / (high - low)).astype(work) * bound
    flat = ~np.isfinite(scale)
    scale = np.where(flat, 1.0, scale).astype(work)
    low = np.where(flat, 0.0, low).astype(work)
    out = np.clip((a - low) * scale, 0.0, bound)
    return chw.back(np.trunc(out) if a.dtype.kind != "f" else out)


def _equalize_plane(plane):
    hist = np.bincount(plane.reshape(-1), minlength=256).astype(np.int64)
    used = hist[hist != 0]
    step = int(used[:-1].sum()) // 255
    if step == 0:
        return plane
    lut = (np.cumsum(hist) + step // 2) // step
    lut = np.clip(np.concatenate([[0], lut[:-1]]), 0, 255).astype(np.uint8)
    return lut[plane]


def equalize(img):
    """Equalise the histogram of each channel of a uint8 image (PIL's ``ImageOps.equalize``
    rule)."""
    chw = _CHW(img, "equalize")
    if chw.dtype != np.uint8:
        raise TypeError(f"equalize: expected a uint8 image, got dtype {chw.dtype}")
    a = chw.array
    planes = a.reshape(-1, *a.shape[-2:])
    return chw.back(np.stack([_equalize_plane(p) for p in planes]).reshape(a.shape))


def _kernel_sizes(kernel_size):
    sizes = [kernel_size] * 2 if isinstance(kernel_size, numbers.Integral) else \
        list(kernel_size)
    if len(sizes) == 1:
        sizes = sizes * 2
    if len(sizes) != 2 or not all(isinstance(k, numbers.Integral) and k > 0 and k % 2
                                  for k in sizes):
        raise ValueError(f"gaussian_blur: kernel_size must be odd and positive ints (kx, ky), "
                         f"got {kernel_size!r}")
    return [int(k) for k in sizes]


def posterize_v2(img, bits: int):
    """torchvision.transforms.v2's posterize: uint8 as ``posterize``; a float image in [0, 1]
    quantised to ``2 ** bits`` levels, ``floor(x * levels).clamp(0, levels - 1) / levels``."""
    chw = _CHW(img, "posterize", channels=None)  # v2's: any number of channels
    if not isinstance(bits, numbers.Integral) or not 0 <= bits <= 8:
        raise ValueError(f"posterize: bits must be an int in 0..8, got {bits!r}")
    if chw.dtype == np.uint8:
        return chw.back(chw.array & np.uint8((0xFF << (8 - int(bits))) & 0xFF))
    if chw.dtype.kind != "f":
        raise TypeError(f"posterize: expected a uint8 or float image, got dtype {chw.dtype}")
    levels = 1 << int(bits)
    out = np.clip(np.floor(chw.array * chw.dtype.type(levels)), 0, levels - 1)
    return chw.back(out * chw.dtype.type(1.0 / levels))


def equalize_v2(img):
    """torchvision.transforms.v2's equalize: a float image through uint8 (``x * 255.999``
    truncated, equalised, times ``1 / 255``), uint8 as ``equalize``."""
    chw = _CHW(img, "equalize", channels=None)  # v2's: any number of channels
    a = chw.array
    if chw.dtype.kind != "f":
        if chw.dtype != np.uint8:
            raise TypeError(f"equalize: expected a uint8 or float image, got dtype {chw.dtype}")
        planes = a.reshape(-1, *a.shape[-2:])
        return chw.back(np.stack([_equalize_plane(p) for p in planes]).reshape(a.shape))
    work = a.astype(np.float32) if a.dtype.itemsize < 4 else a  # as convert_image_dtype
    as_uint8 = np.clip(work * work.dtype.type(255 + 1.0 - 1e-3), 0, 255).astype(np.uint8)
    planes = as_uint8.reshape(-1, *a.shape[-2:])
    out = np.stack([_equalize_plane(p) for p in planes]).reshape(a.shape)
    return chw.back(out.astype(chw.dtype) * chw.dtype.type(1.0 / 255))


def gaussian_kernel1d(size: int, sigma: float, dtype=np.float64):
    """The normalised Gaussian taps at -(size-1)/2..(size-1)/2."""
    half = (size - 1) * 0.5
    x = np.linspace(-half, half, size, dtype=dtype)
    pdf = np.exp(-0.5 * (x / dtype(sigma)) ** 2)
    return pdf / pdf.sum()


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a Gaussian of ``kernel_size`` (kx, ky) taps and ``sigma`` (sx, sy; default
    0.15 * size + 0.35), the borders reflected, as torchvision's ``gaussian_blur``."""
    kx, ky = _kernel_sizes(kernel_size)
    if sigma is None:
        sigma = [kx * 0.15 + 0.35, ky * 0.15 + 0.35]
    sigmas = [sigma] * 2 if isinstance(sigma, numbers.Real) else list(sigma)
    if len(sigmas) == 1:
        sigmas = sigmas * 2
    if len(sigmas) != 2 or not all(isinstance(s, numbers.Real) and s > 0 for s in sigmas):
        raise ValueError(f"gaussian_blur: sigma must be positive (sx, sy), got {sigma!r}")
    chw = _CHW(img, "gaussian_blur", None)
    a = chw.array
    h, w = a.shape[-2:]
    if ky // 2 >= h or kx // 2 >= w:
        raise ValueError(f"gaussian_blur: kernel_size {(kx, ky)} needs an image larger than "
                         f"half of it to reflect, got {(h, w)}")
    work = _work(a)
    kern_x = gaussian_kernel1d(kx, float(sigmas[0]), work.dtype.type)
    kern_y = gaussian_kernel1d(ky, float(sigmas[1]), work.dtype.type)
    widths = [(0, 0)] * (work.ndim - 2) + [(ky // 2, ky // 2), (kx // 2, kx // 2)]
    padded = np.pad(work, widths, mode="reflect")
    # the 2-D kernel is the outer product of the two: blur the rows, then the columns
    rows = sum(kern_x[j] * padded[..., :, j:j + w] for j in range(kx))
    out = sum(kern_y[i] * rows[..., i:i + h, :] for i in range(ky))
    return chw.back(np.rint(out) if a.dtype.kind != "f" else out)


def erase(img, i: int, j: int, h: int, w: int, v, inplace: bool = False):
    """The image with the ``h`` x ``w`` window at row ``i``, column ``j`` set to ``v`` (a
    number, or an array that broadcasts to the (C, h, w) window)."""
    if not isinstance(img, Tensor):
        raise TypeError(f"erase: expected a Tensor image, got {type(img).__name__}")
    values = v._data if isinstance(v, Tensor) else np.asarray(v)
    if (img.requires_grad or getattr(v, "requires_grad", False)) and is_grad_enabled():
        # recorded, as torchvision's slice assignment (a leaf refused, the window's gradient 0);
        # the data written behind autograd's back gave the old values' gradient silently
        out = img if inplace else img.clone()
        out[..., i:i + h, j:j + w] = v if isinstance(v, Tensor) else Tensor(
            values.astype(np.dtype(img.dtype)))
        return out
    if inplace:
        img._data[..., i:i + h, j:j + w] = values
        img._mark_changed()
        return img
    out = img._data.copy()
    out[..., i:i + h, j:j + w] = values
    return Tensor(out)


def convert_image_dtype(image, dtype=np.float32):
    """A Tensor image converted to ``dtype`` with its values rescaled between the dtypes'
    ranges (integers 0..max, floats 0..1), as torchvision's ``convert_image_dtype``."""
    if not isinstance(image, Tensor):
        raise TypeError(f"convert_image_dtype: expected a Tensor image, got "
                        f"{type(image).__name__}")
    source, target = np.dtype(image.dtype), np.dtype(dtype)
    a = image._data
    if source == target:
        return image
    if source.kind == "f":
        if target.kind == "f":
            return Tensor(a.astype(target))
        if (source == np.float32 and target in (np.int32, np.int64)) or \
                (source == np.float64 and target == np.int64):
            raise RuntimeError(f"convert_image_dtype: the cast from {source} to {target} cannot "
                               "be performed safely")
        # float16 in float32: 255.999 rounds to 256 in float16, so white (1.0) became 0
        # (torchvision's own result, deliberately not followed) and 0.5 became 128
        work = a.astype(np.float32) if source.itemsize < 4 else a
        return Tensor((work * (np.iinfo(target).max + 1.0 - 1e-3)).astype(target))
    in_max = int(np.iinfo(source).max)
    if target.kind == "f":
        return Tensor(a.astype(target) / target.type(in_max))
    out_max = int(np.iinfo(target).max)
    if in_max > out_max:
        return Tensor((a // ((in_max + 1) // (out_max + 1))).astype(target))
    return Tensor(a.astype(target) * target.type((out_max + 1) // (in_max + 1)))
