"""torchvision.utils' ``make_grid`` and ``save_image``: a batch of images as one tiled picture
(the ``draw_*`` helpers are in ``_draw``).

``save_image(fake, "samples.png", nrow=8, normalize=True)`` in a GAN or autoencoder script runs
unchanged. The rules are torchvision's: one-channel images are repeated to three channels, a
single image is returned without padding, ``normalize`` maps ``value_range`` (or the batch's, or
with ``scale_each`` each image's, minimum and maximum) to [0, 1], and ``save_image`` rounds
``x * 255 + 0.5`` down after clamping to [0, 255]. The grid is computed on the images' values
(detached) and on their device; saving needs Pillow (``pip install "chainrule[viz]"``).
"""

from __future__ import annotations

import io
import math
import numbers
import os

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import asnumpy, get_array_module
from ..backend.files import write_atomically
from ._draw import draw_bounding_boxes, draw_keypoints, draw_segmentation_masks

__all__ = ["draw_bounding_boxes", "draw_keypoints", "draw_segmentation_masks", "make_grid",
           "save_image"]


def _as_batch(tensor):
    """The images as one array: a Tensor or array as it is, a list of them stacked on axis 0."""
    if isinstance(tensor, Tensor):
        return tensor._data
    if isinstance(tensor, np.ndarray):
        return tensor
    if isinstance(tensor, (list, tuple)):
        if not tensor:
            raise ValueError("make_grid: tensor is an empty list; expected at least one image")
        for t in tensor:
            if not isinstance(t, (Tensor, np.ndarray)):
                raise TypeError("make_grid: tensor or list of tensors expected, got a list "
                                f"containing {type(t).__name__}")
        arrays = [t._data if isinstance(t, Tensor) else t for t in tensor]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ValueError(f"make_grid: every image of the list needs the same shape, got "
                             f"{sorted(shapes)}")
        return get_array_module(*arrays).stack(arrays, axis=0)
    raise TypeError(f"make_grid: tensor or list of tensors expected, got {type(tensor).__name__}")


