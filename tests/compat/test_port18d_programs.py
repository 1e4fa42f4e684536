"""port18d_programs.py (wave 18, part four) runs unchanged on PyTorch and on chainrule: from the
same weights and data the losses, gradients, attention weights and recurrent states agree to
float64 rounding; the programs also learn from chainrule's own draws in float32."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port18d_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.ReLU(), lib.nn.Linear(6, 2))


def test_amp_recipe_with_amp_switched_off_matches_pytorch():
    rng = np.random.default_rng(1830)
    x, y = rng.standard_normal((8, 4)), rng.integers(0, 2, 8)
    ours, theirs = _both(_mlp, lambda lib, m: programs.amp_recipe(
        lib, m, lib.tensor(x), lib.tensor(y)))
    for key in ("enabled", "scaler_state", "grads", "scale"):
        assert ours.pop(key) == theirs.pop(key), key
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _cells_data(seed, n=5):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((n, 3)), rng.standard_normal((n, 4))
    return a, b, np.tanh(a[:, :1] + b[:, :1]), (a[:, 0] > 0).astype(np.int64) + (b[:, 0] > 0)


def test_multitask_cells_model_matches_pytorch():
    a, b, y_reg, y_cls = _cells_data(1831)
    ours, theirs = _both(programs.cells_model, lambda lib, m: programs.train_cells(
        lib, m, *(lib.tensor(v) for v in (a, b, y_reg, y_cls))))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _attention_data(seed, n=4):
    rng = np.random.default_rng(seed)
    q, k, v = rng.standard_normal((n, 3, 6)), rng.standard_normal((n, 5, 4)), \
        rng.standard_normal((n, 5, 5))
    mask = np.zeros((n, 5), dtype=bool)
    mask[0, 3:], mask[2, 1] = True, True
    return q, k, v, mask, rng.integers(0, 3, n)


def test_cross_attention_with_kdim_vdim_bias_kv_and_zero_attn_matches_pytorch():
    q, k, v, mask, y = _attention_data(1832)
    ours, theirs = _both(programs.cross_attention, lambda lib, m: programs.train_cross_attention(
        lib, m, *(lib.tensor(t) for t in (q, k, v, mask, y))))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    assert ours["masked_weight"] == 0.0


def _sequences(seed, lengths=(4, 2, 5)):
    rng = np.random.default_rng(seed)
    seqs = [rng.standard_normal((n, 3)) for n in lengths]
    return seqs, [(s[:, 0] > 0).astype(np.int64) + (s[:, 1] > 0) for s in seqs]


def test_projected_bidirectional_lstm_tagger_over_packed_sequences_matches_pytorch():
    seqs, tags = _sequences(1833)
    ours, theirs = _both(programs.packed_tagger, lambda lib, m: programs.train_tagger(
        lib, m, [lib.tensor(s) for s in seqs], [lib.tensor(t) for t in tags]))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_wave18_part_four_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    seqs, tags = _sequences(1834, lengths=(6, 3, 5, 4, 7, 2))
    f32 = chainrule.float32
    out = programs.train_tagger(chainrule, programs.packed_tagger(chainrule),
                                [chainrule.tensor(s, dtype=f32) for s in seqs],
                                [chainrule.tensor(t) for t in tags], steps=28)
    assert out["losses"][-1] < 0.6 * out["losses"][0]
    a, b, y_reg, y_cls = _cells_data(1835, n=16)
    cells = programs.train_cells(chainrule, programs.cells_model(chainrule),
                                 *(chainrule.tensor(v, dtype=f32) for v in (a, b, y_reg)),
                                 chainrule.tensor(y_cls), steps=24)
    assert cells["losses"][-2] < 0.6 * cells["losses"][0]
