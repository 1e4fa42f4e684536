"""port17g_programs.py (IterNorm's whitening Function and module; ZCA whitening by
``linalg.eigh``) runs unchanged on PyTorch and on chainrule from the same weights: losses,
running whitening matrices, eval logits and trained weights agree to float64 rounding; the
hand-written backward is PyTorch autograd's own gradient; each also learns from chainrule's own
draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port17g_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def _images(seed, n=18, size=6, classes=3):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = 0.4 * rng.standard_normal((n, 1, size, size))
    for i, c in enumerate(y):
        x[i, 0, 2 * c:2 * c + 2, :] += 1.0
    return x, y


def test_iternorm_function_backward_is_autograds_gradient():
    x = np.random.default_rng(1760).standard_normal((8, 4, 3, 3))
    w = np.random.default_rng(1761).standard_normal((8, 4, 3, 3))
    grads = []
    for lib, custom in ((chainrule, True), (torch, True), (torch, False)):
        fn = programs.iternorm_function(lib)
        X = lib.tensor(x, requires_grad=True)
        args = (X, lib.zeros(2, 2, 1, dtype=lib.float64),
                lib.eye(2, dtype=lib.float64).expand(2, 2, 2).clone(), 2, 5, 1e-5, 0.1, True)
        if custom:
            out = fn.apply(*args)
        else:  # the forward alone, differentiated by PyTorch's autograd

            class Ctx:
                def save_for_backward(self, *tensors):
                    pass

            out = fn.forward(Ctx(), *args)
        (g,) = lib.autograd.grad((out * lib.tensor(w)).sum(), X)
        grads.append(g.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[0], grads[2], rtol=1e-10, atol=1e-12)


def test_iternorm_cnn_with_group_whitening_matches_pytorch():
    x, y = _images(1762)

    def run(lib, model):
        return programs.train_iternorm(lib, model, lib.tensor(x), lib.tensor(y))

    ours, theirs = _both(programs.iternorm_cnn, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _correlated(seed, n=60):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    mix = np.array([[1.0, 0.9, 0.2, 0.0], [0.0, 0.5, 0.8, 0.1], [0.3, 0.0, 0.4, 1.0],
                    [0.0, 0.1, 0.0, 0.3]])
    x = (rng.standard_normal((n, 4)) + np.eye(3, 4)[y] * 1.5) @ mix
    return x, y


def test_zca_whitening_by_eigh_fields_then_softmax_regression_matches_pytorch():
    x, y = _correlated(1763)
    ours, theirs = (programs.train_whitened_softmax(lib, lib.tensor(x), lib.tensor(y))
                    for lib in (chainrule, torch))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours[2], np.eye(4), atol=1e-3)  # eps=1e-5 in the inverse root


def test_wave17_part_seven_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    x, y = _images(1764, n=36)
    losses, logits, _ = programs.train_iternorm(
        chainrule, programs.iternorm_cnn(chainrule), chainrule.tensor(x, dtype=chainrule.float32),
        chainrule.tensor(y), epochs=8)
    assert np.mean(losses[-6:]) < 0.6 * np.mean(losses[:6])
    assert (logits.argmax(1) == y).mean() > 0.6
