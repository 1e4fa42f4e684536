"""port18c_programs.py (wave 18, part three) runs unchanged on PyTorch and on chainrule: from the
same weights and data the losses, transforms, images and parameters agree to float64 rounding;
the programs also learn from chainrule's own draws in float32."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port18c_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402

_MODES = [(m, p) for m in ("bilinear", "nearest", "bicubic")
          for p in ("zeros", "border", "reflection")]


def _digits(seed, n=6, side=8):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.uniform(0, 0.2, (n, 1, side, side))
    for i, c in enumerate(y):  # a bar whose position tells the class
        x[i, 0, 2 * c + 1:2 * c + 3, 1:7] += 0.8
    return x, y


def test_spatial_transformer_in_every_sampling_and_padding_mode_matches_pytorch():
    x, y = _digits(1820)

    def run(lib, model):
        model.init_identity()
        return programs.train_stn(lib, model, lib.tensor(x), lib.tensor(y), _MODES, steps_each=1)

    ours, theirs = _both(programs.stn, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_deep_dream_with_octaves_and_jitter_matches_pytorch():
    rng = np.random.default_rng(1821)
    base = rng.uniform(size=(1, 3, 8, 8))
    shifts = rng.integers(-2, 3, (3, 3, 2)).tolist()
    ours, theirs = _both(programs.dream_net, lambda lib, net: programs.deep_dream(
        lib, net, lib.tensor(base), shifts))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_gem_lp_and_fractional_pooling_retrieval_matches_pytorch():
    rng = np.random.default_rng(1822)
    anchors = rng.uniform(size=(4, 1, 6, 7))
    positives = anchors + 0.05 * rng.standard_normal(anchors.shape)
    samples = rng.uniform(size=(4, 4, 2))

    def run(lib, model):
        return programs.train_gem(lib, model, lib.tensor(anchors), lib.tensor(positives),
                                  lib.tensor(samples))

    ours, theirs = _both(programs.gem_net, run)
    assert ours.pop("repr") == theirs.pop("repr")
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _blobs(seed, n=24):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return rng.standard_normal((n, 3)) + 1.5 * y[:, None], y


def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 8), lib.nn.ReLU(), lib.nn.Linear(8, 2))


def test_lr_range_test_and_restore_match_pytorch():
    x, y = _blobs(1823)

    def run(lib, model):
        before = [p.detach().numpy().copy() for p in model.parameters()]
        out = programs.lr_range_test(lib, model, lib.tensor(x), lib.tensor(y))
        _close(out["restored"], before, rtol=0, atol=0)  # restored exactly
        return out

    ours, theirs = _both(_mlp, run)
    assert ours["state_after"] == theirs["state_after"] == 0
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _segments(seed, n=2, side=6):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2, side, side))
    target = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1).astype(np.int64)
    target[0, 0, :3] = 255  # unlabelled pixels
    return x, target


def test_segmentation_decoder_with_upsampling_layers_matches_pytorch():
    x, target = _segments(1824)
    ours, theirs = _both(programs.seg_decoder, lambda lib, m: programs.train_segmentation(
        lib, m, lib.tensor(x), lib.tensor(target)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_wave18_part_three_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    x, y = _digits(1825, n=12)
    model = programs.stn(chainrule)
    model.init_identity()
    out = programs.train_stn(chainrule, model, chainrule.tensor(x, dtype=chainrule.float32),
                             chainrule.tensor(y), [("bilinear", "zeros")], steps_each=40)
    assert out["losses"][-1] < 0.5 * out["losses"][0]
    x, target = _segments(1826, n=4)
    seg = programs.train_segmentation(chainrule, programs.seg_decoder(chainrule),
                                      chainrule.tensor(x, dtype=chainrule.float32),
                                      chainrule.tensor(target), steps=100)
    assert seg["losses"][-1] < 0.6 * seg["losses"][0] and seg["pixel_acc"] > 0.6


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_base_coordinates_are_pytorchs_to_the_last_bit(dtype, align_corners):
    # they were NumPy's linspace times (n - 1) / n: a pixel centre an ulp off its pixel moved
    # grid_sample's floor to the next cell, and so its one-sided gradient for theta (the STN
    # tutorial starts from the identity, where every sampling point is a pixel centre). The
    # gradient is compared on a side of 8, where unnormalizing rounds once; for other sides
    # PyTorch's vectorized kernel rounds (x + 1) * size / 2 - 0.5 as one fused multiply-add
    # where the CPU has one, which chainrule does not emulate
    x = np.random.default_rng(1827).uniform(size=(1, 2, 8, 8))
    got = []
    for lib in (chainrule, torch):
        theta = lib.tensor([[[1.0, 0, 0], [0, 1, 0]]], dtype=getattr(lib, dtype),
                           requires_grad=True)
        grids = [lib.nn.functional.affine_grid(theta.detach(), (1, 1, n, n + 3),
                                               align_corners=align_corners) for n in range(2, 30)]
        grid3 = lib.nn.functional.affine_grid(lib.eye(3, 4, dtype=getattr(lib, dtype))[None],
                                              (1, 1, 5, 6, 7), align_corners=align_corners)
        out = lib.nn.functional.grid_sample(
            lib.tensor(x, dtype=getattr(lib, dtype)),
            lib.nn.functional.affine_grid(theta, (1, 2, 8, 8), align_corners=align_corners),
            align_corners=align_corners)
        out.pow(2).sum().backward()
        got.append([g.numpy() for g in grids] + [grid3.numpy(), theta.grad.numpy()])
    _close(got[0][:-1], got[1][:-1], rtol=0, atol=0)
    _close(got[0][-1], got[1][-1], rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-5)
