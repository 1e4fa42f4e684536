"""torchvision's random geometry (``RandomRotation``, ``RandomAffine``, ``RandomPerspective``,
``ElasticTransform``) and ``Pad``, ``FiveCrop``, ``TenCrop``, by torchvision's rules.

The random ones draw their parameters by torchvision's ``get_params`` rules (a static method of
each class here too, taking ``rng=``) from ``rng`` or the default generator, and warp with the
functions of ``_warp`` (Tensors and arrays by torchvision's tensor arithmetic, PIL images through
Pillow). A number ``fill`` fills every channel.
"""

from __future__ import annotations

import numbers

import numpy as np

from ...autograd.tensor import Tensor
from ...backend.random import resolve_rng
from .._image import _Image
from ._adjust import gaussian_blur
from ._resize import InterpolationMode, interpolation_name
from ._warp import affine, elastic_transform, perspective, rotate

__all__ = ["ElasticTransform", "FiveCrop", "Pad", "RandomAffine", "RandomPerspective",
           "RandomRotation", "TenCrop", "five_crop", "pad", "ten_crop"]


def _angle_range(who: str, name: str, value, sizes=(2,)) -> tuple[float, ...]:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{who}: {name} as a single number must be non-negative, got "
                             f"{value!r}")
        return -float(value), float(value)
    try:
        values = tuple(float(v) for v in value)
    except TypeError:
        raise TypeError(f"{who}: {name} must be a number or a sequence of numbers, got "
                        f"{value!r}") from None
    if len(values) not in sizes:
        raise ValueError(f"{who}: {name} must be a number or a sequence of "
                         f"{' or '.join(map(str, sizes))} numbers, got {value!r}")
    return values


def _check_fill(who: str, fill):
    if fill is None:
        return 0
    if not isinstance(fill, (numbers.Real, list, tuple)):
        raise TypeError(f"{who}: fill must be a number or a sequence of numbers, got "
                        f"{type(fill).__name__}")
    return fill


def _tensor_fill(image, fill):
    """A number fill as one value per channel for arrays and Tensors (torchvision's forward)."""
    if _Image(image, "fill").kind == "pil":
        return fill
    return [float(f) for f in np.atleast_1d(fill)]


def _rng(rng, who):
    return resolve_rng(rng, who)


class RandomRotation:
    """Rotate by an angle drawn from ``degrees`` ((-d, d) for a number d), counter-clockwise.

    Args:
        degrees: a number d >= 0 or a (min, max) range, in degrees.
        interpolation: NEAREST (default) or BILINEAR (PIL images: any Pillow resampling).
        expand: enlarge the output to hold the whole rotated image.
        center: (x, y) in pixels to turn about (default: the image centre).
        fill: the value (or one per channel) of pixels from outside the image.
        rng: numpy Generator (None: the default generator).
    """

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand: bool = False,
                 center=None, fill=0, *, rng=None):
        self.degrees = _angle_range("RandomRotation", "degrees", degrees)
        self.interpolation = InterpolationMode(interpolation_name("RandomRotation",
                                                                  interpolation))
        if center is not None and len(center) != 2:
            raise ValueError(f"RandomRotation: center must be an (x, y) pair, got {center!r}")
        self.expand, self.center, self.fill = bool(expand), center, _check_fill(
            "RandomRotation", fill)
        self.rng = rng

    @staticmethod
    def get_params(degrees, *, rng=None) -> float:
        return float(_rng(rng, "RandomRotation").uniform(degrees[0], degrees[1]))

    def __call__(self, image):
        angle = self.get_params(self.degrees, rng=self.rng)
        return rotate(image, angle, self.interpolation, self.expand, self.center,
                      _tensor_fill(image, self.fill))

    def __repr__(self) -> str:
        return (f"RandomRotation(degrees={self.degrees}, interpolation="
                f"{self.interpolation.value}, expand={self.expand}, fill={self.fill})")


