"""chainrule.data.corruptions: noise, colorization and watermarks, deterministic under a seed."""

import numpy as np
import pytest

from chainrule.data import ArrayDataset, DataLoader
from chainrule.data.corruptions import (
    NOISE_LEVELS,
    colorization_pair,
    colorize_digits,
    corrupt,
    denoising_pair,
    pair_transform,
    parse_corruption,
    stamp_watermark,
    to_grayscale,
    watermark_pair,
)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((50, 1, 28, 28), dtype=np.float32)


def _same_under_seed(fn, x):
    a = fn(x, np.random.default_rng(5))
    b = fn(x, np.random.default_rng(5))
    c = fn(x, np.random.default_rng(6))
    a, b, c = (v if isinstance(v, tuple) else (v,) for v in (a, b, c))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert any(not np.array_equal(u, v) for u, v in zip(a, c))


@pytest.mark.parametrize("fn", [
    lambda x, rng: corrupt(x, "gaussian:0.3", rng=rng),
    lambda x, rng: corrupt(x, "mask:0.5", rng=rng),
    lambda x, rng: denoising_pair(x, rng, NOISE_LEVELS),
    lambda x, rng: colorization_pair(x, rng),
    lambda x, rng: watermark_pair(x, rng),
], ids=["gaussian", "mask", "mixed", "colorization", "watermark"])
def test_corruptions_are_deterministic_under_a_seed(fn, images):
    _same_under_seed(fn, images)


def test_noise_levels(images):
    assert [parse_corruption(s) for s in NOISE_LEVELS] == [
        ("gaussian", 0.1), ("gaussian", 0.3), ("gaussian", 0.5), ("mask", 0.25), ("mask", 0.5)]
    rng = np.random.default_rng(0)
    flat = np.full((200, 1, 28, 28), 0.5, np.float32)
    noisy = corrupt(flat, "gaussian:0.1", rng=rng)
    assert noisy.dtype == np.float32 and abs(float((noisy - flat).std()) - 0.1) < 0.002
    masked = corrupt(flat, "mask:0.25", rng=rng)
    assert abs(float((masked == 0).mean()) - 0.25) < 0.005
    assert set(np.unique(masked)) <= {0.0, 0.5}
    noisy, clean = denoising_pair(images, rng, "mask:0.5")
    assert clean is not noisy and np.array_equal(clean, images)
    # "gaussian:nan" passed and gave images of nans (also through `--noise`); inf, all 0s and 1s
    for bad in ("gaussian", "speckle:0.1", "mask:1.5", "gaussian:-1", "mask:x", "gaussian:nan",
                "gaussian:inf", "gaussian:1e400", "mask:nan"):
        with pytest.raises(ValueError, match="parse_corruption"):
            parse_corruption(bad)
    with pytest.raises(ValueError, match="at least one"):
        denoising_pair(images, rng, [])


def test_colorize_digits_keeps_shape_and_contrast(images):
    colour = colorize_digits(images, rng=np.random.default_rng(0), min_contrast=0.4)
    assert colour.shape == (50, 3, 28, 28) and colour.dtype == np.float32
    assert colour.min() >= 0 and colour.max() <= 1
    # pixels with x = 1 have the stroke colour, x = 0 the background: their luminances differ
    binary = (images > 0.5).astype(np.float32)
    tinted = colorize_digits(binary, rng=np.random.default_rng(0), min_contrast=0.4)
    grey = to_grayscale(tinted)
    on = (grey * binary).sum(axis=(1, 2, 3)) / binary.sum(axis=(1, 2, 3))
    off = (grey * (1 - binary)).sum(axis=(1, 2, 3)) / (1 - binary).sum(axis=(1, 2, 3))
    assert (np.abs(on - off) >= 0.4 - 1e-5).all()
    # each image uses two colours only, and different images get different colours
    assert len(np.unique(tinted[0].reshape(3, -1), axis=1).T) == 2
    assert not np.allclose(tinted[0, :, 0, 0], tinted[1, :, 0, 0])
    grey_in, target = colorization_pair(images, np.random.default_rng(1))
    assert grey_in.shape == (50, 1, 28, 28) and target.shape == (50, 3, 28, 28)
    np.testing.assert_allclose(to_grayscale(np.repeat(images, 3, axis=1)), images, atol=1e-6)
    with pytest.raises(ValueError, match="expected grey"):
        colorize_digits(colour, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="3 channels"):
        to_grayscale(images)


def test_watermark_is_a_local_blend(images):
    rng = np.random.default_rng(0)
    zeros = np.zeros((30, 28, 28), np.float32)
    marked = stamp_watermark(zeros, rng=rng, opacity=(0.5, 0.5))
    assert marked.shape == zeros.shape  # (N, H, W) stays (N, H, W)
    for img in marked:
        ys, xs = np.nonzero(img)
        assert 0 < len(ys) and np.ptp(ys) < 5 and np.ptp(xs) < 15  # one small mark
        assert np.allclose(img[ys, xs], img[ys[0], xs[0]])  # one grey level
        assert 0.25 <= img.max() <= 0.5  # opacity 0.5 times a level in [0.5, 1]
    unchanged = stamp_watermark(images, rng=rng, opacity=(0.0, 0.0))
    np.testing.assert_allclose(unchanged, images)
    small = stamp_watermark(np.zeros((20, 1, 8, 8), np.float32), rng=rng)
    assert (small.reshape(20, -1).max(axis=1) > 0).all()
    with pytest.raises(ValueError, match="no mark fits"):
        stamp_watermark(np.zeros((2, 4, 4), np.float32), rng=rng)
    with pytest.raises(ValueError, match="opacity"):
        stamp_watermark(images, rng=rng, opacity=(0.8, 0.2))
    with pytest.raises(ValueError, match="no glyph"):
        stamp_watermark(images, rng=rng, texts=("HELLO",))


def test_pair_transform_in_a_data_loader(images):
    def batches(seed):
        loader = DataLoader(ArrayDataset(images), 16, shuffle=True, rng=seed,
                            transform=pair_transform(denoising_pair, noise="gaussian:0.5"))
        return list(loader)

    first, again = batches(3), batches(3)
    assert len(first) == 4
    for (a_in, a_out), (b_in, b_out) in zip(first, again):
        np.testing.assert_array_equal(a_in, b_in)
        np.testing.assert_array_equal(a_out, b_out)
        assert not np.array_equal(a_in, a_out)
    with pytest.raises(TypeError, match="callable"):
        pair_transform("denoise")
