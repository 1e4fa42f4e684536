"""tutorial_programs.py run unchanged on PyTorch and on chainrule from the same weights: losses,
learning rates, outputs and final parameters agree (float64 to 1e-9, float32 to its rounding)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

from . import tutorial_programs as programs
from .test_real_programs import _both, _close

torch = pytest.importorskip("torch")


def test_time_sequence_prediction_with_lstm_cells_and_lbfgs_matches_pytorch():
    rng = np.random.default_rng(20)
    x = np.arange(10) + rng.integers(-8, 8, 5).reshape(5, 1)
    data = np.sin(x / 2.0).astype("float64")
    ours, theirs = _both(programs.sequence, lambda lib, m: programs.train_sequence(lib, m, data))
    assert ours[0][-1] < ours[0][0] and ours[2].shape == (2, 13)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_super_resolution_with_pixel_shuffle_and_orthogonal_init_matches_pytorch():
    chainrule.manual_seed(0)
    model = programs.super_resolution(chainrule)
    w = model.conv2.weight.detach().numpy().reshape(8, -1)
    np.testing.assert_allclose(w @ w.T, 2.0 * np.eye(8), atol=1e-5)  # gain('relu') ** 2
    rng = np.random.default_rng(21)
    low = rng.uniform(0, 1, (4, 1, 4, 4))
    high = rng.uniform(0, 1, (4, 1, 8, 8))
    ours, theirs = _both(programs.super_resolution, lambda lib, m: programs.train_super_resolution(
        lib, m, lib.tensor(low), lib.tensor(high)))
    assert ours[2].shape == (1, 1, 8, 8)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_fast_neural_style_with_gram_matrices_and_instance_norm_matches_pytorch():
    rng = np.random.default_rng(22)
    images = [rng.uniform(0, 255, (2, 3, 8, 8)) for _ in range(3)]
    style = rng.uniform(0, 255, (1, 3, 8, 8))
    ours, theirs = _both(programs.fast_style, lambda lib, m: programs.train_fast_style(
        lib, m, [lib.tensor(x) for x in images], lib.tensor(style)))
    assert ours[2] is True and theirs[2] is True
    _close(ours[:2], theirs[:2], rtol=1e-9, atol=1e-9)


def test_vision_transformer_with_cls_token_and_warmup_cosine_matches_pytorch():
    chainrule.manual_seed(0)
    model = programs.vit(chainrule)
    pos = model.pos_embed.detach().numpy()
    assert 0.01 < pos.std() < 0.03  # trunc_normal_'s cut at a=-2, b=2 is absolute, not in stds
    rng = np.random.default_rng(23)
    images = rng.standard_normal((6, 3, 8, 8))
    labels = rng.integers(0, 3, 6)
    ours, theirs = _both(programs.vit, lambda lib, m: programs.train_vit(
        lib, m, lib.tensor(images), lib.tensor(labels)))
    assert ours[0][-1] < ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
