"""Host-side transforms: the lecture's [0, 1] normalization, one-hot codes, noise and augmentation.

They work on whole NumPy batches (no per-image Python loop), take an explicit ``rng`` when random,
and return float32. Images are (N, H, W) or (N, C, H, W); the random distortions draw one shift,
affine map or displacement field per image, which moves all its channels alike.
"""

from __future__ import annotations

import numpy as np

from .arguments import check_number

__all__ = [
    "add_gaussian_noise",
    "elastic_distortion",
    "mask_noise",
    "one_hot",
    "random_affine",
    "random_shift",
    "scale",
    "standardize",
]


def scale(x, max_value=None) -> np.ndarray:
    """Scale to [0, 1]: divide by ``max_value`` (255 for uint8 input, else the data's maximum).

    Without ``max_value``, data that dividing by its maximum cannot bring into [0, 1] (negative,
    NaN or infinite values) is a ValueError rather than a result outside it.
    """
    x = np.asarray(x)
    if max_value is None:
        max_value = 255.0 if x.dtype == np.uint8 or not x.size else _data_maximum(x)
    if not (np.isfinite(max_value) and max_value > 0):
        raise ValueError(f"scale: max_value must be a positive finite number, got {max_value}")
    out = x.astype(np.float32)  # one copy, divided in place: MNIST's 180 MiB once, not thrice
    out /= np.float32(max_value)
    return out


def _data_maximum(x) -> float:
    low, high = x.min(), x.max()
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"scale: x holds NaN or infinite values (min {low}, max {high}), which "
                         "no division maps to [0, 1]; clean the data first, or pass max_value")
    if low < 0:
        raise ValueError(f"scale: x has negative values (min {low}), which dividing by the "
                         f"maximum ({high}) leaves outside [0, 1]; shift the data first, use "
                         "standardize, or pass max_value to divide by it anyway")
    return float(high) or 1.0


def standardize(x, mean=None, std=None, *, eps: float = 1e-8):
    """Zero mean, unit variance: ``(x - mean) / std``; mean/std default to the data's own (scalars).

    Returns ``(x_standardized, mean, std)`` so that the training set's statistics can be reused on
    the test set. Statistics that are not finite (the data's own, where it holds NaN or inf) or a
    negative std are a ValueError rather than an array of NaN.
    """
    x = np.asarray(x, dtype=np.float32)
    mean = float(x.mean()) if mean is None else mean
    std = float(x.std()) if std is None else std
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (np.asarray(std) >= 0).all()):
        raise ValueError(f"standardize: mean and std must be finite (std >= 0), got mean {mean} "
                         f"and std {std}; data holding NaN or inf has no finite statistics of "
                         "its own: clean it first")
    return ((x - mean) / (std + eps)).astype(np.float32), mean, std


def one_hot(labels, num_classes: int, *, dtype=np.float32) -> np.ndarray:
    """One-hot codes: row i has a 1 in column ``labels[i]`` (the lecture's one output per class)."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels.max() if labels.max() >= num_classes else labels.min()
        raise ValueError(f"one_hot: label {bad} is outside [0, {num_classes})")
    out = np.zeros(labels.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


def add_gaussian_noise(x, sigma: float, *, rng, clip=(0.0, 1.0)) -> np.ndarray:
    """``x + N(0, sigma^2)`` noise, clipped to ``clip`` unless it is None; for denoising inputs."""
    sigma = check_number("add_gaussian_noise", "sigma", sigma, low=0)  # nan: an image of nans
    x = np.asarray(x, dtype=np.float32)
    noisy = x + rng.standard_normal(x.shape, dtype=np.float32) * np.float32(sigma)
    return noisy if clip is None else np.clip(noisy, *clip)


def mask_noise(x, fraction: float, *, rng, value: float = 0.0) -> np.ndarray:
    """Set a random ``fraction`` of entries to ``value``: denoising autoencoders' masking noise."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"mask_noise: fraction must be in [0, 1], got {fraction}")
    x = np.array(x, dtype=np.float32)
    x[rng.random(x.shape) < fraction] = value
    return x


def _as_nhw(images):
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        return images, None
    if images.ndim == 4:
        n, c, h, w = images.shape
        return images.reshape(n * c, h, w), (n, c)
    raise ValueError(
        f"expected images of shape (N, H, W) or (N, C, H, W), got shape {images.shape}"
    )


def _restore(images, nc):
    return images if nc is None else images.reshape(nc + images.shape[1:])


def _draws(nc, n: int) -> int:
    """How many images the (N * C, H, W) view of ``_as_nhw`` holds: one draw each."""
    return n if nc is None else nc[0]


def _per_channel(values, nc):
    """Per-image values repeated for each channel of the (N * C, H, W) view."""
    return values if nc is None else np.repeat(values, nc[1], axis=0)


