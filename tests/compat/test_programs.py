"""PyTorch-style programs (programs.py) run unchanged on PyTorch and on chainrule, losses equal.

Each program is called with the library as its ``torch``; the PyTorch run needs the oracle
(``pytest.importorskip("torch")``). Both start from the same NumPy weights (a state dict loaded
with ``strict=True``), so their losses must agree to float32 rounding.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import chainrule

from . import programs


def _library(name):
    if name == "torch":
        return pytest.importorskip("torch")
    return chainrule


def _utils_data(torch):
    return importlib.import_module(f"{torch.__name__}.utils.data")


def _weights(model, rng, scale=0.3):
    """A NumPy state dict of the model's shapes (uniform, fan-in scaled) to start both runs."""
    state = {}
    for k, v in model.state_dict().items():
        shape = tuple(v.shape)
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        state[k] = rng.uniform(-1, 1, shape).astype(np.float32) * scale / np.sqrt(max(fan_in, 1))
    return state


def _load(torch, model, state):
    model.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict=True)
    return model


def _run_both(build, train, *args):
    """The program's results under chainrule, and under PyTorch when it is installed."""
    state = _weights(build(chainrule), np.random.default_rng(0))
    results = {}
    for name in ("chainrule", "torch"):
        if name == "torch":
            try:
                import torch  # noqa: F401
            except ImportError:
                continue
        lib = _library(name)
        results[name] = train(lib, _load(lib, build(lib), state), *args)
    return results


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 48)
    x = rng.normal(0, 1, (48, 1, 12, 12)).astype(np.float32)
    x[:, 0, :4, :4] += 2.0 * (y == 0)[:, None, None]  # a learnable signal per class
    x[:, 0, -4:, -4:] += 2.0 * (y == 1)[:, None, None]
    return x, y


def test_mnist_style_cnn_trains_alike(images):
    x, y = images
    results = _run_both(programs.mnist_net,
                        lambda lib, model: programs.train_cnn(lib, _utils_data(lib), model, x, y))
    losses, test_loss, correct = results["chainrule"]
    assert len(losses) == 6 and losses[-1] < losses[0]
    assert 0 <= correct <= 48 and np.isfinite(test_loss)
    if "torch" in results:
        t_losses, t_test, t_correct = results["torch"]
        np.testing.assert_allclose(losses, t_losses, rtol=2e-4, atol=1e-5)
        np.testing.assert_allclose(test_loss, t_test, rtol=2e-4)
        assert correct == t_correct


@pytest.mark.parametrize("name", ["chainrule", "torch"])
def test_polynomial_fit_with_manual_sgd(name):
    torch = _library(name)
    losses, coefficients = programs.fit_polynomial(torch, (0.1, -0.2, 0.05, 0.01))
    assert losses[-1] < 0.5 * losses[0]
    if name == "torch":
        ours, ours_coef = programs.fit_polynomial(chainrule, (0.1, -0.2, 0.05, 0.01))
        np.testing.assert_allclose(ours, losses, rtol=1e-4)
        np.testing.assert_allclose(ours_coef, coefficients, rtol=1e-4, atol=1e-6)


def test_mlp_regression_with_hand_written_steps():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (64, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
    results = _run_both(programs.mlp, lambda lib, m: programs.train_mlp_manual_sgd(lib, m, x, y))
    losses = results["chainrule"]
    assert losses[-1] < 0.5 * losses[0]
    if "torch" in results:
        np.testing.assert_allclose(losses, results["torch"], rtol=1e-4, atol=1e-6)


def test_word_language_model_style_lstm():
    ids = np.random.default_rng(3).integers(0, 7, 81).tolist()
    results = _run_both(lambda lib: programs.char_lstm(lib, 7, 5, 6),
                        lambda lib, m: programs.train_char_lstm(lib, m, ids))
    losses = results["chainrule"]
    assert len(losses) == 8 and all(np.isfinite(losses))
    if "torch" in results:
        np.testing.assert_allclose(losses, results["torch"], rtol=1e-4, atol=1e-6)


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's notes on nested tensors and masks
def test_gpt_style_char_transformer():
    ids = np.random.default_rng(4).integers(0, 11, 120).tolist()
    results = _run_both(lambda lib: programs.char_transformer(lib, 11),
                        lambda lib, m: programs.train_char_transformer(lib, m, ids))
    losses = results["chainrule"]
    assert len(losses) == 6 and losses[-1] < losses[0]
    if "torch" in results:
        np.testing.assert_allclose(losses, results["torch"], rtol=1e-4, atol=1e-6)