class RandomAffine:
    """A random rotation (clockwise), translation, scaling and shear about the image centre.

    Args:
        degrees: rotation drawn from [-degrees, degrees] (or a (min, max) pair).
        translate: (a, b): shifts up to a * width horizontally and b * height vertically,
            rounded to whole pixels.
        scale: (min, max) of the zoom factor.
        shear: x-shear drawn from [-s, s] for a number s, from (min, max) for a pair, and also a
            y-shear from the last two of four numbers (degrees).
        interpolation: NEAREST (default) or BILINEAR (PIL images: any Pillow resampling).
        fill: the value (or one per channel) of pixels from outside the image.
        center: (x, y) in pixels (default: the image centre).
        rng: numpy Generator (None: the default generator).
    """

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0, center=None, *, rng=None):
        self.degrees = _angle_range("RandomAffine", "degrees", degrees)
        if translate is not None:
            if len(translate) != 2 or not all(0.0 <= t <= 1.0 for t in translate):
                raise ValueError(f"RandomAffine: translate must be two fractions in [0, 1], got "
                                 f"{translate!r}")
            translate = tuple(float(t) for t in translate)
        if scale is not None:
            if len(scale) != 2 or not all(s > 0 for s in scale):
                raise ValueError(f"RandomAffine: scale must be two positive numbers, got "
                                 f"{scale!r}")
            scale = tuple(float(s) for s in scale)
        self.translate, self.scale = translate, scale
        self.shear = None if shear is None else _angle_range("RandomAffine", "shear", shear,
                                                             (2, 4))
        self.interpolation = InterpolationMode(interpolation_name("RandomAffine",
                                                                  interpolation))
        self.fill, self.center, self.rng = _check_fill("RandomAffine", fill), center, rng

    @staticmethod
    def get_params(degrees, translate, scale_ranges, shears, img_size, *, rng=None):
        """(angle, (tx, ty), scale, (shear_x, shear_y)) for an image of ``img_size`` =
        (width, height), by torchvision's rule."""
        rng = _rng(rng, "RandomAffine")
        angle = float(rng.uniform(degrees[0], degrees[1]))
        tx = ty = 0
        if translate is not None:
            max_dx, max_dy = translate[0] * img_size[0], translate[1] * img_size[1]
            tx = int(round(rng.uniform(-max_dx, max_dx)))
            ty = int(round(rng.uniform(-max_dy, max_dy)))
        s = float(rng.uniform(*scale_ranges)) if scale_ranges is not None else 1.0
        shear_x = shear_y = 0.0
        if shears is not None:
            shear_x = float(rng.uniform(shears[0], shears[1]))
            if len(shears) == 4:
                shear_y = float(rng.uniform(shears[2], shears[3]))
        return angle, (tx, ty), s, (shear_x, shear_y)

    def __call__(self, image):
        h, w = _Image(image, "RandomAffine").size
        angle, translate, s, shear = self.get_params(self.degrees, self.translate, self.scale,
                                                     self.shear, (w, h), rng=self.rng)
        return affine(image, angle, translate, s, shear, self.interpolation,
                      _tensor_fill(image, self.fill), self.center)

    def __repr__(self) -> str:
        return (f"RandomAffine(degrees={self.degrees}, translate={self.translate}, "
                f"scale={self.scale}, shear={self.shear}, "
                f"interpolation={self.interpolation.value})")


