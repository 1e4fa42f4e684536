"""port16_programs.py (and port16b_...) run unchanged on PyTorch and on chainrule from the same
weights and draws: losses, outputs and final parameters agree to float64 rounding; each program
also learns from chainrule's own draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port16_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def _shared_draws(monkeypatch, lib, seed):
    """``torch.rand``, ``torch.randn`` and ``torch.randn_like`` from one shared NumPy stream."""
    rng = np.random.default_rng(seed)

    def shape_of(size):
        return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) \
            else tuple(size)

    def rand(*size, **kwargs):
        return lib.tensor(rng.uniform(size=shape_of(size)), dtype=lib.get_default_dtype())

    def randn(*size, **kwargs):
        return lib.tensor(rng.standard_normal(shape_of(size)), dtype=lib.get_default_dtype())

    def randn_like(t, **kwargs):
        return lib.tensor(rng.standard_normal(tuple(t.shape)), dtype=t.dtype)

    monkeypatch.setattr(lib, "rand", rand)
    monkeypatch.setattr(lib, "randn", randn)
    monkeypatch.setattr(lib, "randn_like", randn_like)


def _float64(lib, fn):
    lib.set_default_dtype(lib.float64)
    try:
        return fn()
    finally:
        lib.set_default_dtype(lib.float32)


def _pixels(seed=1600, n=10, d=12):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 0.95, (n, d))


@pytest.mark.parametrize("penalty", ["closed", "grad", "jacobian"])
def test_contractive_autoencoder_closed_form_grad_and_jacobian_penalties_match_pytorch(penalty):
    x = _pixels()

    def run(lib, model):
        return programs.train_contractive_ae(lib, model, lib.tensor(x), penalty=penalty)

    ours, theirs = _both(lambda lib: programs.contractive_ae(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    assert ours[0][-1] < ours[0][0]


def test_contractive_penalties_agree_on_a_sigmoid_encoder():
    """The closed form ``sum((h(1-h))^2 |W_j|^2)`` is the Jacobian's Frobenius norm: one batch
    of the ``jacobian`` run and of the ``closed`` run report the same loss (their steps differ:
    the closed form takes ``W`` from ``state_dict()``, outside the graph)."""
    x = _pixels(1601)
    out = []
    for penalty in ("closed", "jacobian"):
        chainrule.manual_seed(3)
        model = programs.contractive_ae(chainrule).double()
        out.append(programs.train_contractive_ae(chainrule, model, chainrule.tensor(x),
                                                 penalty=penalty, lam=0.5, epochs=1,
                                                 batch_size=len(x))[0])
    _close(out[0], out[1], rtol=1e-12, atol=0)


@pytest.mark.parametrize("sparsity", ["l1", "kl"])
def test_sparse_autoencoder_with_l1_activity_or_kl_penalty_over_children_matches_pytorch(sparsity):
    x = _pixels(1602, n=12, d=16)

    def run(lib, model):
        return programs.train_sparse_ae(lib, model, lib.tensor(x), add_sparsity=sparsity)

    ours, theirs = _both(lambda lib: programs.sparse_ae(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


_CORPUS = ("the cat sat on the mat the dog sat on the log the cat saw the dog "
           "a dog and a cat sat").split()


def test_glove_weighted_least_squares_with_adagrad_matches_pytorch():
    vocab, triples = programs.cooccurrence(_CORPUS)

    def run(lib, model):
        return programs.train_glove(lib, model, triples)

    ours, theirs = _both(lambda lib: programs.glove(lib, len(vocab)), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _cnp_tasks(lib, seed=1603, n=3):
    rng = np.random.default_rng(seed)
    tasks = []
    for _ in range(n):
        a, p = rng.uniform(0.5, 2, (2, 1, 1))
        x = rng.uniform(-2, 2, (2, 10, 1))
        y = a * np.sin(x + p)
        tasks.append(tuple(lib.tensor(v) for v in (x[:, :5], y[:, :5], x, y)))
    return tasks


def test_conditional_neural_process_with_normal_log_prob_matches_pytorch():
    def run(lib, model):
        return programs.train_cnp(lib, model, _cnp_tasks(lib))

    ours, theirs = _both(lambda lib: programs.cnp(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    assert (ours[2] >= 0.1).all()


def _moons(lib, seed):
    rng = np.random.default_rng(seed)

    def sample(n):
        angle = rng.uniform(0, np.pi, n)
        return lib.tensor(np.stack([np.cos(angle), np.sin(angle)], 1) * 2,
                          dtype=lib.get_default_dtype())

    return sample


@pytest.mark.parametrize("sigma", [0.0, 0.1])
def test_conditional_flow_matching_with_euler_sampling_matches_pytorch(monkeypatch, sigma):
    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_draws(m, lib, 1604)
            return _float64(lib, lambda: programs.train_flow_matching(
                lib, model, _moons(lib, 1605), sigma=sigma))

    ours, theirs = _both(lambda lib: programs.velocity_mlp(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_sliced_score_matching_with_create_graph_and_langevin_matches_pytorch(monkeypatch):
    data = np.random.default_rng(1606).standard_normal((12, 2)) * [1.0, 0.5] + [1.0, -1.0]

    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_draws(m, lib, 1607)
            return _float64(lib, lambda: programs.train_ssm(lib, model, lib.tensor(data)))

    ours, theirs = _both(lambda lib: programs.score_net(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_wave16_programs_learn_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    x = chainrule.tensor(_pixels(1608, n=16), dtype=chainrule.float32)
    losses, _ = programs.train_contractive_ae(chainrule, programs.contractive_ae(chainrule), x,
                                              penalty="grad", epochs=10)
    assert losses[-1] < losses[0]
    vocab, triples = programs.cooccurrence(_CORPUS)
    losses, emb = programs.train_glove(chainrule, programs.glove(chainrule, len(vocab)), triples,
                                       n_epochs=20)
    assert np.mean(losses[-3:]) < 0.5 * np.mean(losses[:3]) and emb.shape == (len(vocab), 4)
    model = programs.velocity_mlp(chainrule)
    losses, samples = programs.train_flow_matching(chainrule, model, _moons(chainrule, 1609),
                                                   steps=60, batch_size=64)
    assert np.mean(losses[-10:]) < np.mean(losses[:10]) and samples.shape == (8, 2)
    data = chainrule.tensor(np.random.default_rng(1610).standard_normal((64, 2)),
                            dtype=chainrule.float32)
    losses, _ = programs.train_ssm(chainrule, programs.score_net(chainrule), data, steps=40)
    assert losses[-1][0] < losses[0][0]
