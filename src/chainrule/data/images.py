"""Reading single images for prediction: greyscale PNG/JPEG (via Pillow) or .npy arrays.

Every file is checked from its header before its pixels are read (an image's size from Pillow's
lazy ``Image.open``, an array's shape and dtype from the .npy header), so a huge or forged file
fails at once with a one-line ValueError, in bounded memory.

Scaling to [0, 1] follows the data's real bit depth, one rule for images and arrays alike:
1-bit images give {0, 1}; 8-bit values (mode "L", uint8 arrays) are divided by 255; 16-bit values
(modes "I;16", "I;16B", a 16-bit PNG opened as "I"; uint16 arrays) by 65535; floating-point data
(mode "F", float arrays) must already lie in [0, 1]. Other integer widths are rejected, as is
anything non-finite or outside [0, 1].

An image of another size is refused, unless ``resize`` asks for it to be fitted (see
``read_image``); then its pixel count is bounded (``MAX_PIXELS``, from the header as well) and the
pixels stay in their own bit depth until they are shrunk, so memory stays about a few bytes per
pixel of the file's own image.
"""

from __future__ import annotations

import math
import struct
import tokenize
import warnings
import zlib
from pathlib import Path

import numpy as np

from .arguments import check_number

__all__ = ["MAX_PIXELS", "RESIZE_MODES", "background_level", "image_statistics", "read_image"]

# A bound on the pixels ``resize`` reads: a 64-megapixel phone photo passes, a 20000x20000 bomb
# does not. It counts 8-bit samples (64 MB decoded); wider ones count in proportion, so that a
# float image's copies (Pillow's, NumPy's) stay as small.
MAX_PIXELS = 64_000_000
RESIZE_MODES = ("content", "whole")
# How far (on the [0, 1] scale) a pixel must differ from the background to count as content.
_INK = 0.1

_SCALES = {"1": 1, "L": 255, "I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535,
           "F": 1}
# Raster formats whose decoders are plain code: no others are tried (EPS, for one, would run
# Ghostscript on the file).
_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "PPM", "WEBP")
# What a damaged file makes Pillow's decoders raise besides OSError.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error,
                  IndexError, TypeError)


