"""port16d_programs.py (MemN2N, a Lagrangian neural network, an LSTM sequence VAE over packed
sequences, maxout with Hopfield pooling) run unchanged on PyTorch and on chainrule from the same
weights and draws: losses, accuracies and final parameters agree to float64 rounding; each also
learns from chainrule's own draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port16d_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_port16_programs import _float64, _shared_draws  # noqa: E402
from .test_real_programs import _both, _close  # noqa: E402

_SETTINGS = {"num_vocab": 14, "embedding_dim": 6, "sentence_size": 4, "max_hops": 3}


def _babi(lib, seed=1640, n=12, memory=5, batch_size=4):
    """Stories of ``memory`` sentences, a query, and the answer: the third word of the sentence
    that begins with the query's first word."""
    rng = np.random.default_rng(seed)
    story = rng.integers(1, 14, (n, memory, 4))
    story[:, :, 0] = np.stack([rng.permutation(np.arange(1, 6))[:memory] for _ in range(n)])
    story[:, -1, -1] = 0  # a padded word
    pick = rng.integers(0, memory, n)
    query = np.zeros((n, 4), dtype=np.int64)
    query[:, 0] = story[np.arange(n), pick, 0]
    answer = story[np.arange(n), pick, 2]
    ds = lib.utils.data.TensorDataset(lib.tensor(story), lib.tensor(query), lib.tensor(answer))
    return lib.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=False)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_memn2n_with_attr_proxy_implicit_softmax_and_gradient_noise_matches_pytorch(
        monkeypatch):
    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_draws(m, lib, 1641)
            return programs.train_memn2n(lib, model, _babi(lib))

    ours, theirs = _both(lambda lib: programs.memn2n(lib, _SETTINGS), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_memn2n_softmax_without_dim_warns_like_pytorch():
    for lib in (chainrule, torch):
        model = programs.memn2n(lib, _SETTINGS)
        story = lib.tensor(np.ones((2, 3, 4), dtype=np.int64))
        with pytest.warns(UserWarning, match="[Ii]mplicit dim"):
            logits, prob = model(story, lib.tensor(np.ones((2, 4), dtype=np.int64)))
        np.testing.assert_allclose(prob.detach().numpy().sum(1), 1, rtol=1e-6)


def _pendulum(seed=1642, n=8):
    """(q, qdot) -> qddot of a pendulum, L = qdot^2 / 2 + cos q."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, (n, 2))
    return x, -np.sin(x[:, :1])


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("use_vmap", [True, False])
def test_lagrangian_nn_through_hessians_and_pinv_matches_pytorch(use_vmap):
    x, qdd = _pendulum()

    def run(lib, model):
        return programs.train_lnn(lib, model, lib.tensor(x), lib.tensor(qdd), use_vmap=use_vmap)

    ours, theirs = _both(lambda lib: programs.lnn(lib), run)
    _close(ours, theirs, rtol=1e-8, atol=1e-10)


def test_lagrangian_nn_vmap_and_loop_agree():
    x, _ = _pendulum(1643)
    chainrule.manual_seed(1)
    model = programs.lnn(chainrule).double()
    xt = chainrule.tensor(x)
    _close(model(xt).detach().numpy(), model.forward_loop(xt).detach().numpy(),
           rtol=1e-10, atol=1e-12)


def _sentences(seed=1644, n=6, steps=7):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, steps + 1, n)
    lengths[0] = steps
    seqs = np.zeros((n, steps), dtype=np.int64)
    for i, k in enumerate(lengths):
        seqs[i, :k] = rng.integers(1, 9, k)
    return seqs, lengths


def test_lstm_vae_over_unsorted_packed_sequences_matches_pytorch(monkeypatch):
    seqs, lengths = _sentences()

    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_draws(m, lib, 1645)
            return _float64(lib, lambda: programs.train_lstm_vae(
                lib, model, lib.tensor(seqs), lib.tensor(lengths)))

    ours, theirs = _both(lambda lib: programs.lstm_vae(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_maxout_with_hopfield_pooling_matches_pytorch():
    rng = np.random.default_rng(1646)
    x = rng.standard_normal((10, 5, 6))
    y = rng.integers(0, 3, 10)

    def run(lib, model):
        return programs.train_maxout_hopfield(lib, model, lib.tensor(x), lib.tensor(y))

    ours, theirs = _both(lambda lib: programs.maxout_hopfield(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_wave16_part_four_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    losses, accs, pad, _ = programs.train_memn2n(
        chainrule, programs.memn2n(chainrule, _SETTINGS),
        _babi(chainrule, 1647, n=24, batch_size=6), max_epochs=8, decay_interval=4)
    assert np.mean(losses[-4:]) < np.mean(losses[:4]) and accs[-1] > accs[0]
    x, qdd = _pendulum(1648, n=6)
    losses, _ = programs.train_lnn(chainrule, programs.lnn(chainrule).double(),
                                   chainrule.tensor(x), chainrule.tensor(qdd), steps=12)
    assert losses[-1] < 0.5 * losses[0]
    seqs, lengths = _sentences(1649, n=16)
    history, _ = programs.train_lstm_vae(chainrule, programs.lstm_vae(chainrule),
                                         chainrule.tensor(seqs), chainrule.tensor(lengths),
                                         steps=25)
    assert history[-1][1] < history[0][1]
