"""idiom_programs.py run unchanged on PyTorch and on chainrule, from the same weights."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

from . import idiom_programs as programs
from .test_programs import _load

torch = pytest.importorskip("torch")


def _both(build, run):
    """``run(lib, model)`` for both libraries, the models loaded with the same weights (a
    state dict whose spectral-norm vector is PyTorch's own draw, normalised as it keeps it)."""
    rng = np.random.default_rng(0)
    state = {}
    for key, value in build(chainrule).state_dict().items():
        v = value.numpy()
        if key.endswith(("running_mean", "running_var", "num_batches_tracked")):
            state[key] = v.copy()  # BatchNorm's initial statistics
        elif key.endswith(("weight_u", "weight_v")):  # a unit vector, as PyTorch keeps it
            u = rng.standard_normal(v.shape).astype(np.float32)
            state[key] = u / np.linalg.norm(u)
        else:
            fan_in = int(np.prod(v.shape[1:])) if v.ndim > 1 else max(v.size, 1)
            state[key] = (rng.uniform(-1, 1, v.shape) / np.sqrt(fan_in)).astype(np.float32)
    return {lib.__name__: run(lib, _load(lib, build(lib), state)) for lib in (chainrule, torch)}


def test_grad_cam_with_hooks_matches_pytorch():
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal((2, 1, 9, 9)).astype(np.float32)
    out = _both(programs.small_cnn,
                lambda lib, m: programs.grad_cam(lib, m, lib.tensor(x0), lib.tensor([0, 2])))
    (cam, grad_out), (t_cam, t_grad_out) = out["chainrule"], out["torch"]
    assert cam.shape == (2, 1, 9, 9) and 0.0 <= cam.min() and 0.99 < cam.max() <= 1.0
    np.testing.assert_allclose(cam, t_cam, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(grad_out, t_grad_out, rtol=1e-4, atol=1e-6)


def test_domain_adversarial_training_with_a_custom_function_matches_pytorch():
    rng = np.random.default_rng(3)
    xs, xt = (rng.standard_normal((8, 6)).astype(np.float32) for _ in range(2))
    ys = rng.integers(0, 2, 8)
    out = _both(programs.dann, lambda lib, m: programs.train_dann(
        lib, m, lib.tensor(xs), lib.tensor(ys), lib.tensor(xt + 1.0)))
    assert out["chainrule"][-1] != out["chainrule"][0]
    np.testing.assert_allclose(out["chainrule"], out["torch"], rtol=2e-4, atol=1e-5)


def test_unet_with_upsample_skip_and_spectral_norm_matches_pytorch():
    rng = np.random.default_rng(4)
    x0 = rng.uniform(0, 1, (2, 1, 8, 8)).astype(np.float32)
    out = _both(programs.unet, lambda lib, m: programs.train_unet(lib, m, lib.tensor(x0)))
    assert out["chainrule"][-1] < out["chainrule"][0]
    np.testing.assert_allclose(out["chainrule"], out["torch"], rtol=5e-4, atol=1e-5)
