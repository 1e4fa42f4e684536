"""port4_programs.py run unchanged on PyTorch and on chainrule from the same weights: losses,
decodings, images and final parameters agree to float64 rounding."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from . import port4_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def test_captioner_on_transformer_decoder_with_padding_and_causal_masks_matches_pytorch():
    rng = np.random.default_rng(70)
    images = rng.standard_normal((3, 3, 8, 8))
    captions = rng.integers(2, 9, (3, 7))
    captions[:, 0] = 1
    captions[0, 5:] = 0
    captions[2, 4:] = 0
    ours, theirs = _both(programs.captioner, lambda lib, m: programs.train_captioner(
        lib, m, lib.tensor(images), lib.tensor(captions)))
    assert ours[1] == theirs[1]
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)


def test_bucket_batch_sampler_with_padding_collate_and_packed_gru_matches_pytorch():
    rng = np.random.default_rng(71)
    sequences = [rng.integers(1, 10, n).tolist() for n in (3, 6, 2, 5, 4, 6, 1, 3)]
    labels = rng.integers(0, 3, 8).tolist()
    ours, theirs = _both(programs.gru_tagger, lambda lib, m: programs.train_bucketed(
        lib, m, sequences, labels))
    assert ours[1] == theirs[1] and ours[2] == 3
    _close([ours[0], ours[3]], [theirs[0], theirs[3]], rtol=1e-9, atol=1e-11)


def test_made_with_mask_buffers_and_an_autoregressive_jacobian_matches_pytorch():
    rng = np.random.RandomState(0)
    degrees = [np.arange(6)] + [rng.randint(0, 5, size=12) for _ in range(2)]
    x = (np.random.default_rng(72).uniform(size=(8, 6)) < 0.4).astype(np.float64)
    ours, theirs = _both(programs.made, lambda lib, m: programs.train_made(
        lib, m, degrees, lib.tensor(x)))
    assert not np.triu(ours[1]).any() and (ours[1] == theirs[1]).all()
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)


def test_patch_denoising_by_unfold_and_fold_matches_pytorch():
    rng = np.random.default_rng(73)
    clean = rng.uniform(0, 1, (2, 1, 6, 6))
    noisy = clean + 0.2 * rng.standard_normal(clean.shape)
    ours, theirs = _both(programs.patch_denoiser, lambda lib, m: programs.train_patch_denoiser(
        lib, m, lib.tensor(noisy), lib.tensor(clean)))
    assert ours[1][0, 0, 0, 0] == 1 and ours[1][0, 0, 2, 2] == 9
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_adain_style_transfer_with_frozen_encoder_and_lr_decay_matches_pytorch():
    rng = np.random.default_rng(74)
    contents = [rng.uniform(0, 1, (2, 3, 7, 7)) for _ in range(3)]
    styles = [rng.uniform(0, 1, (2, 3, 7, 7)) for _ in range(3)]
    ours, theirs = _both(programs.adain_net, lambda lib, m: programs.train_adain(
        lib, m, [lib.tensor(c) for c in contents], [lib.tensor(s) for s in styles]))
    assert ours[1] and theirs[1]
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)


def test_shufflenet_v2_units_with_channel_shuffle_and_polynomial_lr_matches_pytorch():
    rng = np.random.default_rng(75)
    images = rng.standard_normal((4, 3, 8, 8))
    labels = rng.integers(0, 3, 4)
    ours, theirs = _both(programs.shufflenet_v2, lambda lib, m: programs.train_shufflenet(
        lib, m, lib.tensor(images), lib.tensor(labels)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_bilinear_cnn_with_signed_sqrt_and_two_stage_fine_tuning_matches_pytorch():
    rng = np.random.default_rng(76)
    images = rng.standard_normal((4, 3, 6, 6))
    labels = rng.integers(0, 3, 4)
    ours, theirs = _both(programs.bilinear_cnn, lambda lib, m: programs.train_bilinear(
        lib, m, lib.tensor(images), lib.tensor(labels)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
