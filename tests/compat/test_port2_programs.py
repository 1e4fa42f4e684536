"""port2_programs.py run unchanged on PyTorch and on chainrule from the same weights: losses,
gradients, outputs and final parameters agree to float64 rounding."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from . import port2_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def test_perceptual_loss_from_forward_hooks_on_a_frozen_network_matches_pytorch():
    rng = np.random.default_rng(50)
    images = rng.standard_normal((2, 3, 6, 6))
    targets = rng.standard_normal((2, 3, 6, 6))
    ours, theirs = _both(programs.hooked_pair, lambda lib, m: programs.train_perceptual(
        lib, m, lib.tensor(images), lib.tensor(targets)))
    assert ours[3] == [] and ours[4] and len(ours[1]) == 3
    _close(ours[:3], theirs[:3], rtol=1e-9, atol=1e-11)


def test_custom_functions_legendre_and_max_with_indices_match_pytorch():
    rng = np.random.default_rng(51)
    x = np.linspace(-1.0, 1.0, 40)
    logits = rng.standard_normal((5, 4))
    ours, theirs = _both(programs.legendre_fit, lambda lib, m: programs.train_custom_functions(
        lib, m, lib.tensor(x), lib.tensor(np.sin(2 * x)), lib.tensor(logits)))
    assert ours[2] is True and ours[4] is False and ours[3] == theirs[3]
    assert ours[0][-1] < ours[0][0]
    _close([ours[0], ours[1], ours[5]], [theirs[0], theirs[1], theirs[5]], rtol=1e-9, atol=1e-11)


def test_parametrizations_tutorial_with_cached_and_removal_matches_pytorch():
    rng = np.random.default_rng(52)
    x = rng.standard_normal((6, 4))
    y = rng.integers(0, 2, 6)
    ours, theirs = _both(programs.parametrized_net, lambda lib, m: programs.train_parametrized(
        lib, m, lib.tensor(x), lib.tensor(y)))
    assert ours[1] == theirs[1] and ours[2] and ours[3] and ours[4] < 1e-12 and not ours[6]
    _close([ours[0], ours[5]], [theirs[0], theirs[5]], rtol=1e-9, atol=1e-11)


def test_lora_by_parametrization_with_frozen_base_matches_pytorch():
    rng = np.random.default_rng(53)
    x = rng.standard_normal((8, 6))
    y = rng.integers(0, 3, 8)
    ours, theirs = _both(programs.lora_mlp, lambda lib, m: programs.train_lora(
        lib, m, lib.tensor(x), lib.tensor(y)))
    assert ours[1] == theirs[1] and len(ours[1]) == 4 and ours[2]
    _close([ours[0], ours[3], ours[4], ours[5]], [theirs[0], theirs[3], theirs[4], theirs[5]],
           rtol=1e-9, atol=1e-11)


@pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning")  # torch's vmap
def test_model_ensembling_with_stack_module_state_and_vmap_matches_pytorch():
    rng = np.random.default_rng(54)
    x = rng.standard_normal((5, 4))
    minibatches = rng.standard_normal((3, 5, 4))
    ours, theirs = _both(programs.ensemble, lambda lib, m: programs.train_ensemble(
        lib, m, lib.tensor(x), lib.tensor(minibatches), device="cpu"))
    assert ours[2] < 1e-12
    _close([ours[0], ours[1], ours[3], ours[4]], [theirs[0], theirs[1], theirs[3], theirs[4]],
           rtol=1e-9, atol=1e-11)


@pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning")  # torch's vmap
def test_model_ensembling_with_a_meta_device_base_copy_matches_pytorch():
    rng = np.random.default_rng(54)
    x = rng.standard_normal((5, 4))
    minibatches = rng.standard_normal((3, 5, 4))
    ours, theirs = _both(programs.ensemble, lambda lib, m: programs.train_ensemble(
        lib, m, lib.tensor(x), lib.tensor(minibatches), device="meta"))
    assert ours[2] < 1e-12
    _close([ours[0], ours[1], ours[3], ours[4]], [theirs[0], theirs[1], theirs[3], theirs[4]],
           rtol=1e-9, atol=1e-11)


def test_batch_hard_triplet_mining_with_cdist_and_triplet_margin_loss_matches_pytorch():
    rng = np.random.default_rng(55)
    labels = np.repeat(np.arange(3), 3)
    x = rng.standard_normal((9, 6)) + labels[:, None]
    ours, theirs = _both(programs.embedding_net, lambda lib, m:
                         programs.train_batch_hard_triplet(lib, m, lib.tensor(x),
                                                           lib.tensor(labels)))
    assert ours[1] == theirs[1]
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)


def test_vq_vae_with_straight_through_codebook_matches_pytorch():
    images = np.random.default_rng(56).standard_normal((3, 1, 6, 6))
    ours, theirs = _both(programs.vq_vae, lambda lib, m: programs.train_vq_vae(
        lib, m, lib.tensor(images)))
    assert np.abs(ours[1]["vq._embedding.weight"]).sum() > 0
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_mae_random_masking_by_argsort_and_gather_matches_pytorch():
    rng = np.random.default_rng(57)
    images = rng.standard_normal((3, 1, 4, 4))
    noises = [rng.uniform(size=(3, 4)) for _ in range(3)]
    ours, theirs = _both(programs.mae, lambda lib, m: programs.train_mae(
        lib, m, lib.tensor(images), [lib.tensor(n) for n in noises]))
    assert all(m.sum() == 6 for m in ours[1])
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
