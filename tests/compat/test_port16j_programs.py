"""port16j_programs.py (fducau's adversarial autoencoder) runs unchanged on PyTorch and on
chainrule from the same weights and prior draws: the three phases' losses, the codes and the
final parameters agree to float64 rounding; it also learns from chainrule's own draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port16j_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_port16_programs import _float64, _shared_draws  # noqa: E402
from .test_real_programs import _both, _close  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore:non-inplace resize is deprecated"),
              pytest.mark.filterwarnings("ignore:nn.functional.sigmoid is deprecated")]


def _bits(seed, n=12, d=12):
    rng = np.random.default_rng(seed)
    proto = (rng.uniform(size=(3, d)) < 0.5).astype(np.float64)
    # below 1: in float64 the program's ``X + TINY`` of a pixel at 1.0 leaves [0, 1], which
    # PyTorch's binary_cross_entropy refuses (as chainrule's); in MNIST's float32 it rounds to 1
    return np.clip(proto[np.arange(n) % 3] + 0.1 * rng.standard_normal((n, d)), 0, 0.999)


def test_adversarial_autoencoder_three_phases_match_pytorch(monkeypatch):
    x = _bits(1720)

    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_draws(m, lib, 1721)
            return _float64(lib, lambda: programs.train_aae(lib, model, lib.tensor(x)))

    ours, theirs = _both(lambda lib: programs.aae(lib, p_drop=0.0), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_wave16_part_ten_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    x = chainrule.tensor(_bits(1722, n=48), dtype=chainrule.float32)
    history, codes, _ = programs.train_aae(chainrule, programs.aae(chainrule), x, epochs=25,
                                           train_batch_size=8)
    recon = [h[0] for h in history]
    assert np.mean(recon[-6:]) < np.mean(recon[:6]) and codes.shape == (48, 2)