class RandomPerspective:
    """With probability ``p``, move each corner inwards by up to ``distortion_scale`` of half
    the width and height (torchvision's ``get_params``) and warp the image to match."""

    def __init__(self, distortion_scale: float = 0.5, p: float = 0.5,
                 interpolation=InterpolationMode.BILINEAR, fill=0, *, rng=None):
        if not 0.0 <= distortion_scale <= 1.0:
            raise ValueError(f"RandomPerspective: distortion_scale must be in [0, 1], got "
                             f"{distortion_scale!r}")
        if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomPerspective: p must be a probability in [0, 1], got {p!r}")
        self.distortion_scale, self.p = float(distortion_scale), float(p)
        self.interpolation = InterpolationMode(interpolation_name("RandomPerspective",
                                                                  interpolation))
        self.fill, self.rng = _check_fill("RandomPerspective", fill), rng

    @staticmethod
    def get_params(width: int, height: int, distortion_scale: float, *, rng=None):
        """(startpoints, endpoints): the image's corners and where they move."""
        rng = _rng(rng, "RandomPerspective")
        dx, dy = int(distortion_scale * (width // 2)), int(distortion_scale * (height // 2))

        def near(size, d):
            return int(rng.integers(0, d + 1))

        def far(size, d):
            return int(rng.integers(size - d - 1, size))

        top_left = [near(width, dx), near(height, dy)]
        top_right = [far(width, dx), near(height, dy)]
        bottom_right = [far(width, dx), far(height, dy)]
        bottom_left = [near(width, dx), far(height, dy)]
        start = [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]]
        return start, [top_left, top_right, bottom_right, bottom_left]

    def __call__(self, image):
        rng = _rng(self.rng, "RandomPerspective")
        if rng.random() < self.p:
            h, w = _Image(image, "RandomPerspective").size
            start, end = self.get_params(w, h, self.distortion_scale, rng=rng)
            return perspective(image, start, end, self.interpolation,
                               _tensor_fill(image, self.fill))
        return image

    def __repr__(self) -> str:
        return f"RandomPerspective(p={self.p})"


_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _padding(who, padding):
    if not isinstance(padding, (numbers.Integral, tuple, list)):
        raise TypeError(f"{who}: padding must be an int or a sequence of 1, 2 or 4 ints, got "
                        f"{padding!r}")
    pads = (padding,) * 4 if isinstance(padding, numbers.Integral) else tuple(padding)
    if len(pads) == 1:
        pads = pads * 4
    if len(pads) == 2:
        pads = (pads[0], pads[1], pads[0], pads[1])
    if len(pads) != 4 or not all(isinstance(p, numbers.Integral) for p in pads):
        raise ValueError(f"{who}: padding must be an int or a sequence of 1, 2 or 4 ints, got "
                         f"{padding!r}")
    return tuple(int(p) for p in pads)


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """``img`` with ``padding`` (an int, (left/right, top/bottom) or (left, top, right,
    bottom); negative values crop) added on its borders, as torchvision's ``pad``."""
    left, top, right, bottom = _padding("pad", padding)
    if padding_mode not in _PAD_MODES:
        raise ValueError(f"pad: padding_mode must be one of {list(_PAD_MODES)}, got "
                         f"{padding_mode!r}")
    image = _Image(img, "pad")
    a = image.array
    h, w = image.size
    if max(-top, 0) + max(-bottom, 0) > h or max(-left, 0) + max(-right, 0) > w:
        raise ValueError(f"pad: negative padding {padding!r} crops more than the image's "
                         f"{h} x {w}")
    index = [slice(None)] * a.ndim  # negative padding crops
    index[image.h_axis] = slice(max(-top, 0), h - max(-bottom, 0))
    index[image.w_axis] = slice(max(-left, 0), w - max(-right, 0))
    widths = [(0, 0)] * a.ndim
    widths[image.h_axis] = (max(top, 0), max(bottom, 0))
    widths[image.w_axis] = (max(left, 0), max(right, 0))
    if padding_mode == "reflect" and image.kind == "tensor":
        # PyTorch's reflection padding (torchvision's tensor path): the positive sides reflect
        # the whole image, less than its size, and the negative ones crop after
        if max(top, bottom) >= h or max(left, right) >= w:
            raise ValueError(f"pad: reflect padding {padding!r} must be less than the image's "
                             f"size {h} x {w} on each side")
        padded = np.pad(a, widths, mode="reflect")
        index[image.h_axis] = slice(max(-top, 0), padded.shape[image.h_axis] - max(-bottom, 0))
        index[image.w_axis] = slice(max(-left, 0), padded.shape[image.w_axis] - max(-right, 0))
        return image.back(padded[tuple(index)])
    a = a[tuple(index)]
    if padding_mode != "constant":
        return image.back(np.pad(a, widths, mode=padding_mode))
    values = np.atleast_1d(np.asarray(fill))
    info = np.iinfo(a.dtype) if a.dtype.kind in "ui" else None  # 300 became 44 in uint8
    if info is not None and not all(info.min <= v <= info.max for v in values.ravel().tolist()):
        raise ValueError(f"pad: fill {fill!r} cannot be converted to {a.dtype} without overflow "
                         f"(PyTorch's error): the image holds {info.min}..{info.max}")
    if values.size == 1 or image.c_axis is None:
        return image.back(np.pad(a, widths, constant_values=values.reshape(-1)[0]))
    if values.size != a.shape[image.c_axis]:
        raise ValueError(f"pad: fill must be a number or one per channel ({a.shape[image.c_axis]})"
                         f", got {fill!r}")
    planes = [np.pad(np.take(a, c, axis=image.c_axis), [wd for i, wd in enumerate(widths)
                                                         if i != image.c_axis],
                     constant_values=v) for c, v in enumerate(values)]
    return image.back(np.stack(planes, axis=image.c_axis))


class Pad:
    """Pad the borders of an image (torchvision's ``Pad(padding, fill=0,
    padding_mode="constant")``)."""

    def __init__(self, padding, fill=0, padding_mode: str = "constant"):
        self.padding = _padding("Pad", padding)
        if not isinstance(fill, (numbers.Number, tuple, list)):  # torchvision's check, up front
            raise TypeError(f"Pad: fill must be a number or a tuple/list of numbers, got {fill!r}")
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"Pad: padding_mode must be one of {list(_PAD_MODES)}, got "
                             f"{padding_mode!r}")
        self.fill, self.padding_mode = fill, padding_mode

    def __call__(self, image):
        return pad(image, self.padding, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return f"Pad(padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode})"


def _crop_size(who, size):
    if isinstance(size, numbers.Real):  # a float truncated, as torchvision's _setup_size
        return int(size), int(size)
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"{who}: size must be an int or (height, width), got {size!r}")
    size = tuple(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    if len(size) != 2:
        raise ValueError(f"{who}: size must be an int or (height, width), got {size!r}")
    return int(size[0]), int(size[1])


def five_crop(img, size):
    """The four corner crops and the centre crop of ``size``: (top-left, top-right,
    bottom-left, bottom-right, centre)."""
    ch, cw = _crop_size("five_crop", size)
    image = _Image(img, "five_crop")
    h, w = image.size
    if ch > h or cw > w:
        raise ValueError(f"five_crop: requested crop size {(ch, cw)} is bigger than the image "
                         f"{(h, w)}")
    corners = [(0, 0), (0, w - cw), (h - ch, 0), (h - ch, w - cw),
               (int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0)))]
    return tuple(image.back(image.window(top, left, ch, cw)) for top, left in corners)


