"""port16h_programs.py (NICE with a subclassed or a transformed logistic prior, ChebNet over a
sparse Laplacian, Linformer) run unchanged on PyTorch and on chainrule from the same weights:
losses, latents, reconstructions, accuracies and final parameters agree to float64 rounding;
each also learns from chainrule's own draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port16h_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def _points(seed=1700, n=12, d=6):
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, 2))
    return np.concatenate([base, np.sin(base), base ** 2 * 0.3], 1)[:, :d]


@pytest.mark.parametrize("prior", ["subclass", "transformed"])
def test_nice_additive_coupling_with_a_logistic_prior_matches_pytorch(prior):
    x = _points()

    def run(lib, model):
        return programs.train_nice(lib, model, lib.tensor(x))

    ours, theirs = _both(lambda lib: programs.nice(lib, prior=prior), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours[2], x, rtol=1e-10, atol=1e-12)  # the inverse inverts


def test_nice_priors_agree():
    z = chainrule.tensor(np.linspace(-4, 4, 9))
    ours = programs.nice(chainrule, prior="subclass").prior.log_prob(z).numpy()
    theirs = programs.nice(chainrule, prior="transformed").prior.log_prob(z).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def _graph(seed=1701, n=12):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    p = np.where(y[:, None] == y[None, :], 0.7, 0.08)
    A = np.triu((rng.uniform(size=(n, n)) < p).astype(np.float64), 1)
    A = A + A.T
    A[np.arange(n - 1), np.arange(1, n)] = A[np.arange(1, n), np.arange(n - 1)] = 1.0
    x = rng.standard_normal((n, 4)) + y[:, None] * 0.5
    train = np.zeros(n, dtype=bool)
    train[[0, 1, n - 1, n - 2]] = True
    return A, x, y, train


@pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled")
def test_chebnet_over_a_sparse_scaled_laplacian_matches_pytorch():
    A, x, y, train = _graph()

    def run(lib, model):
        return programs.train_chebnet(lib, model, lib.tensor(x), programs.scaled_laplacian(
            lib, A), lib.tensor(y), lib.tensor(train), lib.tensor(~train))

    ours, theirs = _both(lambda lib: programs.chebnet(lib, 4, 8, 2, dropout=0.0), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _tokens(lib, seed=1702, n=3, lengths=(6, 4, 6)):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = rng.integers(0, 10, (4, lengths[i % len(lengths)]))
        out.append((lib.tensor(t), lib.tensor(t[:, 0] % 3)))
    return out


@pytest.mark.parametrize("one_kv_head, share_kv", [(False, False), (True, False), (False, True)])
def test_linformer_with_sliced_projections_matches_pytorch(one_kv_head, share_kv):
    def run(lib, model):
        return programs.train_linformer(lib, model, _tokens(lib))

    ours, theirs = _both(lambda lib: programs.linformer(lib, one_kv_head=one_kv_head,
                                                        share_kv=share_kv), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_wave16_part_eight_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    x = chainrule.tensor(_points(1703, n=32), dtype=chainrule.float32)
    losses, _, recon = programs.train_nice(chainrule, programs.nice(chainrule), x, epochs=15,
                                           batch_size=8)
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
    np.testing.assert_allclose(recon, x.numpy(), rtol=1e-4, atol=1e-5)
    A, xg, y, train = _graph(1704, n=16)
    history, _ = programs.train_chebnet(
        chainrule, programs.chebnet(chainrule, 4, 16, 2).double(), chainrule.tensor(xg),
        programs.scaled_laplacian(chainrule, A), chainrule.tensor(y), chainrule.tensor(train),
        chainrule.tensor(~train), epochs=40)
    assert history[-1][0] < history[0][0] and history[-1][1] > 0.5
    losses, _ = programs.train_linformer(chainrule, programs.linformer(chainrule),
                                         _tokens(chainrule, 1705, n=4), steps=30)
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
