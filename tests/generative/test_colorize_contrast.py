"""colorize_digits' min_contrast stops at MAX_CONTRAST = 0.7: its rejection sampler (colours
uniform in RGB given the contrast) practically hung near 0.9, where 1 uniform pair in 150000
qualifies. Up to the cap it keeps the contrast and repeats bit for bit under a seed."""

import numpy as np
import pytest

from chainrule.data.corruptions import (
    _LUMA,
    MAX_CONTRAST,
    _colours,
    colorize_digits,
    to_grayscale,
)


def test_cap_matches_the_acceptance_it_documents():
    rng = np.random.default_rng(0)
    gap = np.abs(rng.random((400000, 3)) @ _LUMA - rng.random((400000, 3)) @ _LUMA)
    assert MAX_CONTRAST == 0.7
    assert 1 / 300 < np.mean(gap >= 0.7) < 1 / 150  # "about once in 220 draws"


def test_contrast_holds_at_the_cap():
    fg, bg = _colours(3000, np.random.default_rng(0), MAX_CONTRAST)
    for colour in (fg, bg):
        assert colour.dtype == np.float32 and colour.min() >= 0 and colour.max() <= 1
    assert (np.abs(fg @ _LUMA - bg @ _LUMA) >= MAX_CONTRAST).all()


def test_seeded_runs_repeat_bit_for_bit():
    images = np.random.default_rng(3).random((20, 1, 8, 8)).astype(np.float32)
    a = colorize_digits(images, rng=np.random.default_rng(7), min_contrast=0.7)
    b = colorize_digits(images, rng=np.random.default_rng(7), min_contrast=0.7)
    assert a.tobytes() == b.tobytes()
    binary = (images > 0.5).astype(np.float32)
    grey = to_grayscale(colorize_digits(binary, rng=np.random.default_rng(7), min_contrast=0.7))
    on = (grey * binary).sum(axis=(1, 2, 3)) / binary.sum(axis=(1, 2, 3))
    off = (grey * (1 - binary)).sum(axis=(1, 2, 3)) / (1 - binary).sum(axis=(1, 2, 3))
    assert (np.abs(on - off) >= 0.7 - 1e-5).all()


@pytest.mark.parametrize("bad", [-0.1, 0.71, 0.9, 1.0, True, "0.5", float("nan")])
def test_bad_contrast(bad):
    with pytest.raises(ValueError, match=r"colorize_digits: min_contrast must be a number in "
                                         r"\[0, 0.7\] \(colours uniform in RGB rarely .*got"):
        colorize_digits(np.zeros((1, 4, 4), np.float32), rng=np.random.default_rng(0),
                        min_contrast=bad)
