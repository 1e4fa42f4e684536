"""Corruptions for autoencoder training: noise, colour removal and watermarks, as (input, target).

An autoencoder application is a training-data transform, not a new architecture: the network sees a
corrupted image and is trained to return the clean one. Each ``*_pair`` function turns a batch of
clean images into ``(input, target)``; ``pair_transform`` makes such a function a ``DataLoader``
transform, so that every epoch draws fresh corruptions from the loader's ``rng``. Everything here is
host-side NumPy on whole batches, float32, and deterministic under a seeded ``rng``.

>>> import numpy as np
>>> x = np.full((2, 1, 4, 4), 0.5, dtype=np.float32)
>>> noisy, clean = denoising_pair(x, np.random.default_rng(0), "mask:0.5")
>>> noisy.shape, bool((clean == x).all()), bool((noisy == 0).any())
((2, 1, 4, 4), True, True)
"""

from __future__ import annotations

import numpy as np

from .arguments import check_int, check_number, check_within
from .base import as_generator
from .transforms import add_gaussian_noise, mask_noise

__all__ = [
    "NOISE_LEVELS",
    "WATERMARK_TEXTS",
    "colorization_pair",
    "colorize_digits",
    "corrupt",
    "denoising_pair",
    "pair_transform",
    "parse_corruption",
    "stamp_watermark",
    "to_grayscale",
    "watermark_pair",
]

NOISE_LEVELS = ("gaussian:0.1", "gaussian:0.3", "gaussian:0.5", "mask:0.25", "mask:0.5")
"""The noise levels reported for denoising: Gaussian sigma 0.1, 0.3, 0.5; masking 25 %, 50 %."""

_KINDS = ("gaussian", "mask")
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601 luminance weights


def _unit_range(who: str, x: np.ndarray) -> np.ndarray:
    """``x`` itself, checked to lie in [0, 1].

    Unchecked, 0..255 images became all ones under clipped Gaussian noise, took colours far outside
    [0, 1] in ``colorize_digits`` and a watermark too faint to see; [-1, 1] images (a GAN's range)
    lost their negative half. nan fails the check too.
    """
    return check_within(who, "images", x, 0, 1, why="scale 0..255 pixels by 1/255")


def parse_corruption(spec: str) -> tuple[str, float]:
    """``"gaussian:0.3"`` -> ("gaussian", 0.3); ``"mask:0.5"`` -> ("mask", 0.5).

    Raises:
        ValueError: not ``KIND:LEVEL`` with KIND gaussian (finite sigma >= 0) or mask (fraction in
            [0, 1]).
    """
    if not isinstance(spec, str):
        raise TypeError(
            f"parse_corruption: spec must be a string like 'gaussian:0.3', got {spec!r}")
    kind, sep, level = spec.partition(":")
    try:
        value = float(level)
    except ValueError:
        value = None
    if not sep or kind not in _KINDS or value is None:
        raise ValueError(
            f"parse_corruption: expected 'gaussian:SIGMA' or 'mask:FRACTION', got {spec!r}"
        )
    if not np.isfinite(value) or value < 0 or (kind == "mask" and value > 1):
        raise ValueError(f"parse_corruption: level of {spec!r} is out of range "
                         "(a finite sigma >= 0, mask fraction in [0, 1])")
    return kind, value


def corrupt(x, spec: str, *, rng) -> np.ndarray:
    """Corrupt images ``x`` (values in [0, 1]) with the noise ``spec``, e.g. "gaussian:0.3".

    Gaussian noise is clipped back to [0, 1]; masking noise sets the chosen fraction of pixels to 0.
    ``rng`` is a numpy Generator or an int seed. Values outside [0, 1] raise a ValueError.
    """
    kind, level = parse_corruption(spec)
    x = _unit_range("corrupt", np.asarray(x, dtype=np.float32))
    rng = as_generator(rng)
    if kind == "gaussian":
        return add_gaussian_noise(x, level, rng=rng)
    return mask_noise(x, level, rng=rng)


def denoising_pair(x, rng, noise="gaussian:0.3"):
    """``(corrupted x, x)``: the denoising autoencoder's input and target.

    Args:
        x: clean images in [0, 1], any shape with the batch first.
        rng: numpy Generator.
        noise: one spec ("gaussian:0.3", "mask:0.5"), or a sequence of specs of which each batch
            draws one at random (training on several levels at once).
    """
    x = np.asarray(x, dtype=np.float32)
    specs = [noise] if isinstance(noise, str) else list(noise)
    if not specs:
        raise ValueError("denoising_pair: noise must name at least one corruption")
    spec = specs[int(rng.integers(len(specs)))] if len(specs) > 1 else specs[0]
    return corrupt(x, spec, rng=rng), x


