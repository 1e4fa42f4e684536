"""Warping images as torchvision's functional ``rotate``, ``affine``, ``perspective`` and
``elastic_transform`` do.

A Tensor (..., C, H, W) or an array (H, W[, C]) is sampled the way torchvision samples a tensor:
each output pixel reads the input at the inverse map of its centre (``grid_sample`` with
``align_corners=False``, zeros outside), by NEAREST (round half to even) or BILINEAR
interpolation, in the image's float precision (float32 for integer images, rounded back). With a
``fill``, a mask of ones is warped alongside and the outside is blended with the fill (BILINEAR)
or replaced by it where the mask is below one half (NEAREST), as torchvision does. A PIL image
goes through Pillow's ``rotate`` and ``transform``, torchvision's path for PIL images.
"""

from __future__ import annotations

import math
import numbers
import sys

import numpy as np

from .._image import _Image
from ._resize import InterpolationMode, interpolation_name

__all__ = ["affine", "elastic_transform", "inverse_affine_matrix", "perspective",
           "perspective_coefficients", "rotate"]

_GRID_MODES = ("nearest", "bilinear")
_PIL_RESAMPLE = {"nearest": 0, "nearest-exact": 0, "bilinear": 2, "bicubic": 3, "box": 4,
                 "hamming": 5, "lanczos": 1}


def inverse_affine_matrix(center, angle, translate, scale, shear) -> list[float]:
    """The 2 x 3 matrix (flattened) that maps an output position back to the input, for
    ``T(translate) C(center) R(angle) S(scale) Sh_y(shear[1]) Sh_x(shear[0]) C^-1`` (angles in
    degrees, clockwise in image coordinates, where y points down)."""
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    (cx, cy), (tx, ty) = center, translate
    # The forward rotation-shear block [[a, b], [c, d]] has determinant 1.
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]
    m[2] = m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx
    m[5] = m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy
    return m


