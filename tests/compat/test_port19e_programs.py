"""port19e_programs.py (wave 19, part five: a conv + BatchNorm folded for quantization-aware
training over ``fake_quantize_per_channel_affine``) runs unchanged on PyTorch and on chainrule:
from the same weights and data the losses, quantized weights, fused outputs and final state
dicts agree to float64 rounding; it also learns in float32."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port19e_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def test_conv_bn_folded_qat_matches_pytorch():
    rng = np.random.default_rng(1940)
    x, y = rng.standard_normal((4, 2, 5, 5)), np.array([0, 2, 1, 2])
    ours, theirs = _both(
        programs.convbn_qat,
        lambda lib, m: programs.train_convbn_qat(lib, m, lib.tensor(x), lib.tensor(y)),
    )
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    w, wq = ours["w"].reshape(4, -1), ours["wq"].reshape(4, -1)
    step = (np.maximum(w.max(1), 0) - np.minimum(w.min(1), 0)) / 255  # per output channel
    assert (wq != w).any() and (np.abs(wq - w) <= step[:, None] / 2 * (1 + 1e-6)).all()
    np.testing.assert_allclose(ours["fused_out"], ours["qat_out"], rtol=1e-12, atol=1e-12)


def test_conv_bn_qat_learns_in_float32():
    chainrule.manual_seed(19)
    rng = np.random.default_rng(1941)
    x = chainrule.tensor(rng.standard_normal((8, 2, 5, 5)), dtype=chainrule.float32)
    y = chainrule.tensor(rng.integers(0, 3, 8))
    out = programs.train_convbn_qat(chainrule, programs.convbn_qat(chainrule), x, y, steps=12)
    assert out["losses"][-1] < out["losses"][0] and out["wq"].dtype == np.float32
