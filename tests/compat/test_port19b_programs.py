"""port19b_programs.py (wave 19, part two: hand-written QAT over PyTorch's fake-quantize ops,
PCGrad, HRNet's OHEM loss, CBAM) runs unchanged on PyTorch and on chainrule: from the same
weights and data the losses, observer ranges, step sizes, projections and final state dicts
agree to float64 rounding; the programs also learn in float32."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port19b_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close, _state  # noqa: E402


def _data(seed, n=10):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)), rng.integers(0, 3, n)


def test_hand_written_qat_with_fake_quantize_ops_matches_pytorch():
    x, y = _data(1910)
    state = _state(programs.qat_mlp(chainrule), np.random.default_rng(0))
    out = {}
    for lib in (chainrule, torch):
        model, fresh = (programs.qat_mlp(lib) for _ in range(2))
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        out[lib.__name__] = programs.train_qat(
            lib, model.double(), fresh.double(), lib.tensor(x), lib.tensor(y)
        )
    ours, theirs = out["chainrule"], out["torch"]
    assert ours.pop("flag_dtype") == theirs.pop("flag_dtype") == "uint8"
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    np.testing.assert_array_equal(ours["reloaded"], ours["out"])
    assert ours["ranges"][-1] == ours["ranges"][2]  # frozen observers
    assert ours["step_size"] != 0.25  # LSQ's step learned through grad_scale
    codes = ours["state"]["1.weight"].max(1, keepdims=True) / 127  # per-row int8 grid ...
    assert not np.allclose(
        ours["state"]["1.weight"] / codes, np.round(ours["state"]["1.weight"] / codes)
    )  # ... which the float master weights do not sit on


def test_pcgrad_gradient_surgery_matches_pytorch():
    x, y = _data(1911)
    y_reg = np.random.default_rng(1).standard_normal((10, 1))
    ours, theirs = _both(
        programs.two_task_net,
        lambda lib, m: programs.train_pcgrad(
            lib, m, lib.tensor(x), lib.tensor(y_reg), lib.tensor(y % 2)
        ),
    )
    assert ours["conflicts"] == theirs["conflicts"]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_hrnet_ohem_cross_entropy_matches_pytorch():
    rng = np.random.default_rng(1912)
    images, target = rng.standard_normal((2, 3, 4, 5)), rng.integers(0, 4, (2, 4, 5))
    target[0, 0, :3] = 255  # ignored pixels
    ours, theirs = _both(
        programs.seg_head,
        lambda lib, m: programs.train_ohem(lib, m, lib.tensor(images), lib.tensor(target)),
    )
    assert ours["kept"] == theirs["kept"] and all(5 <= k < 37 for k in ours["kept"])
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_cbam_attention_matches_pytorch():
    rng = np.random.default_rng(1913)
    x, y = rng.standard_normal((2, 3, 4, 5)), np.array([2, 0])
    ours, theirs = _both(
        programs.cbam_net, lambda lib, m: programs.train_cbam(lib, m, lib.tensor(x), lib.tensor(y))
    )
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_programs_learn_in_float32_from_chainrule_draws():
    chainrule.manual_seed(19)
    x, y = (chainrule.tensor(a) for a in _data(1914, n=24))
    x = x.float()
    out = programs.train_qat(
        chainrule,
        programs.qat_mlp(chainrule),
        programs.qat_mlp(chainrule),
        x,
        y,
        steps=25,
        freeze_at=15,
    )
    assert np.mean(out["losses"][-3:]) < out["losses"][0]
    assert out["out"].dtype == np.float32
    rng = np.random.default_rng(1915)
    images = chainrule.tensor(rng.standard_normal((2, 3, 4, 5)), dtype=chainrule.float32)
    target = chainrule.tensor(rng.integers(0, 4, (2, 4, 5)))
    out = programs.train_ohem(chainrule, programs.seg_head(chainrule), images, target, steps=15)
    assert out["losses"][-1] < out["losses"][0]