def perspective_coefficients(startpoints, endpoints) -> list[float]:
    """The 8 coefficients that map an output point of ``endpoints``' quadrilateral back to
    ``startpoints``' (Pillow's PERSPECTIVE data), solved in float64 and rounded to float32 as
    torchvision does."""
    start, end = np.asarray(startpoints, np.float64), np.asarray(endpoints, np.float64)
    if start.shape != (4, 2) or end.shape != (4, 2):
        raise ValueError(f"perspective: startpoints and endpoints must be 4 [x, y] corners each, "
                         f"got {startpoints!r} and {endpoints!r}")
    rows = []
    for (x, y), (u, v) in zip(end, start, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    system = np.array(rows)
    rank = np.linalg.matrix_rank(system)
    if rank < 8:  # two equal corners, or three on a line: PyTorch's lstsq (torchvision's)
        # refuses it, or returns its own garbage; NumPy's returned another
        raise ValueError(f"perspective: no perspective transform maps endpoints {end.tolist()} "
                         f"to startpoints {start.tolist()} (the system has rank {rank} < 8, as "
                         "when two corners coincide)")
    solution = np.linalg.lstsq(system, start.reshape(8), rcond=None)[0]
    return [float(v) for v in solution.astype(np.float32)]


def _linspace32(start: float, end: float, steps: int) -> np.ndarray:
    """PyTorch's float32 ``linspace``: the step rounded to float32, each half counted from its
    own end with one rounding (a fused multiply-add; exact in float64, then rounded)."""
    lo, hi = np.float32(start), np.float32(end)
    if steps < 2:
        return np.full(steps, lo)
    step = np.float64((hi - lo) / np.float32(steps - 1))
    i = np.arange(steps, dtype=np.float64)
    return np.where(i < steps // 2, lo + step * i, hi - step * (steps - 1 - i)).astype(np.float32)


def _fill_values(who: str, fill, channels: int):
    if fill is None:
        return None
    values = np.atleast_1d(np.asarray(fill, np.float64))
    if values.ndim != 1 or values.size not in (1, channels):
        raise ValueError(f"{who}: fill must be a number or one per channel ({channels}), got "
                         f"{fill!r}")
    return values


def _sample(planes, sx, sy, mode):
    """``planes`` (N, H, W) read at source pixel positions ``sx``, ``sy`` (oh, ow); zero
    outside."""
    n, h, w = planes.shape
    if mode == "nearest":
        ix, iy = np.rint(sx), np.rint(sy)
        inside = (ix >= 0) & (ix <= w - 1) & (iy >= 0) & (iy <= h - 1)
        ix, iy = np.where(inside, ix, 0).astype(np.int64), np.where(inside, iy, 0).astype(np.int64)
        return planes[:, iy, ix] * inside
    x0, y0 = np.floor(sx), np.floor(sy)
    x1, y1 = x0 + 1, y0 + 1
    out = np.zeros((n,) + sx.shape, planes.dtype)
    # grid_sample's weights: each corner's the area of the opposite sub-rectangle
    for dx, dy, weight in ((0, 0, (x1 - sx) * (y1 - sy)), (1, 0, (sx - x0) * (y1 - sy)),
                           (0, 1, (x1 - sx) * (sy - y0)), (1, 1, (sx - x0) * (sy - y0))):
        xi, yi = x0 + dx, y0 + dy
        inside = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
        xi = np.where(inside, xi, 0).astype(np.int64)
        yi = np.where(inside, yi, 0).astype(np.int64)
        out += planes[:, yi, xi] * (weight * inside).astype(planes.dtype)
    return out


def _warp_array(img: _Image, who: str, grid, mode: str, fill):
    """Sample ``img`` (an array or Tensor image) on ``grid(dtype) -> (sx, sy)``."""
    mode = interpolation_name(who, mode)
    if mode not in _GRID_MODES:
        raise ValueError(f"{who}: interpolation {mode!r} is for PIL images; Tensors and arrays "
                         f"take NEAREST or BILINEAR (as torchvision's tensors)")
    a = np.moveaxis(img.array, (img.h_axis, img.w_axis), (-2, -1))  # (..., H, W)
    lead, (h, w) = a.shape[:-2], a.shape[-2:]
    channels = a.shape[-3] if a.ndim >= 3 else 1
    work = np.float64 if a.dtype == np.float64 else np.float32
    planes = a.reshape(-1, h, w).astype(work, copy=False)
    sx, sy = grid(np.dtype(work))
    out = _sample(planes, sx, sy, mode)
    values = _fill_values(who, fill, channels)
    if values is not None:
        mask = _sample(np.ones((1, h, w), work), sx, sy, mode)
        per_plane = np.resize(np.broadcast_to(values, (channels,)), planes.shape[0])
        per_plane = per_plane.astype(work)[:, None, None]
        if mode == "nearest":
            out = np.where(mask < 0.5, per_plane, out)
        else:
            out = out * mask + (1.0 - mask) * per_plane
    if a.dtype.kind in "ui":
        out = np.rint(out)
        info = np.iinfo(a.dtype)
        out = np.clip(out, info.min, info.max)
    out = out.astype(a.dtype, copy=False).reshape(*lead, *out.shape[-2:])
    return img.back(np.moveaxis(out, (-2, -1), (img.h_axis, img.w_axis)))


def _affine_grid(matrix, w, h, ow, oh):
    """torchvision's affine grid: output pixel centres about the output's centre, through
    ``matrix``, as input pixel positions (in ``dtype``)."""
    def grid(dtype):
        theta = np.asarray(matrix, dtype).reshape(2, 3)
        xs = np.linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, ow, dtype=np.float32).astype(dtype)
        ys = np.linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, oh, dtype=np.float32).astype(dtype)
        scaled = theta.T / np.array([0.5 * w, 0.5 * h], dtype)
        gx = xs[None, :] * scaled[0, 0] + ys[:, None] * scaled[1, 0] + scaled[2, 0]
        gy = xs[None, :] * scaled[0, 1] + ys[:, None] * scaled[1, 1] + scaled[2, 1]
        # grid_sample's unnormalisation (align_corners=False)
        return ((gx + 1) * w - 1) / 2, ((gy + 1) * h - 1) / 2
    return grid


def _pil_transform(name: str):
    return getattr(sys.modules["PIL.Image"].Transform, name)


