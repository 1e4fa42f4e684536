"""port_programs.py run unchanged on PyTorch and on chainrule from the same weights: losses,
learning rates, norms and final parameters agree to float64 rounding."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from . import port_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")  # torch's
def test_word_language_model_transformer_with_tied_weights_and_manual_sgd_matches_pytorch():
    data = np.random.default_rng(40).integers(0, 11, 40)
    ours, theirs = _both(programs.transformer_lm, lambda lib, m: programs.train_transformer_lm(
        lib, m, lib.tensor(data)))
    assert ours[3] and theirs[3] and ours[0][-1] < ours[0][0]
    _close(ours[:3], theirs[:3], rtol=1e-9, atol=1e-11)


def test_cutmix_with_label_smoothing_and_nesterov_matches_pytorch():
    rng = np.random.default_rng(41)
    images = rng.standard_normal((6, 3, 8, 8))
    labels = rng.integers(0, 4, 6)
    draws = [(float(rng.beta(1.0, 1.0)), rng.permutation(6).tolist(), int(rng.integers(8)),
              int(rng.integers(8))) for _ in range(4)]
    ours, theirs = _both(programs.cutmix_net, lambda lib, m: programs.train_cutmix(
        lib, m, lib.tensor(images), lib.tensor(labels), draws))
    assert any(0 < lam < 1 for lam in ours[1])
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_gradient_accumulation_with_clipping_and_one_cycle_adamw_matches_pytorch():
    rng = np.random.default_rng(42)
    x = rng.standard_normal((12, 5))
    y = rng.integers(0, 3, 12)
    ours, theirs = _both(programs.accumulation_net, lambda lib, m: programs.train_accumulated(
        lib, m, lib.tensor(x), lib.tensor(y)))
    assert len({round(b[0], 9) for b in ours[3]}) > 2  # beta1 cycled
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_sequential_lr_with_warm_restarts_and_fractional_epochs_matches_pytorch():
    rng = np.random.default_rng(43)
    x = rng.standard_normal((8, 4))
    y = rng.standard_normal(8)
    ours, theirs = _both(programs.two_part_regressor, lambda lib, m:
                         programs.train_chained_schedules(lib, m, lib.tensor(x), lib.tensor(y)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_checkpoint_resumed_through_bytes_io_matches_pytorch_and_the_straight_run():
    rng = np.random.default_rng(44)
    x = rng.standard_normal((10, 4))
    y = rng.integers(0, 3, 10)
    ours, theirs = _both(programs.checkpointed_net, lambda lib, m: programs.train_resumed(
        lib, m, lib.tensor(x), lib.tensor(y)))
    _close(ours[0], ours[2], rtol=1e-12, atol=1e-14)
    _close(ours[1], ours[3], rtol=1e-12, atol=1e-14)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