def _nchw(who: str, images) -> np.ndarray:
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise ValueError(f"{who}: images must be (N, H, W) or (N, C, H, W), got shape {x.shape}")
    return x


def to_grayscale(images) -> np.ndarray:
    """(N, 3, H, W) RGB -> (N, 1, H, W) luminance 0.299 R + 0.587 G + 0.114 B."""
    x = _nchw("to_grayscale", images)
    if x.shape[1] != 3:
        raise ValueError(f"to_grayscale: expected 3 channels (N, 3, H, W), got shape {x.shape}")
    return np.einsum("nchw,c->nhw", x, _LUMA)[:, None].astype(np.float32)


# The largest min_contrast: the colours are uniform in RGB given the contrast, drawn by rejection,
# and a uniform pair meets a contrast of 0.7 about once in 220 draws (0.8: 1 in 2300, 0.9: 1 in
# 150000, which practically hangs); a larger contrast would need another distribution of colours.
MAX_CONTRAST = 0.7


def _colours(n: int, rng, min_contrast: float):
    """``n`` foreground and background RGB colours whose luminances differ by >= min_contrast."""
    fg = np.empty((n, 3), np.float32)
    bg = np.empty((n, 3), np.float32)
    todo = np.arange(n)
    while todo.size:  # rejection sampling: a few rounds, each drawing for the rejected ones only
        f = rng.random((todo.size, 3), dtype=np.float32)
        b = rng.random((todo.size, 3), dtype=np.float32)
        ok = np.abs(f @ _LUMA - b @ _LUMA) >= min_contrast
        fg[todo[ok]], bg[todo[ok]] = f[ok], b[ok]
        todo = todo[~ok]
    return fg, bg


def colorize_digits(images, *, rng, min_contrast: float = 0.3) -> np.ndarray:
    """Tint grey digits: stroke and background each get a random colour per image.

    ``pixel = x * stroke_colour + (1 - x) * background_colour``, so the result stays in [0, 1] and
    the strokes keep their shape. The two colours' luminances differ by at least ``min_contrast``,
    so the digit stays visible after conversion back to grey. The pair is uniform in RGB among the
    pairs that meet the contrast (drawn by rejection), which is why ``min_contrast`` stops at
    ``MAX_CONTRAST`` = 0.7: beyond it almost no pair qualifies.

    Args:
        images: grey images in [0, 1], (N, H, W) or (N, 1, H, W).
        rng: numpy Generator (the same seed gives the same colours).
        min_contrast: least luminance difference of the two colours, in [0, 0.7].

    Returns:
        (N, 3, H, W) float32 colour images.
    """
    x = _unit_range("colorize_digits", _nchw("colorize_digits", images))
    rng = as_generator(rng)
    if x.shape[1] != 1:
        raise ValueError(f"colorize_digits: expected grey images (N, 1, H, W), got shape {x.shape}")
    check_number("colorize_digits", "min_contrast", min_contrast, low=0, high=MAX_CONTRAST,
                 why="colours uniform in RGB rarely differ more in luminance: 1 pair in 220 at 0.7")
    fg, bg = _colours(len(x), rng, min_contrast)
    return (x * fg[:, :, None, None] + (1 - x) * bg[:, :, None, None]).astype(np.float32)


def colorization_pair(x, rng, min_contrast: float = 0.3):
    """``(grey, colour)``: freshly tinted digits and their luminance, for colorization training."""
    colour = colorize_digits(x, rng=rng, min_contrast=min_contrast)
    return to_grayscale(colour), colour


# A 3x5 bitmap font with the few glyphs the synthetic watermarks use, and two small logos.
_GLYPHS = {
    "C": ("111", "100", "100", "100", "111"),
    "R": ("110", "101", "110", "101", "101"),
    "O": ("111", "101", "101", "101", "111"),
    "P": ("111", "101", "111", "100", "100"),
    "Y": ("101", "101", "010", "010", "010"),
    "X": ("101", "101", "010", "101", "101"),
    "A": ("010", "101", "111", "101", "101"),
    "I": ("111", "010", "010", "010", "111"),
}
_LOGOS = {
    "ring": ("01110", "10001", "10001", "10001", "01110"),
    "cross": ("10001", "01010", "00100", "01010", "10001"),
}
WATERMARK_TEXTS = ("CR", "COPY", "AI", "XO")


def _bitmap(rows) -> np.ndarray:
    return np.array([[c == "1" for c in row] for row in rows], dtype=np.float32)