def _normalized(batch, value_range, scale_each: bool):
    """Each image (or the whole batch) clamped to its range and mapped to [0, 1]."""
    xp = get_array_module(batch)
    if batch.dtype.kind != "f":
        raise TypeError(f"make_grid: normalize=True needs floating-point images, got dtype "
                        f"{batch.dtype}")
    parts = list(batch) if scale_each else [batch]
    out = []
    for part in parts:
        if value_range is None:
            low, high = float(part.min()), float(part.max())
        else:
            low, high = value_range
        clamped = xp.clip(part, low, high)
        out.append((clamped - low) / max(high - low, 1e-5))
    return xp.stack(out).astype(batch.dtype, copy=False) if scale_each \
        else out[0].astype(batch.dtype, copy=False)


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> Tensor:
    """Tile a batch of images into one image, ``nrow`` to a row, as torchvision's ``make_grid``.

    Args:
        tensor: a (B, C, H, W) Tensor, a list of (C, H, W) Tensors, or one (C, H, W) or (H, W)
            image (NumPy arrays are accepted as well). Images with one channel become three.
        nrow: images per row of the grid.
        padding: pixels of ``pad_value`` around and between the images.
        normalize: map the values to [0, 1] by their range (below) first.
        value_range: ``(min, max)``: the range that maps to [0, 1] (values outside are
            clamped); None: the minimum and maximum of the batch.
        scale_each: take the range of each image separately (with ``value_range`` None).
        pad_value: the value of the padding pixels.

    Returns:
        A (C, rows * (H + padding) + padding, columns * (W + padding) + padding) Tensor (of the
        images' dtype and device, not recording a graph); a single image comes back (C, H, W),
        without padding.

    >>> import chainrule as cr
    >>> grid = make_grid(cr.ones(5, 1, 2, 2), nrow=3, padding=1)
    >>> tuple(grid.shape), grid[0, 1].tolist()
    ((3, 7, 10), [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    """
    for name, value, least in (("nrow", nrow, 1), ("padding", padding, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
            raise ValueError(f"make_grid: {name} must be an int >= {least}, got {value!r}")
    if value_range is not None and not (
            isinstance(value_range, tuple) and len(value_range) == 2
            and all(isinstance(v, numbers.Real) for v in value_range)):
        raise TypeError(f"make_grid: value_range has to be a tuple (min, max) of numbers if "
                        f"specified, got {value_range!r}")
    batch = _as_batch(tensor)
    xp = get_array_module(batch)
    if batch.ndim == 2:  # one (H, W) image
        batch = batch[None]
    if batch.ndim == 3:  # one (C, H, W) image
        if batch.shape[0] == 1:
            batch = xp.concatenate([batch] * 3, axis=0)
        batch = batch[None]
    if batch.ndim != 4:
        raise ValueError(f"make_grid: expected images (B, C, H, W), (C, H, W) or (H, W), got "
                         f"shape {tuple(batch.shape)}")
    if batch.shape[0] == 0:  # torchvision's ceil(0 / 0): ZeroDivisionError
        raise ValueError(f"make_grid: expected at least one image, got a batch of shape "
                         f"{tuple(batch.shape)}")
    if batch.shape[1] == 1:
        batch = xp.concatenate([batch] * 3, axis=1)
    if normalize:
        batch = _normalized(batch, value_range, scale_each)
    if batch.shape[0] == 1:
        return Tensor(batch[0].copy())
    count, channels, height, width = batch.shape
    columns = min(nrow, count)
    rows = math.ceil(count / columns)
    step_h, step_w = height + padding, width + padding
    grid = xp.full((channels, rows * step_h + padding, columns * step_w + padding), pad_value,
                   dtype=batch.dtype)
    for k in range(count):
        top, left = (k // columns) * step_h + padding, (k % columns) * step_w + padding
        grid[:, top:top + height, left:left + width] = batch[k]
    return Tensor(grid)


def _pil_image():
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError('save_image needs Pillow: pip install "chainrule[viz]"') from e
    return Image


def save_image(tensor, fp, format: str | None = None, **kwargs) -> None:  # noqa: A002
    """Save images as one picture file, as torchvision's ``save_image``.

    Args:
        tensor: what ``make_grid`` takes: floating-point images with values in [0, 1] (or any
            range, with ``normalize=True``).
        fp: a path (written atomically: a temporary file beside it, then a rename) or a binary
            file object.
        format: the file format ("PNG", "JPEG"...); None: from the path's extension (or a file
            object's ``name``).
        **kwargs: ``make_grid``'s options (``nrow``, ``padding``, ``normalize``...).
    """
    image_module = _pil_image()
    grid = asnumpy(make_grid(tensor, **kwargs)._data)
    if grid.dtype.kind != "f":
        raise TypeError(f"save_image: expected floating-point images with values in [0, 1], got "
                        f"dtype {grid.dtype}; divide integer images by 255 first")
    if np.isnan(grid).any():
        raise ValueError("save_image: the images contain NaN, which has no pixel value")
    if grid.shape[0] not in (2, 3, 4):  # Pillow's "Cannot handle this data type: (1, 1, 5)"
        raise ValueError(f"save_image: images of {grid.shape[0]} channels have no picture mode; "
                         "Pillow writes 1 (grey), 2 (grey and alpha), 3 (RGB) or 4 (RGBA)")
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    picture = image_module.fromarray(np.ascontiguousarray(pixels))
    image_module.init()
    if format is not None and str(format).upper() not in image_module.SAVE:  # else a KeyError
        raise ValueError(f"save_image: Pillow cannot write the format {format!r}; it writes "
                         f"{', '.join(sorted(image_module.SAVE))}")
    if not isinstance(fp, (str, os.PathLike)):
        if not callable(getattr(fp, "write", None)):
            raise TypeError(f"save_image: fp must be a path or a binary file object, got "
                            f"{type(fp).__name__}")
        picture.save(fp, format=format)
        return
    path = os.fspath(fp)
    if format is None:
        extension = os.path.splitext(path)[1].lower()
        format = image_module.registered_extensions().get(extension)  # noqa: A001
        if format is None:
            raise ValueError(f"save_image: unknown file extension {extension!r} in {path!r}; "
                             "name the format with format=")
    encoded = io.BytesIO()
    picture.save(encoded, format=format)
    write_atomically(path, encoded.getvalue())
