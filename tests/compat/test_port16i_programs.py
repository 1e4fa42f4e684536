"""port16i_programs.py (torchdiffeq's CNF example with an RK4 in place of dopri5; an orthogonal
RNN on the copy task) run unchanged on PyTorch and on chainrule from the same weights: losses,
final parameters and the recurrent matrix's orthogonality agree to float64 rounding; each also
learns from chainrule's own draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port16i_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def _batches(lib, seed, n=2, size=8):
    rng = np.random.default_rng(seed)
    return [(lib.tensor(programs.circles(size, rng)), lib.tensor(np.zeros((size, 1))))
            for _ in range(n)]


def test_torchdiffeq_cnf_with_exact_trace_and_hypernetwork_matches_pytorch():
    def run(lib, model):
        return programs.train_cnf(lib, model, _batches(lib, 1710), steps=2, ode_steps=3)

    ours, theirs = _both(lambda lib: programs.cnf(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_trace_df_dz_is_the_jacobians_trace():
    rng = np.random.default_rng(1711)
    z = chainrule.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    W = chainrule.tensor(rng.standard_normal((2, 2)))
    f = chainrule.tanh(z @ W)
    ours = programs.trace_df_dz(chainrule, f, z).detach().numpy()
    d = 1 - np.tanh(z.detach().numpy() @ W.numpy()) ** 2
    np.testing.assert_allclose(ours, (d * np.diag(W.numpy())).sum(1), rtol=1e-12)


def _copies(lib, seed, n=2, size=4):
    rng = np.random.default_rng(seed)
    return [programs.copy_task(lib, size, rng) for _ in range(n)]


def test_orthogonal_rnn_with_cayley_parametrization_and_cached_weights_matches_pytorch():
    def run(lib, model):
        return programs.train_orthogonal_rnn(lib, model, _copies(lib, 1712))

    ours, theirs = _both(lambda lib: programs.orthogonal_rnn(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    # orthogonal to float32 rounding: the trivialization's base was made in float32, then .double()
    np.testing.assert_allclose(ours[1], np.eye(8), atol=1e-6)


def test_wave16_part_nine_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    losses, _ = programs.train_cnf(chainrule, programs.cnf(chainrule).double(),
                                   _batches(chainrule, 1713, n=2, size=24), steps=8,
                                   ode_steps=2)
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    losses, gram, _ = programs.train_orthogonal_rnn(
        chainrule, programs.orthogonal_rnn(chainrule).double(), _copies(chainrule, 1714, n=4,
                                                                        size=16), steps=40)
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    np.testing.assert_allclose(gram, np.eye(8), atol=1e-6)