def _text_stamp(text: str) -> np.ndarray:
    glyphs = []
    for ch in text:
        if ch not in _GLYPHS:
            raise ValueError(f"stamp_watermark: no glyph for {ch!r}; known: {''.join(_GLYPHS)}")
        glyphs += [_bitmap(_GLYPHS[ch]), np.zeros((5, 1), np.float32)]
    return np.concatenate(glyphs[:-1], axis=1)


def _stamps(texts):
    return [_text_stamp(t) for t in texts] + [_bitmap(v) for v in _LOGOS.values()]


def stamp_watermark(images, *, rng, opacity=(0.3, 0.8), texts=WATERMARK_TEXTS,
                    scale: int = 1) -> np.ndarray:
    """Stamp a synthetic watermark (a short text or a logo) at a random place on each image.

    Each image gets one mark drawn at random from ``texts`` and two logos (a ring and a cross), at a
    random position where it fits whole (marks larger than the image are skipped), with a random
    opacity ``a`` and a random grey level ``v`` in [0.5, 1]: ``pixel = (1 - a m) pixel + a m v``
    where m is the mark's 0/1 mask.

    Args:
        images: images in [0, 1], (N, H, W) or (N, C, H, W) (the mark is the same in every channel).
        rng: numpy Generator.
        opacity: the range (low, high) of opacities, within [0, 1].
        texts: the texts to choose from (letters of C R O P Y X A I).
        scale: each bitmap pixel becomes ``scale x scale`` image pixels.

    Returns:
        float32 images of the input's shape.
    """
    x = _unit_range("stamp_watermark", np.array(_nchw("stamp_watermark", images)))
    rng = as_generator(rng)
    if isinstance(texts, str):  # "CR" stamped the single letters C and R
        raise TypeError(f"stamp_watermark: texts must be a sequence of strings, e.g. "
                        f"({texts!r},), got the string {texts!r}")
    squeeze = np.asarray(images).ndim == 3
    try:
        low, high = opacity
    except (TypeError, ValueError):  # a number or a triple failed at the unpacking
        low, high = 1.0, 0.0
    if not 0 <= low <= high <= 1:
        raise ValueError(f"stamp_watermark: opacity must be (low, high) in [0, 1], got {opacity}")
    scale = check_int("stamp_watermark", "scale", scale)
    n, _, h, w = x.shape
    stamps = [np.kron(s, np.ones((scale, scale), np.float32)) for s in _stamps(texts)]
    stamps = [s for s in stamps if s.shape[0] <= h and s.shape[1] <= w]  # small images: fewer
    if not stamps:
        raise ValueError(f"stamp_watermark: no mark fits images of size {h}x{w} at scale {scale}")
    choice = rng.integers(len(stamps), size=n)
    alpha = rng.uniform(low, high, size=n).astype(np.float32)
    value = rng.uniform(0.5, 1.0, size=n).astype(np.float32)
    u = rng.random((n, 2))
    for i in range(n):  # one small stamp per image: cheap next to a training step
        mark = stamps[choice[i]]
        mh, mw = mark.shape
        top, left = int(u[i, 0] * (h - mh + 1)), int(u[i, 1] * (w - mw + 1))
        region = x[i, :, top:top + mh, left:left + mw]
        region *= 1 - alpha[i] * mark
        region += alpha[i] * value[i] * mark
    return x[:, 0] if squeeze else x


def watermark_pair(x, rng, opacity=(0.3, 0.8)):
    """``(watermarked x, x)``: the watermark-removal autoencoder's input and target."""
    x = np.asarray(x, dtype=np.float32)
    return stamp_watermark(x, rng=rng, opacity=opacity), x


def pair_transform(make_pair, **options):
    """A ``DataLoader`` transform that replaces each batch ``(x, ...)`` by ``make_pair(x, rng)``.

    Args:
        make_pair: ``denoising_pair``, ``colorization_pair``, ``watermark_pair`` or any
            ``f(x, rng, **options) -> (input, target)``.
        **options: passed on to ``make_pair`` (e.g. ``noise="mask:0.5"``).

    >>> from chainrule.data import ArrayDataset, DataLoader
    >>> x = np.ones((4, 1, 8, 8), np.float32)
    >>> loader = DataLoader(ArrayDataset(x), 2, rng=0, transform=pair_transform(watermark_pair))
    >>> [tuple(a.shape for a in batch) for batch in loader]
    [((2, 1, 8, 8), (2, 1, 8, 8)), ((2, 1, 8, 8), (2, 1, 8, 8))]
    """
    if not callable(make_pair):
        raise TypeError(
            f"pair_transform: make_pair must be callable, got {type(make_pair).__name__}")

    def transform(batch, rng):
        return make_pair(batch[0], rng, **options)

    return transform