def random_shift(images, max_shift: int = 2, *, rng) -> np.ndarray:
    """Shift each image by random whole-pixel offsets in [-max_shift, max_shift], filling with 0."""
    if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
        raise ValueError(f"random_shift: max_shift must be a whole number of pixels >= 0, "
                         f"got {max_shift!r}")
    imgs, nc = _as_nhw(images)
    n, h, w = imgs.shape
    k = int(max_shift)
    padded = np.pad(imgs, ((0, 0), (k, k), (k, k)))
    dy = _per_channel(rng.integers(-k, k + 1, size=_draws(nc, n)), nc)
    dx = _per_channel(rng.integers(-k, k + 1, size=_draws(nc, n)), nc)
    rows = (np.arange(h)[None, :] + k - dy[:, None])[:, :, None]
    cols = (np.arange(w)[None, :] + k - dx[:, None])[:, None, :]
    out = padded[np.arange(n)[:, None, None], rows, cols]
    return _restore(out, nc)


def _bilinear(imgs, ys, xs):
    """Sample each image at fractional coordinates (ys, xs) of shape (N, H, W); outside is 0."""
    n, h, w = imgs.shape
    y0 = np.floor(ys).astype(np.int64)
    x0 = np.floor(xs).astype(np.int64)
    wy = (ys - y0).astype(np.float32)
    wx = (xs - x0).astype(np.float32)
    padded = np.pad(imgs, ((0, 0), (1, 2), (1, 2)))
    batch = np.arange(n)[:, None, None]

    def at(yy, xx):
        yy = np.clip(yy + 1, 0, h + 2)
        xx = np.clip(xx + 1, 0, w + 2)
        return padded[batch, yy, xx]

    top = at(y0, x0) * (1 - wx) + at(y0, x0 + 1) * wx
    bottom = at(y0 + 1, x0) * (1 - wx) + at(y0 + 1, x0 + 1) * wx
    return (top * (1 - wy) + bottom * wy).astype(np.float32)


def random_affine(images, *, rng, degrees: float = 10.0, translate: float = 0.1,
                  scale_range=(0.9, 1.1)) -> np.ndarray:
    """Random rotation (+-degrees), translation (fraction of size) and scaling about the centre."""
    degrees = check_number("random_affine", "degrees", degrees, low=0)
    translate = check_number("random_affine", "translate", translate, low=0)
    low, high = (check_number("random_affine", "each of scale_range", v, above=0)
                 for v in scale_range)
    if low > high:
        raise ValueError(f"random_affine: scale_range must be (low, high) with low <= high, "
                         f"got {tuple(scale_range)!r}")
    imgs, nc = _as_nhw(images)
    n, h, w = imgs.shape
    m = _draws(nc, n)
    theta = _per_channel(np.deg2rad(rng.uniform(-degrees, degrees, size=m)), nc)
    s = _per_channel(rng.uniform(low, high, size=m), nc)
    ty = _per_channel(rng.uniform(-translate, translate, size=m) * h, nc)
    tx = _per_channel(rng.uniform(-translate, translate, size=m) * w, nc)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    # Inverse map: for each output pixel, where in the input it comes from.
    y = (yy[None] - cy - ty[:, None, None]) / s[:, None, None]
    x = (xx[None] - cx - tx[:, None, None]) / s[:, None, None]
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    src_y = cos * y - sin * x + cy
    src_x = sin * y + cos * x + cx
    return _restore(_bilinear(imgs, src_y, src_x), nc)


def _gaussian_blur(fields, sigma):
    """Separable Gaussian blur over the last two axes (zero padding)."""
    radius = max(1, int(3 * sigma))
    t = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (t / sigma) ** 2)
    kernel /= kernel.sum()
    out = fields
    for axis in (-2, -1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        windows = np.lib.stride_tricks.sliding_window_view(np.pad(out, pad), len(kernel), axis=axis)
        out = windows @ kernel
    return out


def elastic_distortion(images, *, rng, alpha: float = 34.0, sigma: float = 4.0) -> np.ndarray:
    """Simard et al. (2003) elastic distortion: a random displacement field smoothed by a Gaussian.

    ``alpha`` scales the displacement (pixels), ``sigma`` its smoothness; LeCun et al. (1998) used
    such distortions for their best LeNet-5 result.
    """
    alpha = check_number("elastic_distortion", "alpha", alpha)  # its sign mirrors the field
    sigma = check_number("elastic_distortion", "sigma", sigma, above=0)
    imgs, nc = _as_nhw(images)
    n, h, w = imgs.shape
    fields = rng.uniform(-1.0, 1.0, size=(2, _draws(nc, n), h, w))
    dy, dx = (_per_channel(d, nc) for d in alpha * _gaussian_blur(fields, sigma))
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return _restore(_bilinear(imgs, yy[None] + dy, xx[None] + dx), nc)
