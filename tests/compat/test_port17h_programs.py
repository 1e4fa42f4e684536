"""port17h_programs.py (a sparse autoencoder with unit-norm decoder rows, CLIP and SigLIP
losses under open_clip's groups and schedule, schedule-free AdamW) runs unchanged on PyTorch and
on chainrule from the same weights: losses, schedules, retrievals and final state dicts agree to
float64 rounding (the autoencoder's ``.float()`` losses to float32's); each also learns from
chainrule's own draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port17h_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402

CFG = {"dict_size": 12, "l1_coeff": 3e-3, "enc_dtype": "fp64", "seed": 49, "act_size": 6,
       "lr": 5e-3, "beta1": 0.9, "beta2": 0.99, "batch_size": 8}


def _activations(seed, n=32, d=6, k=10):
    """Sparse combinations of ``k`` fixed directions."""
    rng = np.random.default_rng(seed)
    atoms = rng.standard_normal((k, d))
    codes = rng.exponential(1.0, (n, k)) * (rng.uniform(size=(n, k)) < 0.2)
    return codes @ atoms


def test_sparse_autoencoder_with_unit_norm_decoder_projection_matches_pytorch():
    acts = _activations(1770)

    def run(lib, model):
        return programs.train_sae(lib, model, lib.tensor(acts), CFG)

    ours, theirs = _both(lambda lib: programs.sae(lib, CFG), run)
    # the program's losses pass through ``.float()``: they agree to float32 rounding; the
    # float64 weights and feature frequencies to float64's
    _close(ours[0], theirs[0], rtol=1e-6, atol=1e-7)
    _close(ours[1:], theirs[1:], rtol=1e-9, atol=1e-11)
    # rows are made unit before each Adam step, which then moves them a little
    norms = np.linalg.norm(ours[2]["W_dec"], axis=-1)
    np.testing.assert_allclose(norms, 1.0, atol=0.05)


def _pairs(seed, n=18):
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 4))
    images = latent @ rng.standard_normal((4, 10)) + 0.1 * rng.standard_normal((n, 10))
    texts = latent @ rng.standard_normal((4, 8)) + 0.1 * rng.standard_normal((n, 8))
    return images, texts


@pytest.mark.parametrize("siglip", [False, True])
def test_open_clip_losses_param_groups_and_cosine_warmup_match_pytorch(siglip):
    images, texts = _pairs(1771)

    def run(lib, model):
        return programs.train_clip(lib, model, lib.tensor(images), lib.tensor(texts),
                                   siglip=siglip)

    ours, theirs = _both(lambda lib: programs.clip_model(lib, siglip=siglip), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _blobs(seed, n=32, d=5, classes=3):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    return 1.5 * rng.standard_normal((classes, d))[y] + 0.6 * rng.standard_normal((n, d)), y


def _mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(5, 12), nn.Tanh(), nn.Linear(12, 3))


def test_schedule_free_adamw_reference_with_train_eval_swaps_matches_pytorch():
    x, y = _blobs(1772)

    def run(lib, model):
        return programs.train_schedule_free(lib, model, lib.tensor(x), lib.tensor(y))

    ours, theirs = _both(_mlp, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_wave17_part_eight_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    f32 = chainrule.float32
    cfg = dict(CFG, enc_dtype="fp32")
    acts = chainrule.tensor(_activations(1773, n=96), dtype=f32)
    history, _, _ = programs.train_sae(chainrule, programs.sae(chainrule, cfg), acts, cfg,
                                       epochs=12, resample=True)
    assert np.mean([h[1] for h in history[-6:]]) < 0.5 * np.mean([h[1] for h in history[:6]])
    images, texts = _pairs(1774, n=36)
    history, retrieval, _ = programs.train_clip(
        chainrule, programs.clip_model(chainrule), chainrule.tensor(images, dtype=f32),
        chainrule.tensor(texts, dtype=f32), epochs=15)
    assert history[-1][0] < 0.7 * history[0][0] and (retrieval == np.arange(36)).mean() > 0.3
    x, y = _blobs(1775, n=48)
    history, _ = programs.train_schedule_free(
        chainrule, _mlp(chainrule), chainrule.tensor(x, dtype=f32), chainrule.tensor(y),
        epochs=10)
    assert history[-1] < 0.6 * history[0]