def _pil_fill(who, fill, image):
    channels = len(image.getbands())
    if fill is None:
        fill = 0
    if isinstance(fill, numbers.Real):
        fill = (fill,) * channels if channels > 1 else fill
    if isinstance(fill, (list, tuple)):
        fill = tuple(fill) * channels if len(fill) == 1 else tuple(fill)
        if len(fill) != channels:
            raise ValueError(f"{who}: fill must be a number or one per channel ({channels}), "
                             f"got {fill!r}")
        if channels == 1:
            fill = fill[0]
    if image.mode != "F":
        fill = tuple(int(v) for v in fill) if isinstance(fill, tuple) else int(fill)
    return fill


def _check_fill_kind(who, fill):
    if fill is not None and not isinstance(fill, (numbers.Real, list, tuple, np.ndarray)):
        raise TypeError(f"{who}: fill must be a number, a sequence of numbers or None, got "
                        f"{type(fill).__name__}")


def rotate(img, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False,
           center=None, fill=None):
    """``img`` turned ``angle`` degrees counter-clockwise about ``center`` ((x, y) in pixels,
    default the image centre); ``expand`` makes the output large enough for the whole turned
    image. As ``torchvision.transforms.functional.rotate``."""
    if not isinstance(angle, numbers.Real):
        raise TypeError(f"rotate: angle must be a number, got {angle!r}")
    _check_fill_kind("rotate", fill)
    image = _Image(img, "rotate")
    mode = interpolation_name("rotate", interpolation)
    if image.kind == "pil":
        return img.rotate(float(angle), _PIL_RESAMPLE[mode], bool(expand),
                          None if center is None else tuple(center),
                          fillcolor=_pil_fill("rotate", fill, img))
    h, w = image.size
    center_f = (0.0, 0.0) if center is None else (center[0] - w * 0.5, center[1] - h * 0.5)
    matrix = inverse_affine_matrix(center_f, -float(angle), (0.0, 0.0), 1.0, (0.0, 0.0))
    ow, oh = (w, h) if not expand else _expanded_size(matrix, w, h)
    return _warp_array(image, "rotate", _affine_grid(matrix, w, h, ow, oh), mode, fill)


def _expanded_size(matrix, w, h):
    corners = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                        [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], np.float32)
    theta = np.asarray(matrix, np.float32).reshape(2, 3)
    moved = (corners[:, :, None] * theta.T[None]).sum(1)  # in order, as PyTorch's matmul here
    low = moved.min(axis=0) + np.array([w * 0.5, h * 0.5], np.float32)
    high = moved.max(axis=0) + np.array([w * 0.5, h * 0.5], np.float32)
    tol, inv = np.float32(1e-4), np.float32(1e4)  # keep a float error of 1e-15 from adding a
    # pixel; times 1e4 as torchvision's mul_(1 / tol), not / 1e-4 (an edge a pixel apart)
    size = np.ceil(np.trunc(high * inv) * tol) - np.floor(np.trunc(low * inv) * tol)
    return int(size[0]), int(size[1])


def _shear_pair(who, shear):
    if isinstance(shear, numbers.Real):
        return float(shear), 0.0
    shear = list(shear)
    if len(shear) == 1:
        return float(shear[0]), float(shear[0])
    if len(shear) != 2:
        raise ValueError(f"{who}: shear must be a number or a sequence of 1 or 2 numbers, got "
                         f"{shear!r}")
    return float(shear[0]), float(shear[1])


