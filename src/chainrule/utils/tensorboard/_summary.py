"""What SummaryWriter logs, as NumPy: scalars, histograms (PyTorch's binning) and PNG images."""

from __future__ import annotations

import io

from ...autograd import Tensor
from ...backend import asnumpy
from ...backend import numpy as np


def to_numpy(value, name: str):
    """A chainrule Tensor, NumPy array, or Python number (or sequence) as a NumPy array."""
    if isinstance(value, Tensor):
        return value.numpy()
    if isinstance(value, (bool, int, float, list, tuple, np.ndarray, np.generic)):
        return np.asarray(value)
    if hasattr(value, "__array__") or type(value).__module__.startswith("cupy"):
        return asnumpy(value)
    raise TypeError(f"{name}: expected a Tensor, a NumPy array or a number, "
                    f"got {type(value).__name__}")


def scalar_float(value, name: str = "scalar_value") -> float:
    arr = to_numpy(value, name)
    if arr.size != 1:
        raise ValueError(f"{name}: expected a single value, got shape {tuple(arr.shape)}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name}: expected a real number, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name}: expected a real number, got complex dtype {arr.dtype}")
    return float(arr.reshape(()))


def tensorflow_bins() -> list[float]:
    """PyTorch's default bucket edges (bins='tensorflow'): +-1e-12 * 1.1**k below 1e20, and 0."""
    v, positive = 1e-12, []
    while v < 1e20:
        positive.append(v)
        v *= 1.1
    return [-x for x in reversed(positive)] + [0] + positive


def histogram(values, bins, max_bins=None):
    """(min, max, num, sum, sum_squares, bucket_limit, bucket) of ``values`` as PyTorch computes
    them: ``numpy.histogram`` counts, adjacent bins merged down to at most ``max_bins``, then
    trimmed to the bins that hold values plus one empty bin on the left (TensorBoard keeps only
    right edges)."""
    values = to_numpy(values, "values").astype(float).reshape(-1)
    if values.size == 0:
        raise ValueError("add_histogram: values has no element")
    if not np.all(np.isfinite(values)):
        raise ValueError("add_histogram: values contains NaN or infinity")
    counts, limits = np.histogram(values, bins=bins)
    if max_bins is not None:
        if int(max_bins) < 1:
            raise ValueError(f"add_histogram: max_bins must be at least 1, got {max_bins!r}")
        if len(counts) > max_bins:
            group = len(counts) // max_bins
            counts = np.pad(counts, (0, -len(counts) % group)).reshape(-1, group).sum(axis=1)
            limits = np.concatenate([limits[:-1:group], limits[-1:]])
    nonzero = np.flatnonzero(counts)
    if nonzero.size == 0:  # every value fell outside explicit bin edges
        raise ValueError("add_histogram: no value falls inside the given bins")
    first, last = int(nonzero[0]), int(nonzero[-1])
    if first > 0:
        bucket = counts[first - 1:last + 1]
    else:
        bucket = np.concatenate([[0], counts[:last + 1]])
    bucket_limit = limits[first:last + 2]
    return (values.min(), values.max(), values.size, values.sum(), values.dot(values),
            [float(x) for x in bucket_limit], [float(x) for x in bucket])


def _grid(images):
    """PyTorch's tensorboard layout for NCHW images: up to 8 columns, no padding, grey images
    repeated to three channels, empty cells black."""
    if images.shape[1] == 1:
        images = np.concatenate([images] * 3, axis=1)
    if images.shape[1] != 3:
        raise ValueError(f"add_images: expected 1 or 3 channels, got shape {images.shape}")
    n, _, h, w = images.shape
    cols = min(n, 8)
    rows = -(-n // cols)
    canvas = np.zeros((3, h * rows, w * cols), dtype=images.dtype)
    for i in range(n):
        y, x = divmod(i, cols)
        canvas[:, y * h:(y + 1) * h, x * w:(x + 1) * w] = images[i]
    return canvas


def to_hwc(img, dataformats: str):
    """``img`` laid out as ``dataformats`` (NCHW, CHW, HWC, HW, any letter order) as an
    (H, W, C) array: a batch tiled into a grid, grey to three channels (as PyTorch)."""
    fmt = str(dataformats).upper()
    if len(set(fmt)) != len(fmt) or len(fmt) not in (2, 3, 4) or not set(fmt) <= set("NCHW"):
        raise ValueError(f"dataformats: expected distinct letters of NCHW such as 'CHW', "
                         f"got {dataformats!r}")
    if img.ndim != len(fmt):
        raise ValueError(f"dataformats {dataformats!r} needs a {len(fmt)}-d image, got shape "
                         f"{tuple(img.shape)}")
    if len(fmt) == 4:
        grid = _grid(img.transpose([fmt.index(c) for c in "NCHW"]))
        return grid.transpose(1, 2, 0)
    if len(fmt) == 3:
        if "N" in fmt:
            raise ValueError(f"dataformats: a 3-d image needs C, H and W, got {dataformats!r}")
        hwc = img.transpose([fmt.index(c) for c in "HWC"])
        if hwc.shape[2] == 1:
            hwc = np.concatenate([hwc] * 3, axis=2)
        if hwc.shape[2] not in (2, 3, 4):  # 2: grey and alpha, a PNG as PyTorch's writes
            raise ValueError(f"add_image: expected 1 to 4 channels, got shape {img.shape}")
        return hwc
    if fmt not in ("HW", "WH"):
        raise ValueError(f"dataformats: a 2-d image needs H and W, got {dataformats!r}")
    return np.stack([img.transpose([fmt.index(c) for c in "HW"])] * 3, axis=2)


def png_image(img, dataformats: str):
    """(height, width, channels, PNG bytes): float images scaled by 255, uint8 kept, clipped."""
    arr = to_numpy(img, "img_tensor")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) \
            or np.iscomplexobj(arr):
        raise TypeError(f"img_tensor: expected real numbers, got dtype {arr.dtype}")
    hwc = to_hwc(arr, dataformats)
    scale = 1 if hwc.dtype == np.uint8 else 255
    pixels = np.ascontiguousarray((hwc.astype(np.float32) * scale).clip(0, 255).astype(np.uint8))
    try:
        from PIL import Image
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError("add_image/add_images encode PNG with Pillow: "
                                  "pip install pillow") from exc
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    height, width, channels = pixels.shape
    return height, width, channels, buf.getvalue()
