"""port17b_programs.py (PyTorch's tutorials on Jacobians and Hessians, double backward with
custom Functions and saved-tensor hooks) runs unchanged on PyTorch and on chainrule: every
transform's result, check and trained weight agrees to float64 rounding; the training programs
also learn from chainrule's own draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port17b_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402

# PyTorch's forward mode (jacfwd, jvp) scripts a helper when first used
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


def test_jacobians_hessians_tutorial_matches_pytorch():
    rng = np.random.default_rng(1710)
    d, b, din, dout = 6, 5, 4, 3
    arrays = [rng.standard_normal(s) for s in
              [(d, d), (d,), (d,), (dout, din), (dout,), (b, din), (16,), (16,)]]
    ours, theirs = (programs.jacobians_tutorial(lib, *(lib.tensor(a) for a in arrays))
                    for lib in (chainrule, torch))
    _close(ours, theirs, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(ours["hvp"], ours["hvp_check"], rtol=1e-12)


def _curve(seed, n=24):
    rng = np.random.default_rng(seed)
    x = np.linspace(-2, 2, n)[:, None]
    return x, np.sin(1.5 * x) + 0.02 * rng.standard_normal((n, 1))


def _mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(1, 6), nn.Tanh(), nn.Linear(6, 1))


def test_levenberg_marquardt_by_jacrev_of_functional_call_matches_pytorch():
    x, y = _curve(1711)

    def run(lib, model):
        return programs.fit_levenberg_marquardt(lib, model, lib.tensor(x), lib.tensor(y))

    ours, theirs = _both(_mlp, run)
    _close(ours, theirs, rtol=1e-8, atol=1e-10)
    assert ours[0][-1] < 0.2 * ours[0][0]


def test_double_backward_tutorials_custom_functions_match_pytorch():
    x = np.random.default_rng(1712).uniform(0.1, 1.0, (3, 3))
    ours, theirs = (programs.double_backward_tutorial(lib, lib.tensor(x))
                    for lib in (chainrule, torch))
    assert ours[0] == theirs[0] == [True] * 4
    _close(ours[1], theirs[1], rtol=1e-13, atol=1e-14)


def test_sobolev_training_through_a_custom_sinh_matches_pytorch():
    x, _ = _curve(1713, n=16)
    y, dy = np.sin(1.5 * x), 1.5 * np.cos(1.5 * x)

    def run(lib, model):
        return programs.train_sobolev(lib, model, lib.tensor(x), lib.tensor(y), lib.tensor(dy))

    ours, theirs = _both(programs.sobolev_net, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_saved_tensor_hooks_to_disk_in_module_hooks_match_pytorch(tmp_path):
    rng = np.random.default_rng(1714)
    x, y = rng.standard_normal((10, 6)), rng.integers(0, 3, 10)

    def run(lib, model):
        return programs.train_saving_to_disk(lib, model, lib.tensor(x), lib.tensor(y),
                                             str(tmp_path))

    ours, theirs = _both(programs.saved_hooks_net, run)
    assert ours[2] and theirs[2]
    _close(ours[:2], theirs[:2], rtol=1e-10, atol=1e-12)
    assert not list(tmp_path.iterdir())  # every packed file was deleted with its node


def test_wave17_part_two_learns_with_chainrules_own_draws(tmp_path):
    chainrule.manual_seed(0)
    x, _ = _curve(1715, n=16)
    f32 = chainrule.float32
    y, dy = np.sin(1.5 * x), 1.5 * np.cos(1.5 * x)
    losses, _ = programs.train_sobolev(
        chainrule, programs.sobolev_net(chainrule), chainrule.tensor(x, dtype=f32),
        chainrule.tensor(y, dtype=f32), chainrule.tensor(dy, dtype=f32), steps=60)
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    rng = np.random.default_rng(1716)
    x = rng.standard_normal((30, 6))
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    losses, _, _ = programs.train_saving_to_disk(
        chainrule, programs.saved_hooks_net(chainrule), chainrule.tensor(x, dtype=f32),
        chainrule.tensor(y), str(tmp_path), steps=30)
    assert losses[-1] < 0.7 * losses[0]