def affine(img, angle: float, translate, scale: float, shear,
           interpolation=InterpolationMode.NEAREST, fill=None, center=None):
    """``img`` rotated ``angle`` degrees clockwise, scaled by ``scale``, sheared by ``shear``
    degrees (x, or (x, y)) about ``center`` and moved by ``translate`` = (dx, dy) pixels, as
    ``torchvision.transforms.functional.affine``."""
    if not isinstance(angle, numbers.Real):
        raise TypeError(f"affine: angle must be a number, got {angle!r}")
    if len(translate) != 2:
        raise ValueError(f"affine: translate must be a pair (dx, dy), got {translate!r}")
    if not isinstance(scale, numbers.Real) or scale <= 0:
        raise ValueError(f"affine: scale must be a positive number, got {scale!r}")
    _check_fill_kind("affine", fill)
    shear = _shear_pair("affine", shear)
    image = _Image(img, "affine")
    mode = interpolation_name("affine", interpolation)
    h, w = image.size
    if image.kind == "pil":
        center = (w * 0.5, h * 0.5) if center is None else center
        matrix = inverse_affine_matrix(center, float(angle), translate, float(scale), shear)
        return img.transform((w, h), _pil_transform("AFFINE"), matrix, _PIL_RESAMPLE[mode],
                             fillcolor=_pil_fill("affine", fill, img))
    center_f = (0.0, 0.0) if center is None else (center[0] - w * 0.5, center[1] - h * 0.5)
    matrix = inverse_affine_matrix(center_f, float(angle), [float(t) for t in translate],
                                   float(scale), shear)
    return _warp_array(image, "affine", _affine_grid(matrix, w, h, w, h), mode, fill)


def perspective(img, startpoints, endpoints, interpolation=InterpolationMode.BILINEAR,
                fill=None):
    """``img`` warped so that the corners ``startpoints`` (four [x, y]: top-left, top-right,
    bottom-right, bottom-left) land on ``endpoints``, as torchvision's ``perspective``."""
    _check_fill_kind("perspective", fill)
    coeffs = perspective_coefficients(startpoints, endpoints)
    image = _Image(img, "perspective")
    mode = interpolation_name("perspective", interpolation)
    if image.kind == "pil":
        return img.transform(img.size, _pil_transform("PERSPECTIVE"), coeffs,
                             _PIL_RESAMPLE[mode], fillcolor=_pil_fill("perspective", fill, img))
    h, w = image.size

    def grid(dtype):
        c = np.asarray(coeffs, dtype)
        xs = np.linspace(0.5, w - 0.5, w, dtype=np.float32).astype(dtype)[None, :]
        ys = np.linspace(0.5, h - 0.5, h, dtype=np.float32).astype(dtype)[:, None]
        den = xs * c[6] + ys * c[7] + dtype.type(1)
        gx = (xs * (c[0] / dtype.type(0.5 * w)) + ys * (c[1] / dtype.type(0.5 * w))
              + c[2] / dtype.type(0.5 * w)) / den - 1
        gy = (xs * (c[3] / dtype.type(0.5 * h)) + ys * (c[4] / dtype.type(0.5 * h))
              + c[5] / dtype.type(0.5 * h)) / den - 1
        return ((gx + 1) * w - 1) / 2, ((gy + 1) * h - 1) / 2

    return _warp_array(image, "perspective", grid, mode, fill)


def elastic_transform(img, displacement, interpolation=InterpolationMode.BILINEAR, fill=None):
    """``img`` sampled at each pixel's position moved by ``displacement`` ((1, H, W, 2): x and
    y offsets in grid_sample's normalised units, 2 / width and 2 / height per pixel), as
    torchvision's ``elastic_transform``."""
    _check_fill_kind("elastic_transform", fill)
    image = _Image(img, "elastic_transform")
    h, w = image.size
    shift = np.asarray(getattr(displacement, "_data", displacement))
    if shift.shape != (1, h, w, 2):
        raise ValueError(f"elastic_transform: displacement must have shape (1, {h}, {w}, 2), got "
                         f"{shift.shape}")

    # torchvision's grid for a float32 displacement: a float32 identity (PyTorch's linspace:
    # NumPy's sat an ulp away, and a nearest sample took the neighbouring pixel) plus it; a
    # float64 one keeps float64 pixel centres (torchvision's are float32's, 1e-8 off)
    work = np.result_type(np.float32, shift.dtype)
    space = _linspace32 if work == np.float32 else np.linspace

    def grid(dtype):
        xs = space((1 - w) / w, (w - 1) / w, w).astype(work)  # pixel centres
        ys = space((1 - h) / h, (h - 1) / h, h).astype(work)
        gx = xs[None, :] + shift[0, :, :, 0].astype(work)
        gy = ys[:, None] + shift[0, :, :, 1].astype(work)
        return (((gx + 1) * w - 1) / 2).astype(dtype), (((gy + 1) * h - 1) / 2).astype(dtype)

    return _warp_array(image, "elastic_transform", grid, interpolation, fill)
