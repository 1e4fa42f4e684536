"""Reading single images for prediction: greyscale PNG/JPEG (via Pillow) or .npy arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["read_image"]

_GREY_MODES = ("L", "1", "I", "F", "I;16")


def read_image(path, shape) -> np.ndarray:
    """Read a greyscale image (PNG/JPEG) or a .npy array as float32 (C, H, W) in [0, 1].

    Args:
        path: the file.
        shape: the (C, H, W) the model expects; an (H, W) image gets the channel axis added.

    Raises:
        ValueError: a colour image, or one whose size is not ``shape``; the message shows both.
    """
    path = Path(path)
    c, h, w = shape
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    if path.suffix.lower() == ".npy":
        arr = np.load(path, allow_pickle=False).astype(np.float32)
        if arr.size and arr.max() > 1.0:
            arr = arr / 255.0
    else:
        try:
            from PIL import Image
        except ImportError:
            raise ImportError("reading image files needs Pillow: pip install pillow") from None
        with Image.open(path) as img:
            if img.mode not in _GREY_MODES:
                raise ValueError(
                    f"{path}: expected a greyscale image, got colour mode {img.mode!r}; "
                    "convert it to greyscale (mode 'L') first"
                )
            arr = np.asarray(img.convert("F"), dtype=np.float32) / 255.0
    if arr.shape == (h, w):
        arr = arr[None]
    if arr.shape != (c, h, w):
        raise ValueError(
            f"{path}: image has shape {arr.shape}, the model expects {(h, w)} (or {(c, h, w)})"
        )
    return arr
