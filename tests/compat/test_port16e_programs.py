"""port16e_programs.py (evidential deep learning, an importance-weighted autoencoder, a planar
flow, 1Konny's beta-VAE) run unchanged on PyTorch and on chainrule from the same weights and
draws: losses, evidence, final parameters agree to float64 rounding; each also learns from
chainrule's own draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port16e_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_port16_programs import _float64  # noqa: E402
from .test_real_programs import _both, _close  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore:`nn.init.kaiming_normal` is now deprecated"),
              pytest.mark.filterwarnings("ignore:size_average and reduce args will be deprecated")]


def _shared_normal_(monkeypatch, lib, seed):
    """``tensor.normal_(mean, std)`` (in place) from one shared NumPy stream."""
    rng = np.random.default_rng(seed)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        with lib.no_grad():
            return self.copy_(lib.tensor(rng.normal(mean, std, tuple(self.shape))))

    monkeypatch.setattr(lib.Tensor, "normal_", normal_)


def _blobs(lib, seed, n=18, d=5, classes=3, batch_size=6):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.standard_normal((n, d))
    x[np.arange(n), y] += 2.5
    ds = lib.utils.data.TensorDataset(lib.tensor(x), lib.tensor(y))
    dl = lib.utils.data.DataLoader
    return {"train": dl(ds, batch_size=batch_size, shuffle=False),
            "val": dl(ds, batch_size=2 * batch_size, shuffle=False)}


def _mlp(lib, d=5, classes=3):
    nn = lib.nn
    return nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Dropout(0.0), nn.Linear(16, classes))


@pytest.mark.parametrize("loss", ["mse", "log", "digamma"])
def test_evidential_classifier_with_dirichlet_kl_and_best_weights_matches_pytorch(loss):
    def run(lib, model):
        return programs.train_edl(lib, model, _blobs(lib, 1660), loss=loss)

    ours, theirs = _both(_mlp, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    assert ours[2] > 0.5


def _bits(seed=1661, n=12, d=12):
    rng = np.random.default_rng(seed)
    proto = rng.uniform(size=(3, d)) < 0.5
    return (proto[np.arange(n) % 3] ^ (rng.uniform(size=(n, d)) < 0.1)).astype(np.float64)


def test_importance_weighted_autoencoder_with_detached_weights_matches_pytorch(monkeypatch):
    x = _bits()

    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_normal_(m, lib, 1662)
            return programs.train_iwae(lib, model, lib.tensor(x))

    ours, theirs = _both(lambda lib: programs.iwae(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`:UserWarning")
def test_planar_flow_with_shared_log_det_parameters_matches_pytorch(monkeypatch):
    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_normal_(m, lib, 1663)
            return _float64(lib, lambda: programs.train_planar_flow(lib, model))

    ours, theirs = _both(lambda lib: programs.planar_flow(lib), run)
    assert len(ours[1]) == 12  # the log-det modules' parameters are the flow's, counted once
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _images(seed=1664, n=8):
    rng = np.random.default_rng(seed)
    img = np.zeros((n, 1, 8, 8))
    for i in range(n):
        r, c = rng.integers(0, 5, 2)
        img[i, 0, r:r + 3, c:c + 3] = 1.0
    return img


@pytest.mark.parametrize("objective, distribution",
                         [("H", "bernoulli"), ("B", "bernoulli"), ("B", "gaussian")])
def test_beta_vae_h_and_b_objectives_with_capacity_clamp_match_pytorch(
        monkeypatch, objective, distribution):
    x = _images()

    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_normal_(m, lib, 1665)
            return programs.train_beta_vae(lib, model, lib.tensor(x), objective=objective,
                                           distribution=distribution)

    ours, theirs = _both(lambda lib: programs.beta_vae(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`:UserWarning")
def test_wave16_part_five_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    history, _, best, _ = programs.train_edl(chainrule, _mlp(chainrule).double(),
                                          _blobs(chainrule, 1666, n=30), num_epochs=4)
    assert best >= 0.8 and history[-1][0] < history[0][0]
    x = chainrule.tensor(_bits(1667, n=24))
    history, test, _ = programs.train_iwae(chainrule, programs.iwae(chainrule).double(), x,
                                           epochs=12)
    assert np.mean(history[-4:]) < np.mean(history[:4]) and np.isfinite(test)
    losses, _ = programs.train_planar_flow(chainrule, programs.planar_flow(chainrule),
                                           iterations=40, batch_size=64)
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    history, _, _ = programs.train_beta_vae(chainrule, programs.beta_vae(chainrule),
                                            chainrule.tensor(_images(1668, n=16),
                                                             dtype=chainrule.float32),
                                            max_iter=40)
    assert np.mean([h[0] for h in history[-4:]]) < np.mean([h[0] for h in history[:4]])