def read_image(path, shape, *, resize: str | None = None, extent: float = 1.0,
               max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read a greyscale image (PNG/JPEG) or a .npy array as float32 (C, H, W) in [0, 1].

    Args:
        path: the file.
        shape: the (C, H, W) the model expects; an (H, W) image gets the channel axis added.
        resize: None (the default) refuses any other size. ``"content"`` crops the image to its
            content (the pixels that differ from the background, the median of its border, by
            more than 0.1), scales it, keeping its aspect ratio, to fill ``extent`` of the
            model's height or width, and places its centre of mass at the centre, on a canvas of
            the background's level: how MNIST was made (``extent`` 20/28). ``"whole"`` fits the
            whole image, margins and all, into the model's size, keeping its aspect ratio,
            centred and padded with the background's level. Both read greyscale (H, W) or
            (1, H, W) data of at most ``max_pixels`` pixels.
        extent: for ``"content"``: the fraction of the model's size the content fills.
        max_pixels: the most pixels ``resize`` reads (checked from the header), counted for
            8-bit samples: 16-bit images may have half as many, float32 ones a quarter.

    Returns:
        The image scaled by its bit depth (see the module docstring), shape ``shape``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: an empty file or one that is not an image; a colour image; a size other
            than ``shape`` (without ``resize``) or over ``max_pixels`` (with it); a dtype or bit
            depth without a defined range; non-finite values or values outside [0, 1]. The
            message names the file, what it holds and what was expected.
    """
    path = Path(path)
    c, h, w = shape
    if resize not in (None, *RESIZE_MODES):
        raise ValueError(f"read_image: resize must be None or one of {RESIZE_MODES}, "
                         f"got {resize!r}")
    if resize is not None and c != 1:
        raise ValueError(f"read_image: resize reads greyscale images, but the model expects "
                         f"{c} channels {(c, h, w)}")
    extent = check_number("read_image", "extent", extent, above=0, high=1, what="a fraction")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty; expected a greyscale PNG/JPEG image or a "
                         ".npy array")
    fits = _size_check(path, (c, h, w), resize is not None, max_pixels)
    reader = _read_npy if path.suffix.lower() == ".npy" else _read_picture
    raw, scale = reader(path, fits)
    if raw.ndim == 3 and raw.shape[0] == 1 and resize is not None:
        raw = raw[0]
    _check_values(path, raw, scale)
    if resize is not None:
        return _fit(raw, scale, (h, w), resize, extent)[None]
    arr = (raw.astype(np.float64) / scale).astype(np.float32)
    if arr.shape == (h, w):
        arr = arr[None]
    if arr.shape != (c, h, w):
        raise _wrong_shape(path, arr.shape, (c, h, w))
    return arr


def background_level(image) -> float:
    """The median of an image's outermost ring of pixels: its background level, in its units.

    ``image`` is (H, W) or (1, H, W) (NumPy, host side).
    """
    x = np.asarray(image)
    x = x[0] if x.ndim == 3 else x
    return float(np.median(_border(x)))


def image_statistics(images) -> dict:
    """What ``predict`` needs to know about a model's training images, as JSON-ready floats.

    Args:
        images: (N, 1, H, W) or (N, H, W) in [0, 1] (a sample of at most 2,000 is used).

    Returns:
        ``{"background": b, "extent": e}``: ``b`` the median background level (0 for MNIST's
        white digits on black), ``e`` the median fraction of the height or width (the larger)
        that an image's content spans (MNIST: 20/28, its digits were fitted into a 20x20 box).
    """
    x = np.asarray(images)
    x = x.reshape(len(x), *x.shape[-2:])[:: max(1, len(x) // 2000)]
    n, h, w = x.shape
    bg = np.median(_border(x), axis=-1)  # the ring background_level reads at predict time
    ink = np.abs(x - bg[:, None, None]) > _INK

    def span(m):
        return np.where(m.any(1), m.shape[1] - m[:, ::-1].argmax(1) - m.argmax(1), 0)

    ext = np.maximum(span(ink.any(2)) / h, span(ink.any(1)) / w)
    ext = ext[ext > 0]
    return {"background": round(float(np.median(bg)), 4),
            "extent": round(float(np.median(ext)), 4) if len(ext) else 1.0}


def _wrong_shape(path, got, shape) -> ValueError:
    c, h, w = shape
    return ValueError(
        f"{path}: image has shape {tuple(got)}, the model expects {(h, w)} (or {(c, h, w)}); "
        "--resize fits other sizes"
    )


def _size_check(path: Path, shape, resizing: bool, max_pixels: int):
    """The check of the size a header declares, run before any pixel is read."""
    c, h, w = shape

    def check(got, itemsize: int = 1) -> None:
        got = tuple(got)
        if not resizing:
            if got not in ((h, w), (c, h, w)):
                raise _wrong_shape(path, got, shape)
            return
        hw = got[1:] if len(got) == 3 and got[0] == 1 else got
        if len(hw) != 2 or 0 in hw:
            raise ValueError(f"{path}: resizing reads a greyscale image of shape (H, W) or "
                             f"(1, H, W), got shape {got}")
        if hw[0] * hw[1] * itemsize > max_pixels:
            wide = f" ({itemsize} bytes each: at most {max_pixels // itemsize:,})" * (itemsize > 1)
            raise ValueError(f"{path}: the image has {hw[1]}x{hw[0]} = {hw[0] * hw[1]:,} "
                             f"pixels{wide}; resizing reads at most {max_pixels:,} 8-bit pixels")

    return check


def _check_values(path: Path, raw: np.ndarray, scale: int) -> None:
    """Refuse non-finite values and values outside [0, scale] (floats: [0, 1])."""
    if raw.dtype.kind in "bu" and raw.dtype.itemsize * 8 <= math.log2(scale + 1) + 1e-9:
        return  # a 1-, 8- or 16-bit type cannot leave its own range
    if raw.dtype.kind == "f" and not np.isfinite(raw).all():
        raise ValueError(f"{path}: the image holds NaN or infinite values; expected values in "
                         "[0, 1]")
    low, high = float(raw.min()) / scale, float(raw.max()) / scale
    if low < 0 or high > 1:
        raise ValueError(
            f"{path}: values range over [{low:g}, {high:g}], expected [0, 1] (float data must be "
            "scaled already; uint8 is divided by 255, uint16 by 65535)"
        )


def _read_npy(path: Path, check):
    fmt = np.lib.format
    with open(path, "rb") as f:
        try:
            version = fmt.read_magic(f)
            if version == (1, 0):
                got, fortran, dtype = fmt.read_array_header_1_0(f)
            elif version == (2, 0):
                got, fortran, dtype = fmt.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
        # a damaged header can also stop NumPy's tokenizer of old headers, or its literal_eval
        except (ValueError, SyntaxError, tokenize.TokenError, RecursionError) as err:
            raise ValueError(f"{path}: not a readable .npy file ({err})") from None
        check(got, dtype.itemsize)
        if dtype.kind == "f" or dtype == np.bool_:
            scale = 1
        elif dtype.kind == "u" and dtype.itemsize in (1, 2):
            scale = 255 if dtype.itemsize == 1 else 65535
        else:
            raise ValueError(f"{path}: array of dtype {dtype}; expected floats in [0, 1], uint8 "
                             "(0..255) or uint16 (0..65535)")
        nbytes = math.prod(got) * dtype.itemsize
        left = path.stat().st_size - f.tell()
        if left != nbytes:
            raise ValueError(f"{path}: the .npy header says {dtype} of shape {got} ({nbytes} "
                             f"bytes) but the file holds {left} bytes after it")
        arr = np.empty(got[::-1] if fortran else got, dtype)
        f.readinto(memoryview(arr.reshape(-1).view(np.uint8)))
    return (arr.T if fortran else arr), scale


def _read_picture(path: Path, check):
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ImportError("reading image files needs Pillow: pip install pillow") from None
    try:
        with warnings.catch_warnings():
            # Pillow warns about images of over MAX_IMAGE_PIXELS and refuses those of twice that;
            # the size check below refuses a wrong size either way before anything is decoded
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path, formats=_FORMATS)
    except Image.DecompressionBombError as err:
        raise ValueError(f"{path}: the image is far too large ({err})") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file Pillow can read; expected a greyscale PNG "
                         "or JPEG (or a .npy array)") from None
    except _DECODE_ERRORS as err:
        raise ValueError(f"{path}: a damaged image file ({err})") from None
    with img:
        mode = img.mode
        # the header's size: nothing is decoded yet
        check((img.height, img.width), 1 if mode in ("1", "L") else 2 if "16" in mode else 4)
        if mode == "I" and img.format == "PNG":  # a 16-bit PNG, in older Pillow versions
            scale = 65535
        elif mode in _SCALES:
            scale = _SCALES[mode]
        else:
            raise ValueError(
                f"{path}: expected a greyscale image, got colour mode {mode!r} (readable: 1-, "
                "8- or 16-bit grey, or float); convert it to greyscale (mode 'L') first"
            )
        try:
            arr = np.asarray(img)
        except _DECODE_ERRORS as err:
            raise ValueError(f"{path}: a damaged image file ({err})") from None
    return arr, scale


def _border(x: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels of an (..., H, W) image, each pixel once, on the last axis."""
    return np.concatenate([x[..., 0, :], x[..., -1, :], x[..., 1:-1, 0], x[..., 1:-1, -1]],
                          axis=-1)


def _content_box(raw: np.ndarray, level: float, ink: float):
    """Rows and columns (slices) of the pixels that differ from ``level`` by more than ``ink``."""
    h, w = raw.shape
    rows, cols = np.zeros(h, bool), np.zeros(w, bool)
    step = max(1, (1 << 21) // w)  # blocks of about 2M pixels bound the temporaries
    for i in range(0, h, step):
        m = np.abs(raw[i:i + step].astype(np.float32) - level) > ink
        rows[i:i + step] = m.any(1)
        cols |= m.any(0)
    if not rows.any():
        return slice(0, h), slice(0, w)
    r, c = rows.nonzero()[0], cols.nonzero()[0]
    return slice(r[0], r[-1] + 1), slice(c[0], c[-1] + 1)


def _shrink(raw: np.ndarray, size) -> np.ndarray:
    """``raw`` resized to ``size`` (height, width) by Pillow: each new pixel the mean of the
    area it covers when shrinking (a whole-number factor keeps blocks exact), bilinear when
    enlarging; neither leaves the source's range."""
    from PIL import Image

    if raw.dtype not in (np.uint8, np.uint16, np.int32, np.float32):
        raw = raw.astype(np.float32)
    img = Image.fromarray(np.ascontiguousarray(raw))
    smaller = size[0] <= raw.shape[0] and size[1] <= raw.shape[1]
    how = Image.Resampling.BOX if smaller else Image.Resampling.BILINEAR
    return np.asarray(img.resize(size[::-1], how), dtype=np.float32)


def _fit(raw: np.ndarray, scale: int, size, mode: str, extent: float) -> np.ndarray:
    """Fit the (H, W) image ``raw`` into ``size`` (see ``read_image``): float32 in [0, 1]."""
    h, w = size
    level = float(np.median(_border(raw)))
    if mode == "content":
        raw = raw[_content_box(raw, level, _INK * scale)]
    else:
        extent = 1.0
    ch, cw = raw.shape
    factor = min(max(1, round(h * extent)) / ch, max(1, round(w * extent)) / cw)
    nh, nw = min(h, max(1, round(ch * factor))), min(w, max(1, round(cw * factor)))
    small = np.clip(_shrink(raw, (nh, nw)) / scale, 0, 1)
    level /= scale
    canvas = np.full((h, w), level, np.float32)
    top, left = (h - nh) // 2, (w - nw) // 2
    mass = np.abs(small - level)
    if mode == "content" and mass.sum() > 0:  # its centre of mass to the canvas's centre
        cy = (mass.sum(1) * (np.arange(nh) + 0.5)).sum() / mass.sum()
        cx = (mass.sum(0) * (np.arange(nw) + 0.5)).sum() / mass.sum()
        top = min(max(round(h / 2 - cy), 0), h - nh)
        left = min(max(round(w / 2 - cx), 0), w - nw)
    canvas[top:top + nh, left:left + nw] = small
    return canvas
