"""port17i_programs.py (HashNeRF's multiresolution hash encoding; deep image prior's skip
network) runs on PyTorch and on chainrule from the same weights: losses, PSNRs, outputs and
final state dicts agree to float64 rounding; each also learns from chainrule's own draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port17i_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def _field(seed, n=40):
    rng = np.random.default_rng(seed)
    xyz = rng.uniform(-1, 1, (n, 3))
    xyz[0] = [1.2, 0.0, 0.0]  # outside the box: clamped, and dropped by keep_mask
    return xyz, np.sin(2 * xyz[:, 0]) * np.cos(xyz[:, 1]) + xyz[:, 2] ** 2


def _box(lib):
    return (lib.tensor([-1.0, -1.0, -1.0]), lib.tensor([1.0, 1.0, 1.0]))


def test_hash_encoding_field_with_xor_hashing_and_trilinear_interp_matches_pytorch():
    xyz, target = _field(1780)

    def run(lib, model):
        lib.set_default_dtype(lib.float64)
        try:
            model.embed.bounding_box = _box(lib)
            return programs.train_hash_field(lib, model, lib.tensor(xyz), lib.tensor(target))
        finally:
            lib.set_default_dtype(lib.float32)

    ours, theirs = _both(lambda lib: programs.hash_embedder(lib, _box(lib), ),
                         run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


@pytest.fixture
def restore_module_add():
    yield
    for lib in (chainrule, torch):
        if "add" in vars(lib.nn.Module):
            del lib.nn.Module.add


def _image(seed, size=8):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    clean = np.stack([0.5 + 0.4 * np.sin(3 * xx), 0.5 + 0.4 * np.cos(2 * yy), 0.5 * (xx + yy)])
    noisy = np.clip(clean + 0.1 * rng.standard_normal(clean.shape), 0, 1)
    return clean[None], noisy[None], 0.1 * rng.uniform(size=(1, 4, size, size))


def test_deep_image_prior_skip_net_with_module_add_patch_matches_pytorch(restore_module_add):
    clean, noisy, noise_input = _image(1782)

    def run(lib, net):
        # reg_noise_std=0: the program still draws noise.normal_() but adds none of it
        return programs.fit_deep_image_prior(lib, net, lib.tensor(noise_input),
                                             lib.tensor(noisy), lib.tensor(clean),
                                             reg_noise_std=0)

    ours, theirs = _both(programs.dip_skip, run)
    _close(ours[:2], theirs[:2], rtol=1e-9, atol=1e-11)
    # a convolution's bias before a BatchNorm has gradient zero: what each library computes
    # there is rounding noise (about 1e-17), which Adam divides by its eps (1e-8) into steps of
    # about lr * 1e-9, so those biases and the running means they shift agree to that size
    _close(ours[2], theirs[2], rtol=0, atol=1e-8)


def test_wave17_part_nine_learns_with_chainrules_own_draws(restore_module_add):
    chainrule.manual_seed(0)
    f32 = chainrule.float32
    xyz, target = _field(1783, n=100)
    losses, _ = programs.train_hash_field(
        chainrule, programs.hash_embedder(chainrule, _box(chainrule)),
        chainrule.tensor(xyz, dtype=f32), chainrule.tensor(target, dtype=f32), steps=40)
    assert np.mean(losses[-5:]) < 0.3 * np.mean(losses[:5])
    clean, noisy, noise_input = _image(1784)
    history, _, _ = programs.fit_deep_image_prior(
        chainrule, programs.dip_skip(chainrule), chainrule.tensor(noise_input, dtype=f32),
        chainrule.tensor(noisy, dtype=f32), chainrule.tensor(clean, dtype=f32), num_iter=60)
    assert history[-1][0] < 0.5 * history[0][0] and history[-1][2] > history[0][2]
