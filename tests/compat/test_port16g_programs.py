"""port16g_programs.py (SGPR with torch.trace; a CNN from as_strided) run unchanged on PyTorch
and on chainrule from the same weights: bounds, hyperparameters, predictions and final parameters
agree to float64 rounding; the from-scratch layers equal F.conv2d/F.max_pool2d; each program also
learns from chainrule's own draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port16g_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def _regression(seed=1690, n=20):
    rng = np.random.default_rng(seed)
    X = np.sort(rng.uniform(-3, 3, (n, 1)), 0)
    y = np.sin(2 * X) + 0.1 * rng.standard_normal((n, 1))
    return X, y, np.linspace(-3, 3, 7)[:, None], np.linspace(-2.5, 2.5, 5)[:, None]


def test_sgpr_collapsed_bound_with_torch_trace_matches_pytorch():
    X, y, Xs, Z = _regression()

    def run(lib, model):
        return programs.train_sgpr(lib, model, lib.tensor(X), lib.tensor(y), lib.tensor(Xs))

    ours, theirs = _both(lambda lib: programs.sgpr(lib, lib.tensor(Z)), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    assert (ours[2] > 0).all()


def test_sgpr_bound_is_the_exact_marginal_likelihood_with_all_points_inducing():
    X, y, _, _ = _regression(1691, n=8)
    model = programs.sgpr(chainrule, chainrule.tensor(X)).double()
    with chainrule.no_grad():
        bound = model.elbo(chainrule.tensor(X), chainrule.tensor(y)).item()
        K = model.kernel(chainrule.tensor(X), chainrule.tensor(X)).numpy()
        s2 = model.noise.item()
    C = K + s2 * np.eye(8)
    exact = -0.5 * (y.T @ np.linalg.solve(C, y)).item() - 0.5 * np.linalg.slogdet(C)[1] \
        - 4 * np.log(2 * np.pi)
    assert bound == pytest.approx(exact, rel=1e-6)


def _images(seed=1692, n=9):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.standard_normal((n, 1, 12, 12)) * 0.5
    x[np.arange(n), 0, 3 * y + 1, :] += 2.0
    return x, y


def test_as_strided_cnn_matches_pytorch_and_the_library_layers():
    x, y = _images()

    def run(lib, model):
        return programs.train_strided_cnn(lib, model, lib.tensor(x), lib.tensor(y))

    ours, theirs = _both(lambda lib: programs.strided_cnn(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    layers, _ = _both(lambda lib: programs.strided_cnn(lib, scratch=False), run)
    _close(layers, ours, rtol=1e-9, atol=1e-11)


def test_wave16_part_seven_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    X, y, Xs, Z = _regression(1693, n=40)
    model = programs.sgpr(chainrule, chainrule.tensor(Z)).double()
    history, mean, var = programs.train_sgpr(chainrule, model, chainrule.tensor(X),
                                             chainrule.tensor(y), chainrule.tensor(Xs),
                                             steps=40)
    assert history[-1][0] < history[0][0]
    assert np.abs(mean - np.sin(2 * Xs[:, 0])).max() < 0.5
    x, y = _images(1694, n=24)
    losses, _ = programs.train_strided_cnn(chainrule, programs.strided_cnn(chainrule),
                                           chainrule.tensor(x, dtype=chainrule.float32),
                                           chainrule.tensor(y), steps=15)
    assert losses[-1] < 0.5 * losses[0]
