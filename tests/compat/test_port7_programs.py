"""port7_programs.py run unchanged on PyTorch and on chainrule from the same weights: losses,
attributions, predictions and final parameters agree to float64 rounding."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from . import port7_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def test_saliency_smoothgrad_guided_hooks_and_integrated_gradients_match_pytorch():
    rng = np.random.default_rng(100)
    images = rng.standard_normal((3, 1, 8, 8))
    targets = np.array([0, 2, 1])
    noises = [0.1 * rng.standard_normal(images.shape) for _ in range(3)]
    ours, theirs = _both(programs.attribution_cnn, lambda lib, m: programs.attributions(
        lib, m, lib.tensor(images), lib.tensor(targets), [lib.tensor(n) for n in noises]))
    assert (ours[3] >= 0).all() and np.abs(ours[2]).sum() > 0
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_heteroscedastic_deep_ensemble_with_gaussian_and_poisson_nll_matches_pytorch():
    rng = np.random.default_rng(101)
    x = rng.uniform(-2, 2, (16, 1))
    y = np.sin(2 * x[:, 0]) + 0.2 * np.abs(x[:, 0]) * rng.standard_normal(16)
    counts = rng.poisson(np.exp(x[:, 0] / 2)).astype(np.float64)
    ours, theirs = _both(programs.hetero_ensemble, lambda lib, m:
                         programs.train_hetero_ensemble(lib, m, lib.tensor(x), lib.tensor(y),
                                                        lib.tensor(counts)))
    assert (ours[2] > 0).all()
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_cyclically_annealed_vae_with_free_bits_and_adamax_matches_pytorch():
    rng = np.random.default_rng(102)
    x = rng.standard_normal((6, 8))
    eps = [rng.standard_normal((6, 3)) for _ in range(8)]
    ours, theirs = _both(programs.gaussian_vae, lambda lib, m: programs.train_annealed_vae(
        lib, m, lib.tensor(x), [lib.tensor(e) for e in eps]))
    assert [row[2] for row in ours[0]] == [0.0, 0.5, 1.0, 1.0, 0.0, 0.5, 1.0, 1.0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_multilabel_focal_loss_with_soft_margin_and_radam_matches_pytorch():
    rng = np.random.default_rng(103)
    x = rng.standard_normal((10, 6))
    targets = (rng.uniform(size=(10, 4)) < 0.3).astype(np.float64)
    ours, theirs = _both(programs.multilabel_net, lambda lib, m: programs.train_focal(
        lib, m, lib.tensor(x), lib.tensor(targets)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_pairwise_ranking_with_margin_cosine_losses_and_rprop_matches_pytorch():
    rng = np.random.default_rng(104)
    x = rng.standard_normal((8, 5))
    pairs = rng.integers(0, 8, (10, 2))
    prefs = np.where(rng.uniform(size=10) < 0.5, -1.0, 1.0)
    similar = np.where(rng.uniform(size=10) < 0.5, -1.0, 1.0)
    ours, theirs = _both(programs.ranker, lambda lib, m: programs.train_ranker(
        lib, m, lib.tensor(x), lib.tensor(pairs), lib.tensor(prefs), lib.tensor(similar)))
    assert ours[2] == theirs[2]
    _close([ours[0], ours[1], ours[3]], [theirs[0], theirs[1], theirs[3]], rtol=1e-9,
           atol=1e-11)


def test_hypernetwork_with_per_sample_kernels_as_a_grouped_conv_matches_pytorch():
    rng = np.random.default_rng(105)
    x = rng.standard_normal((4, 2, 5, 5))
    z = rng.standard_normal((4, 3))
    labels = rng.integers(0, 2, 4)
    ours, theirs = _both(programs.hypernetwork, lambda lib, m: programs.train_hypernetwork(
        lib, m, lib.tensor(x), lib.tensor(z), lib.tensor(labels)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_checkpoint_sequential_training_then_conv_bn_fusion_matches_pytorch():
    rng = np.random.default_rng(106)
    x = rng.standard_normal((4, 2, 5, 5))
    y = rng.integers(0, 2, 4)
    ours, theirs = _both(programs.conv_bn_net, lambda lib, m: programs.train_then_fuse(
        lib, m, lib.tensor(x), lib.tensor(y)))
    np.testing.assert_allclose(ours[1], ours[2], rtol=1e-10, atol=1e-12)
    assert ours[3] and theirs[3]
    _close([ours[0], ours[2], ours[4]], [theirs[0], theirs[2], theirs[4]], rtol=1e-9,
           atol=1e-11)


def test_lstmp_acoustic_model_with_ctc_and_greedy_decoding_matches_pytorch():
    rng = np.random.default_rng(107)
    feats = rng.standard_normal((3, 12, 6))
    feat_lengths = np.array([12, 9, 11])
    targets = rng.integers(1, 5, (3, 3))
    target_lengths = np.array([3, 2, 3])
    ours, theirs = _both(programs.lstmp_ctc, lambda lib, m: programs.train_lstmp_ctc(
        lib, m, lib.tensor(feats), lib.tensor(feat_lengths), lib.tensor(targets),
        lib.tensor(target_lengths)))
    assert ours[1] == theirs[1] and "rnn.weight_hr_l1_reverse" in ours[2]
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)
