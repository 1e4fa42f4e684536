"""train_programs.py runs unchanged on PyTorch and on chainrule from the same weights: LBFGS's
losses, the scaled SGD epochs, SWALR's rates and the SWA model's predictions agree."""

import numpy as np
import pytest

import chainrule

from . import train_programs as programs
from .test_programs import _load


def _fit_both(use_amp):
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, (32, 3))
    y = np.sin(x @ np.array([[1.0], [-0.5], [0.8]]))
    wrng = np.random.default_rng(0)
    state = {}
    for k, v in programs.regressor(chainrule).state_dict().items():
        fan_in = v.shape[1] if len(v.shape) == 2 else 4
        state[k] = wrng.uniform(-1, 1, tuple(v.shape)) / np.sqrt(fan_in)
    state["1.weight"] = 1 + state["1.weight"] / 4  # BatchNorm: its usual start, perturbed
    state["1.running_mean"], state["1.running_var"] = np.zeros(16), np.ones(16)
    state["1.num_batches_tracked"] = np.array(0, dtype=np.int64)
    results = {}
    for name in ("chainrule", "torch"):
        lib = chainrule if name == "chainrule" else pytest.importorskip("torch")
        try:
            results[name] = programs.fit(lib, _load(lib, programs.regressor(lib), state), x, y,
                                         use_amp)
        finally:
            lib.use_deterministic_algorithms(False)
    return results


@pytest.mark.torch
@pytest.mark.parametrize("use_amp", [False, True])
def test_lbfgs_checkpoint_scaler_and_swa_fit_alike(use_amp):
    results = _fit_both(use_amp)
    lbfgs, epochs, rates, predictions, scale = results["chainrule"]
    assert lbfgs[-1] < lbfgs[0] and epochs[-1] < epochs[0]
    assert scale == (2.0**10 * 2 ** (12 // 3) if use_amp else 1.0)  # 12 clean steps
    theirs = results["torch"]
    np.testing.assert_allclose(lbfgs, theirs[0], rtol=1e-9)
    np.testing.assert_allclose(epochs, theirs[1], rtol=1e-9)
    np.testing.assert_allclose(rates, theirs[2], rtol=1e-13)
    np.testing.assert_allclose(predictions, theirs[3], rtol=1e-9, atol=1e-12)
    assert scale == theirs[4]
