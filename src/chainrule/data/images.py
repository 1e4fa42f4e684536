"""Reading single images for prediction: greyscale PNG/JPEG (via Pillow) or .npy arrays.

Every file is checked from its header before its pixels are read (an image's size from Pillow's
lazy ``Image.open``, an array's shape and dtype from the .npy header), so a huge or forged file
fails at once with a one-line ValueError, in bounded memory.

Scaling to [0, 1] follows the data's real bit depth, one rule for images and arrays alike:
1-bit images give {0, 1}; 8-bit values (mode "L", uint8 arrays) are divided by 255; 16-bit values
(modes "I;16", "I;16B", a 16-bit PNG opened as "I"; uint16 arrays) by 65535; floating-point data
(mode "F", float arrays) must already lie in [0, 1]. Other integer widths are rejected, as is
anything non-finite or outside [0, 1].
"""

from __future__ import annotations

import math
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np

__all__ = ["read_image"]

_SCALES = {"1": 1, "L": 255, "I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535,
           "F": 1}
# Raster formats whose decoders are plain code: no others are tried (EPS, for one, would run
# Ghostscript on the file).
_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "PPM", "WEBP")
# What a damaged file makes Pillow's decoders raise besides OSError.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error,
                  IndexError, TypeError)


def read_image(path, shape) -> np.ndarray:
    """Read a greyscale image (PNG/JPEG) or a .npy array as float32 (C, H, W) in [0, 1].

    Args:
        path: the file.
        shape: the (C, H, W) the model expects; an (H, W) image gets the channel axis added.

    Returns:
        The image scaled by its bit depth (see the module docstring), shape ``shape``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: an empty file or one that is not an image; a colour image; a size other
            than ``shape``; a dtype or bit depth without a defined range; non-finite values or
            values outside [0, 1]. The message names the file, what it holds and what was
            expected.
    """
    path = Path(path)
    c, h, w = shape
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty; expected a greyscale PNG/JPEG image or a "
                         ".npy array")
    if path.suffix.lower() == ".npy":
        arr = _read_npy(path, (c, h, w))
    else:
        arr = _read_picture(path, (c, h, w))
    if arr.shape == (h, w):
        arr = arr[None]
    if arr.shape != (c, h, w):
        raise _wrong_shape(path, arr.shape, (c, h, w))
    if not np.isfinite(arr).all():
        raise ValueError(f"{path}: the image holds NaN or infinite values; expected values in "
                         "[0, 1]")
    low, high = float(arr.min()), float(arr.max())
    if low < 0 or high > 1:
        raise ValueError(
            f"{path}: values range over [{low:g}, {high:g}], expected [0, 1] (float data must be "
            "scaled already; uint8 is divided by 255, uint16 by 65535)"
        )
    return arr


def _wrong_shape(path, got, shape) -> ValueError:
    c, h, w = shape
    return ValueError(
        f"{path}: image has shape {tuple(got)}, the model expects {(h, w)} (or {(c, h, w)})"
    )


def _read_npy(path: Path, shape) -> np.ndarray:
    c, h, w = shape
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
        except ValueError as err:
            raise ValueError(f"{path}: not a readable .npy file ({err})") from None
        if got not in ((h, w), (c, h, w)):
            raise _wrong_shape(path, got, shape)
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
    if fortran:
        arr = arr.T
    return (arr.astype(np.float64) / scale).astype(np.float32)


def _read_picture(path: Path, shape) -> np.ndarray:
    c, h, w = shape
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
        raise ValueError(f"{path}: the image is far too large ({err}); the model expects "
                         f"{w}x{h} pixels") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file Pillow can read; expected a greyscale PNG "
                         "or JPEG (or a .npy array)") from None
    except _DECODE_ERRORS as err:
        raise ValueError(f"{path}: a damaged image file ({err})") from None
    with img:
        if img.size != (w, h):  # the header's size: nothing is decoded yet
            raise _wrong_shape(path, (img.height, img.width), shape)
        mode = img.mode
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
    return (arr.astype(np.float64) / scale).astype(np.float32)
