"""more_programs.py run unchanged on PyTorch and on chainrule, from the same weights."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

from . import more_programs as programs
from . import test_programs
from .test_programs import _run_both, _utils_data
from .test_programs import _weights as _uniform


def _weights(model, rng, scale=0.3):
    """``test_programs._weights``, with BatchNorm's buffers at their initial values."""
    state = {}
    for k, v in model.state_dict().items():
        if k.endswith(("running_var", "running_mean", "num_batches_tracked")):
            state[k] = np.asarray(v.numpy()).copy()
        else:
            state.update(_uniform(_Only(k, v), rng, scale))
    return state


class _Only:
    """One entry of a state dict, as ``test_programs._weights`` reads a model."""

    def __init__(self, key, value):
        self.entry = {key: value}

    def state_dict(self):
        return self.entry


def _texts(rng, n=16, vocab=9):
    """Token ids 1..vocab-1 of lengths 2..7; the class says whether id 1 is in the text."""
    texts, labels = [], []
    for _ in range(n):
        ids = rng.integers(2, vocab, rng.integers(2, 8)).tolist()
        label = int(rng.random() < 0.5)
        if label:
            ids[rng.integers(0, len(ids))] = 1
        texts.append(ids)
        labels.append(label)
    return texts, labels


def test_lstm_text_classifier_with_padding_collate():
    texts, labels = _texts(np.random.default_rng(5))
    results = _run_both(
        lambda lib: programs.text_classifier(lib, 9, 2),
        lambda lib, m: programs.train_text_classifier(lib, _utils_data(lib), m, texts, labels))
    losses, correct = results["chainrule"]
    assert len(losses) == 12 and all(np.isfinite(losses)) and 0 <= correct <= 16
    if "torch" in results:
        t_losses, t_correct = results["torch"]
        np.testing.assert_allclose(losses, t_losses, rtol=1e-4, atol=1e-6)
        assert correct == t_correct


def test_schedules_clipping_and_in_place_ema(monkeypatch):
    monkeypatch.setattr(test_programs, "_weights", _weights)
    rng = np.random.default_rng(6)
    y = rng.integers(0, 3, 40)
    x = (rng.normal(0, 1, (40, 5)) + np.eye(3, 5)[y] * 1.5).astype(np.float32)
    results = _run_both(lambda lib: programs.mlp_classifier(lib, 5, 3),
                        lambda lib, m: programs.train_with_schedule(lib, _utils_data(lib), m, x,
                                                                    y))
    losses, norms, rates, ema_loss = results["chainrule"]
    assert len(losses) == 20 and np.mean(losses[-5:]) < np.mean(losses[:5]) and max(norms) > 0
    if "torch" in results:
        t_losses, t_norms, t_rates, t_ema = results["torch"]
        np.testing.assert_allclose(rates, t_rates, rtol=1e-12)
        np.testing.assert_allclose(losses, t_losses, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(norms, t_norms, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(ema_loss, t_ema, rtol=1e-4)




def test_a_program_under_set_default_dtype_float64_matches_torch_closely(monkeypatch):
    """``set_default_dtype(float64)`` in both libraries: layers, losses and schedules in
    float64, so the runs agree to rounding of float64 rather than float32."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, 40)
    x = rng.normal(0, 1, (40, 5)) + np.eye(3, 5)[y] * 1.5
    state = {k: v.astype(np.float64) if v.dtype == np.float32 else v
             for k, v in _weights(programs.mlp_classifier(chainrule, 5, 3),
                                  np.random.default_rng(0)).items()}
    results = {}
    for lib in (chainrule, torch):
        old = lib.get_default_dtype()
        lib.set_default_dtype(lib.float64)
        try:
            model = programs.mlp_classifier(lib, 5, 3)
            assert model[0].weight.dtype == lib.float64
            model.load_state_dict({k: lib.tensor(v) for k, v in state.items()}, strict=True)
            results[lib.__name__] = programs.train_with_schedule(lib, _utils_data(lib), model,
                                                                 x, y)
        finally:
            lib.set_default_dtype(old)
    ours, theirs = results["chainrule"], results["torch"]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
