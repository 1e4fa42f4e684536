"""The VAE of dist_programs.py under PyTorch and chainrule: same weights, same noise, same losses.

``rsample``'s noise comes from each library's own generator, so both runs read it from one NumPy
stream instead (the test replaces the standard-normal draw of each library's ``Normal``); what is
compared is then the arithmetic: densities, KL, reparameterised gradients and the Adam steps.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
import chainrule.distributions.continuous as ours_normal

from . import dist_programs
from .test_programs import _load, _weights

pytestmark = pytest.mark.torch


def _feeder(noise):
    stream = iter(noise)

    def take(shape):
        block = next(stream)
        assert block.shape == tuple(shape), (block.shape, shape)
        return block

    return take


def test_vae_with_rsample_and_kl_trains_alike(monkeypatch):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = (rng.random((48, 16)) < 0.3).astype(np.float32)
    noise = [b for b in rng.standard_normal((9, 16, 2)).astype(np.float32)] + \
        [rng.standard_normal((48, 2)).astype(np.float32)]
    state = _weights(dist_programs.vae(chainrule), np.random.default_rng(1))

    take = _feeder(noise)
    monkeypatch.setattr(ours_normal, "draw", lambda who, rng, generator, kind, shape, like:
                        chainrule.tensor(take(shape), dtype=like.dtype))
    ours = dist_programs.train_vae(chainrule, _load(chainrule, dist_programs.vae(chainrule),
                                                    state), x)

    take_t = _feeder(noise)
    monkeypatch.setattr(torch.distributions.normal, "_standard_normal",
                        lambda shape, dtype, device: torch.tensor(take_t(shape), dtype=dtype))
    theirs = dist_programs.train_vae(torch, _load(torch, dist_programs.vae(torch), state), x)

    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-4)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-4)
    assert ours[0][-1] < ours[0][0]
