"""``torchvision.transforms.v2.functional``'s names for images: ``from
chainrule.vision.transforms.v2 import functional as F`` stands in for ``from
torchvision.transforms.v2 import functional as F``.

The geometry and colour operations are ``transforms.functional``'s (the same arithmetic in v1 and
v2 for image Tensors); v2's own: ``to_image``, ``to_dtype``, ``horizontal_flip`` and
``vertical_flip``, ``get_size`` ([height, width]), ``get_num_channels``, ``grayscale_to_rgb``,
``permute_channels``, ``gaussian_noise``, ``elastic``, and ``posterize``/``equalize`` that take
float images too. Bounding boxes, masks, key points and videos as their own types are not there.
"""

from __future__ import annotations

import numpy as np

from ....backend.defaults import get_default_dtype
from ..._image import _Image
from .._adjust import equalize_v2 as equalize
from .._adjust import posterize_v2 as posterize
from .._mix import GaussianNoise
from ..functional import (
    InterpolationMode,
    adjust_brightness,
    adjust_contrast,
    adjust_gamma,
    adjust_hue,
    adjust_saturation,
    adjust_sharpness,
    affine,
    autocontrast,
    center_crop,
    convert_image_dtype,
    crop,
    elastic_transform,
    erase,
    five_crop,
    gaussian_blur,
    get_dimensions,
    get_image_num_channels,
    get_image_size,
    hflip,
    invert,
    normalize,
    pad,
    perspective,
    pil_to_tensor,
    resize,
    resized_crop,
    rgb_to_grayscale,
    rotate,
    solarize,
    ten_crop,
    to_grayscale,
    to_pil_image,
    to_tensor,
    vflip,
)

__all__ = ["InterpolationMode", "adjust_brightness", "adjust_contrast", "adjust_gamma",
           "adjust_hue", "adjust_saturation", "adjust_sharpness", "affine", "autocontrast",
           "center_crop", "convert_image_dtype", "crop", "elastic", "elastic_transform",
           "equalize", "erase", "five_crop", "gaussian_blur", "gaussian_noise",
           "get_dimensions", "get_image_num_channels", "get_image_size", "get_num_channels",
           "get_size", "grayscale_to_rgb", "hflip", "horizontal_flip", "invert", "normalize",
           "pad", "permute_channels", "perspective", "pil_to_tensor", "posterize", "resize",
           "resized_crop", "rgb_to_grayscale", "rotate", "solarize", "ten_crop", "to_dtype",
           "to_grayscale", "to_image", "to_pil_image", "to_tensor", "vertical_flip", "vflip"]

horizontal_flip, vertical_flip, elastic = hflip, vflip, elastic_transform


def to_image(inpt):
    """An (H, W[, C]) array or PIL image (or a Tensor) as a (C, H, W) Tensor of its dtype."""
    from . import ToImage
    return ToImage()(inpt)


def to_dtype(inpt, dtype=None, scale: bool = False):
    """``inpt`` as ``dtype`` (default: the default float dtype), rescaled with ``scale``
    (v2's ``ToDtype``)."""
    from . import ToDtype
    return ToDtype(get_default_dtype() if dtype is None else dtype, scale)(inpt)


def get_size(inpt) -> list[int]:
    """[height, width] (v2's order; v1's ``get_image_size`` is [width, height])."""
    return get_dimensions(inpt)[1:]


def get_num_channels(inpt) -> int:
    return get_dimensions(inpt)[0]


def grayscale_to_rgb(inpt):
    """A one-channel image repeated to three channels; an RGB image as it is."""
    if get_dimensions(inpt)[0] >= 3:
        return inpt
    return rgb_to_grayscale(inpt, num_output_channels=3)


def permute_channels(inpt, permutation):
    """The channels of a (..., C, H, W) Tensor in the order ``permutation``."""
    image = _Image(inpt, "permute_channels")
    channels = get_dimensions(inpt)[0]
    order = [int(p) for p in permutation]
    if len(order) != channels:
        raise ValueError(f"permute_channels: length of permutation does not match number of "
                         f"channels: {len(order)} != {channels}")
    if image.c_axis is None:
        return inpt
    return image.back(np.take(image.array, order, axis=image.c_axis))


def gaussian_noise(inpt, mean: float = 0.0, sigma: float = 0.1, clip: bool = True, *, rng=None):
    """``inpt`` plus N(mean, sigma) noise (v2's ``GaussianNoise``), clipped to [0, 1]."""
    return GaussianNoise(mean, sigma, clip, rng=rng)(inpt)

