"""``torchvision.transforms.functional``'s names: the transforms' operations with explicit
parameters (``rotate(img, angle)``, ``adjust_brightness(img, factor)``, ``crop(img, top, left,
height, width)``...).

``import chainrule.vision.transforms.functional as F`` stands in for ``import
torchvision.transforms.functional as F``. Images are Tensors (..., C, H, W), arrays (H, W[, C])
or PIL images, given back as the same kind (see ``chainrule.vision.transforms``).
"""

from __future__ import annotations

from .._image import _Image
from . import CenterCrop, Normalize, ToTensor
from ._adjust import (
    adjust_brightness,
    adjust_contrast,
    adjust_gamma,
    adjust_hue,
    adjust_saturation,
    adjust_sharpness,
    autocontrast,
    convert_image_dtype,
    equalize,
    erase,
    gaussian_blur,
    invert,
    posterize,
    rgb_to_grayscale,
    solarize,
)
from ._geometric import five_crop, pad, ten_crop
from ._pixel import PILToTensor, ToPILImage
from ._resize import InterpolationMode, _check_size, _mode, _output_size, resize_image
from ._warp import affine, elastic_transform, perspective, rotate

__all__ = ["InterpolationMode", "adjust_brightness", "adjust_contrast", "adjust_gamma",
           "adjust_hue", "adjust_saturation", "adjust_sharpness", "affine", "autocontrast",
           "center_crop", "convert_image_dtype", "crop", "elastic_transform", "equalize", "erase",
           "five_crop", "gaussian_blur", "get_dimensions", "get_image_num_channels",
           "get_image_size", "hflip", "invert", "normalize", "pad", "perspective", "pil_to_tensor",
           "posterize", "resize", "resized_crop", "rgb_to_grayscale", "rotate", "solarize",
           "ten_crop", "to_grayscale", "to_pil_image", "to_tensor", "vflip"]


def get_dimensions(img) -> list[int]:
    """[channels, height, width]."""
    image = _Image(img, "get_dimensions")
    c = 1 if image.c_axis is None else image.array.shape[image.c_axis]
    return [c, *image.size]


def get_image_num_channels(img) -> int:
    return get_dimensions(img)[0]


def get_image_size(img) -> list[int]:
    """[width, height] (torchvision's order)."""
    _, h, w = get_dimensions(img)
    return [w, h]


def hflip(img):
    """The image mirrored left to right."""
    image = _Image(img, "hflip")
    return image.back(image.flipped(image.w_axis))


def vflip(img):
    """The image upside down."""
    image = _Image(img, "vflip")
    return image.back(image.flipped(image.h_axis))


def crop(img, top: int, left: int, height: int, width: int):
    """The ``height`` x ``width`` window at (``top``, ``left``); parts outside the image are
    zero, as torchvision's."""
    image = _Image(img, "crop")
    if height < 0 or width < 0:  # torchvision's slice [top:top - 1] gave all rows but one
        raise ValueError(f"crop: height and width must be >= 0, got {height} and {width}")
    h, w = image.size
    if top < 0 or left < 0 or top + height > h or left + width > w:
        padded = pad(img, [max(-left, 0), max(-top, 0), max(left + width - w, 0),
                           max(top + height - h, 0)])
        return crop(padded, max(top, 0), max(left, 0), height, width)
    return image.back(image.window(top, left, height, width))


def center_crop(img, output_size):
    """The central ``output_size`` window (zero-padded when larger than the image)."""
    return CenterCrop(output_size)(img)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
           antialias: bool = True):
    """The image resized to ``size`` ((height, width), or the shorter edge for an int)."""
    _check_size("resize", size)
    mode = _mode("resize", interpolation)
    out = _output_size("resize", size, max_size, *_Image(img, "resize").size)
    return resize_image(img, out, mode, bool(antialias), "resize")


def resized_crop(img, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias: bool = True):
    """``crop`` then ``resize`` to ``size``."""
    return resize(crop(img, top, left, height, width), size, interpolation,
                  antialias=antialias)


def normalize(tensor, mean, std, inplace: bool = False):
    """``(x - mean[c]) / std[c]`` per channel (``Normalize``)."""
    return Normalize(mean, std, inplace)(tensor)


def to_tensor(pic):
    """An image as a (C, H, W) Tensor, uint8 as floats scaled to [0, 1], other dtypes kept
    (``ToTensor``)."""
    return ToTensor()(pic)


def pil_to_tensor(pic):
    """A PIL image (or array) as a (C, H, W) Tensor of its dtype (``PILToTensor``)."""
    return PILToTensor()(pic)


def to_pil_image(pic, mode=None):
    """A Tensor or array as a PIL image (``ToPILImage``)."""
    return ToPILImage(mode)(pic)


def to_grayscale(img, num_output_channels: int = 1):
    """``rgb_to_grayscale`` (torchvision's name for PIL images)."""
    return rgb_to_grayscale(img, num_output_channels)
