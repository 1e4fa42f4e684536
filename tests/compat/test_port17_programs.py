"""port17_programs.py (PyTorch's forward-mode AD and "Extending torch.func" tutorials) runs
unchanged on PyTorch and on chainrule: the tangents, transforms' results and the trained weights
agree to float64 rounding; each training program also learns from chainrule's own draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port17_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_port16_programs import _shared_draws  # noqa: E402
from .test_real_programs import _both, _close  # noqa: E402

# PyTorch's forward_ad module scripts a helper when first used
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


def _each(fn):
    ours, theirs = (fn(lib) for lib in (chainrule, torch))
    return ours, theirs


def test_forward_mode_ad_tutorial_matches_pytorch():
    rng = np.random.default_rng(1700)
    arrays = [rng.standard_normal(s) for s in
              [(10, 10), (10, 10), (10, 10), (16, 5), (5, 5), (5,), (5, 5), (5,)]]

    def run(lib):
        return programs.forward_ad_tutorial(lib, *(lib.tensor(a) for a in arrays))

    ours, theirs = _each(run)
    assert ours.pop("gradcheck") is True and theirs.pop("gradcheck") is True
    _close(ours, theirs, rtol=1e-12, atol=1e-12)


def _regression(seed, n=32):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    y = np.tanh(x @ np.array([[0.5], [-1.0], [0.3], [0.8]])) + 0.05 * rng.standard_normal((n, 1))
    return x, y


def test_forward_gradient_training_by_jvp_matches_pytorch(monkeypatch):
    x, y = _regression(1701)

    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_draws(m, lib, 1702)
            return programs.train_forward_gradient(lib, model, lib.tensor(x), lib.tensor(y))

    ours, theirs = _both(lambda lib: programs.forward_gradient_mlp(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_extending_torch_func_tutorial_matches_pytorch():
    rng = np.random.default_rng(1703)
    x, batch, cube = rng.standard_normal((3, 5)), rng.standard_normal((4, 3, 5)), \
        rng.standard_normal(6)

    def run(lib):
        return programs.extending_func_tutorial(lib, *(lib.tensor(a) for a in (x, batch, cube)))

    ours, theirs = _each(run)
    _close(ours, theirs, rtol=1e-12, atol=1e-12)


def _outliers(seed, n=40):
    x, y = _regression(seed, n)
    y = y[:, 0].copy()
    y[::7] += 4.0
    return x, y


def test_trimmed_regression_through_a_numpy_sort_function_matches_pytorch():
    x, y = _outliers(1704)

    def run(lib, model):
        return programs.train_trimmed_regression(lib, model, lib.tensor(x), lib.tensor(y))

    ours, theirs = _both(lambda lib: lib.nn.Linear(4, 1), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_wave17_part_one_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    x, y = _regression(1705)
    model = programs.forward_gradient_mlp(chainrule)
    losses, _ = programs.train_forward_gradient(
        chainrule, model, chainrule.tensor(x, dtype=chainrule.float32),
        chainrule.tensor(y, dtype=chainrule.float32), steps=150)
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])
    x, y = _outliers(1706)
    losses, _ = programs.train_trimmed_regression(
        chainrule, chainrule.nn.Linear(4, 1), chainrule.tensor(x, dtype=chainrule.float32),
        chainrule.tensor(y, dtype=chainrule.float32))
    assert losses[-1] < 0.5 * losses[0]
