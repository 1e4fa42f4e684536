"""port17f_programs.py (variational robust regression, the continuous Bernoulli VAE, a sigmoid
flow) runs unchanged on PyTorch and on chainrule from the same weights and noise: ELBOs,
densities, moments, quantiles and trained parameters agree to float64 rounding; each also
learns from chainrule's own draws.

``rsample``'s noise comes from each library's own generator, so both runs read it from one
NumPy stream in call order (the test replaces each library's standard-normal draw)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
import chainrule.distributions.continuous as ours_continuous
import chainrule.distributions.lowrank as ours_lowrank

torch = pytest.importorskip("torch")

from . import port17f_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_port16_programs import _float64, _shared_draws  # noqa: E402
from .test_real_programs import _both, _close  # noqa: E402


def _normal_draws(monkeypatch, lib, seed):
    rng = np.random.default_rng(seed)
    if lib is chainrule:
        def draw(who, rng_, generator, kind, shape, like, **kwargs):
            assert kind == "standard_normal", who
            return chainrule.tensor(rng.standard_normal(tuple(shape)), dtype=like.dtype)

        for module in (ours_continuous, ours_lowrank):
            monkeypatch.setattr(module, "draw", draw)
    else:
        def standard_normal(shape, dtype, device):
            return torch.tensor(rng.standard_normal(tuple(shape)), dtype=dtype)

        for module in (torch.distributions.normal, torch.distributions.lowrank_multivariate_normal):
            monkeypatch.setattr(module, "_standard_normal", standard_normal)


def _robust_data(seed, n=30):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.2 * rng.standard_normal(n)
    y[::6] += 5.0  # outliers the Student-t likelihood shrugs off
    return x, y


def test_robust_regression_by_low_rank_svi_with_student_t_matches_pytorch(monkeypatch):
    x, y = _robust_data(1750)

    def run(lib, guide):
        with monkeypatch.context() as m:
            _normal_draws(m, lib, 1751)
            return _float64(lib, lambda: programs.train_robust_vi(lib, guide, lib.tensor(x),
                                                                  lib.tensor(y)))

    ours, theirs = _both(programs.vi_guide, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _pixels(seed, n=24, d=16):
    rng = np.random.default_rng(seed)
    proto = rng.uniform(0.05, 0.95, (3, d))
    return np.clip(proto[np.arange(n) % 3] + 0.05 * rng.standard_normal((n, d)), 0.01, 0.99)


@pytest.mark.parametrize("kl", ["closed", "kl_divergence"])
def test_continuous_bernoulli_vae_matches_pytorch(monkeypatch, kl):
    data = _pixels(1752)

    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_draws(m, lib, 1753)
            return programs.train_cb_vae(lib, model, lib.tensor(data), kl=kl)

    ours, theirs = _both(programs.cb_vae, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _unit_data(seed, n=40):
    rng = np.random.default_rng(seed)
    return 1 / (1 + np.exp(-(np.array([0.5, -1.0]) + np.array([0.7, 1.5])
                             * rng.standard_normal((n, 2)))))


def test_sigmoid_flow_by_transformed_distribution_with_cdf_icdf_and_register_kl_matches_pytorch():
    data = _unit_data(1754)
    probe = np.array([[0.2, 0.7], [0.5, 0.5], [0.9, 0.05]])

    def run(lib, flow):
        return _float64(lib, lambda: programs.fit_flow(lib, flow, lib.tensor(data),
                                                       lib.tensor(probe)))

    ours, theirs = _both(programs.sigmoid_flow, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_wave17_part_six_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    f32 = chainrule.float32
    x, y = _robust_data(1755)
    losses, mean, _, _ = programs.train_robust_vi(
        chainrule, programs.vi_guide(chainrule), chainrule.tensor(x, dtype=f32),
        chainrule.tensor(y, dtype=f32), steps=150)
    assert np.mean(losses[-10:]) < 0.85 * np.mean(losses[:10])
    np.testing.assert_allclose(mean[:3], [1.0, -2.0, 0.5], atol=0.3)
    losses, means, _, _ = programs.train_cb_vae(
        chainrule, programs.cb_vae(chainrule), chainrule.tensor(_pixels(1756, n=48), dtype=f32),
        epochs=10)
    assert np.mean(losses[-6:]) < np.mean(losses[:6]) and means.shape == (48, 16)