def ten_crop(img, size, vertical_flip: bool = False):
    """``five_crop`` of the image and of its mirror image (left-right, or upside down with
    ``vertical_flip``)."""
    image = _Image(img, "ten_crop")
    flipped = image.back(image.flipped(image.h_axis if vertical_flip else image.w_axis))
    return five_crop(img, size) + five_crop(flipped, size)


class FiveCrop:
    """The four corners and the centre, each of ``size`` (a tuple of five images)."""

    def __init__(self, size):
        self.size = _crop_size("FiveCrop", size)

    def __call__(self, image):
        return five_crop(image, self.size)

    def __repr__(self) -> str:
        return f"FiveCrop(size={self.size})"


class TenCrop:
    """``FiveCrop`` of the image and of its flipped version (a tuple of ten images)."""

    def __init__(self, size, vertical_flip: bool = False):
        self.size, self.vertical_flip = _crop_size("TenCrop", size), bool(vertical_flip)

    def __call__(self, image):
        return ten_crop(image, self.size, self.vertical_flip)

    def __repr__(self) -> str:
        return f"TenCrop(size={self.size}, vertical_flip={self.vertical_flip})"


def _pair_of_floats(who, name, value):
    values = [value] if isinstance(value, numbers.Real) else list(value)
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or not all(isinstance(v, numbers.Real) and v >= 0 for v in values):
        raise ValueError(f"{who}: {name} must be a non-negative number or a pair of them, got "
                         f"{value!r}")
    return [float(v) for v in values]


class ElasticTransform:
    """Move every pixel by a random displacement field: uniform noise in [-1, 1] blurred by a
    Gaussian of ``sigma`` (kernel 8 sigma + 1, made odd) and scaled by ``alpha`` pixels, per axis
    (x, then y), as torchvision's (Simard et al., 2003)."""

    def __init__(self, alpha=50.0, sigma=5.0, interpolation=InterpolationMode.BILINEAR, fill=0,
                 *, rng=None):
        self.alpha = _pair_of_floats("ElasticTransform", "alpha", alpha)
        self.sigma = _pair_of_floats("ElasticTransform", "sigma", sigma)
        self.interpolation = InterpolationMode(interpolation_name("ElasticTransform",
                                                                  interpolation))
        self.fill, self.rng = _check_fill("ElasticTransform", fill), rng

    @staticmethod
    def get_params(alpha, sigma, size, *, rng=None):
        """The (1, H, W, 2) displacement for an image of ``size`` = (height, width)."""
        rng = resolve_rng(rng, "ElasticTransform")
        height, width = size
        fields = []
        for axis, extent in ((0, width), (1, height)):
            d = (rng.random((1, 1, height, width), dtype=np.float32) * 2 - 1)
            if sigma[axis] > 0.0:
                k = int(8 * sigma[axis] + 1)
                k += 1 - k % 2
                d = gaussian_blur(Tensor(d), [k, k], sigma).numpy()
            fields.append(d * np.float32(alpha[axis] / extent))
        return np.concatenate(fields, axis=1).transpose(0, 2, 3, 1)

    def __call__(self, image):
        size = _Image(image, "ElasticTransform").size
        displacement = self.get_params(self.alpha, self.sigma, list(size), rng=self.rng)
        return elastic_transform(image, displacement, self.interpolation,
                                 _tensor_fill(image, self.fill))

    def __repr__(self) -> str:
        return (f"ElasticTransform(alpha={self.alpha}, sigma={self.sigma}, "
                f"interpolation={self.interpolation.value}, fill={self.fill})")
