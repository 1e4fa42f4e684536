"""domain_programs.py run unchanged on PyTorch and on chainrule from the same weights: losses,
outputs and final parameters agree (float64 to 1e-9, float32 to its rounding); where a program
draws (randperm, dropout masks, distribution samples) both libraries read one shared stream."""

from __future__ import annotations

import numpy as np
import pytest

from . import domain_programs as programs
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close

torch = pytest.importorskip("torch")



def _shared_dropout(monkeypatch, lib, seed):
    """``F.dropout`` keeps the elements where a uniform from one shared stream is >= p."""
    rng = np.random.default_rng(seed)

    def dropout(x, p=0.5, training=True, inplace=False):
        if not training or p == 0:
            return x
        keep = (rng.uniform(size=tuple(x.shape)) >= p).astype(np.float64)
        return x * lib.tensor(keep, dtype=x.dtype) / (1 - p)

    monkeypatch.setattr(lib.nn.functional, "dropout", dropout)


def test_wavenet_with_causal_dilated_convs_gated_units_and_mu_law_matches_pytorch():
    t = np.linspace(0, 4 * np.pi, 24)
    audio = np.stack([0.8 * np.sin(t), 0.5 * np.sin(2.3 * t + 1)])
    ours, theirs = _both(programs.wavenet, lambda lib, m: programs.train_wavenet(
        lib, m, lib.tensor(audio)))
    assert ours[1] == theirs[1] and len(ours[1][0]) == 5
    assert ours[0][-1] < ours[0][0]
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)


def test_moco_with_momentum_encoder_queue_buffer_and_shuffled_bn_matches_pytorch(monkeypatch):
    rng = np.random.default_rng(70)
    batches = [[rng.standard_normal((4, 3, 5, 5)) for _ in range(2)] for _ in range(3)]
    perms = [rng.permutation(4) for _ in range(3)]

    def run(lib, model):
        stream = iter(perms)
        monkeypatch.setattr(lib, "randperm", lambda n: lib.tensor(next(stream)))
        return programs.train_moco(lib, model, [[lib.tensor(v) for v in b] for b in batches])

    ours, theirs = _both(programs.moco, run)
    assert ours[2] == theirs[2] == [4, 0, 4]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_gat_with_edge_softmax_by_scatter_and_index_add_matches_pytorch(monkeypatch):
    rng = np.random.default_rng(71)
    n = 8
    features = rng.standard_normal((n, 5))
    edges = {(i, i) for i in range(n)} | {(int(a), int(b)) for a, b in rng.integers(0, n, (14, 2))}
    edge_index = np.array(sorted(edges)).T
    labels = rng.integers(0, 3, n)
    idx_train, idx_val = np.arange(5), np.arange(5, 8)

    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_dropout(m, lib, 72)
            return programs.train_gat(lib, model, *(lib.tensor(a) for a in (
                features, edge_index, labels, idx_train, idx_val)))

    ours, theirs = _both(programs.gat, run)
    assert ours[1] == theirs[1] == "GraphAttentionLayer (5 -> 4)"
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)


def test_neural_ode_with_hand_written_rk4_and_backprop_through_the_solver_matches_pytorch():
    rng = np.random.default_rng(73)
    starts = [rng.choice(np.arange(20 - 5, dtype=np.int64), 6, replace=False) for _ in range(4)]
    ours, theirs = _both(programs.ode_func, lambda lib, f: programs.train_ode(lib, f, starts))
    assert ours[3] == theirs[3] == 4 * 4 * 4 + 19 * 4
    _close(ours[:3] + ours[4:], theirs[:3] + theirs[4:], rtol=1e-9, atol=1e-11)


def test_nbeats_with_trend_seasonality_bases_and_shared_blocks_matches_pytorch():
    rng = np.random.default_rng(74)
    series = np.sin(np.arange(40) / 3.0) + 0.1 * rng.standard_normal(40)
    windows = np.stack([series[i:i + 12] for i in range(8)]).astype(np.float32)
    x, y = windows[:, :8], windows[:, 8:]
    ours, theirs = _both(programs.nbeats, lambda lib, net: programs.train_nbeats(lib, net, x, y),
                         double=False)
    assert ours[3] == theirs[3] and len(ours[3]) == 46
    _close(ours[:3], theirs[:3], rtol=1e-5, atol=1e-6)


def test_bayes_by_backprop_with_scale_mixture_prior_and_kl_divergence_matches_pytorch(monkeypatch):
    rng = np.random.default_rng(75)
    batches = [(rng.standard_normal((5, 4)), rng.integers(0, 3, 5)) for _ in range(2)]
    test_x = rng.standard_normal((4, 4))
    eps = [rng.standard_normal(s) for _ in range(4 * 2 + 3) for s in [(6, 4), (6,), (3, 6), (3,)]]

    def run(lib, net):
        stream = iter(eps)
        monkeypatch.setattr(lib.distributions.Normal, "sample",
                            lambda self, sample_shape=(): lib.tensor(next(stream)))
        with lib.no_grad():  # the notebook's rho starts in (-5, -4): a visible sigma instead
            for layer in (net.l1, net.l2):
                layer.weight_rho.sub_(2.0)
                layer.bias_rho.sub_(2.0)
        return programs.train_bayes_by_backprop(
            lib, net, [(lib.tensor(x), lib.tensor(y)) for x, y in batches], lib.tensor(test_x))

    ours, theirs = _both(programs.bayes_by_backprop, run)
    assert ours[3] == theirs[3]
    _close(ours[:3], theirs[:3], rtol=1e-9, atol=1e-11)


def test_reptile_with_state_dict_interpolation_and_deepcopy_meta_steps_matches_pytorch():
    rng = np.random.default_rng(76)
    tasks = [(float(rng.uniform(0.1, 5.0)), float(rng.uniform(0, 2 * np.pi))) for _ in range(4)]
    # float32 data: chainrule's torch.Tensor(ndarray) keeps a float64 array's dtype (PyTorch's
    # makes it float32), a difference docs/pytorch.md lists
    x_all = np.linspace(-5, 5, 30, dtype=np.float32)[:, None]
    perms = [rng.permutation(30) for _ in range(4)]
    ours, theirs = _both(programs.reptile_net, lambda lib, m: programs.train_reptile(
        lib, m, tasks, x_all, perms), double=False)
    assert len(ours[0]) == 12
    np.testing.assert_array_equal(ours[2], ours[1][0])  # restored after the test fine-tune
    _close(ours, theirs, rtol=1e-5, atol=1e-6)


def test_gpt2_with_kv_cache_and_top_k_top_p_sampling_matches_pytorch(monkeypatch):
    rng = np.random.default_rng(77)
    tokens = rng.integers(0, 11, (3, 9))
    prompt = rng.integers(0, 11, (2, 3))
    uniforms = rng.uniform(size=(20, 2))

    def run(lib, model):
        stream = iter(uniforms)

        def multinomial(probs, num_samples):  # inverse CDF of a shared uniform per row
            p = probs.numpy()
            u = next(stream)
            rows = [int(np.searchsorted(np.cumsum(r / r.sum()), v)) for r, v in zip(p, u)]
            return lib.tensor(rows).unsqueeze(1)

        monkeypatch.setattr(lib, "multinomial", multinomial)
        return programs.train_gpt2_cached(lib, model, lib.tensor(tokens), lib.tensor(prompt))

    ours, theirs = _both(programs.gpt2_cached, run)
    for (gen, logits, gap, shape), (tgen, tlogits, _, tshape) in zip(ours[1], theirs[1]):
        assert gen == tgen and tuple(shape) == tuple(tshape) == (2, 2, 7, 4)
        assert gap < 1e-12
        for a, b in zip(logits, tlogits):
            assert (np.isinf(a) == np.isinf(b)).all() and np.isinf(a).any()
            _close(np.where(np.isinf(a), 0, a), np.where(np.isinf(b), 0, b), 1e-9, 1e-11)
    written, fused = ours[1][0][1][0], ours[1][1][1][0]  # the first step's filtered logits
    np.testing.assert_allclose(written, fused, rtol=1e-12, atol=1e-12)
    _close(ours[0], theirs[0], rtol=1e-9, atol=1e-11)


def test_jem_with_sgld_on_inputs_and_a_replay_buffer_matches_pytorch():
    rng = np.random.default_rng(78)
    batches = [(rng.standard_normal((6, 4)), rng.integers(0, 3, 6)) for _ in range(3)]
    draws = [(rng.integers(0, 10, 5), rng.uniform(-1, 1, (5, 4)), rng.uniform(size=5),
              [rng.standard_normal((5, 4)) for _ in range(3)]) for _ in range(3)]
    draws[0][2][1] = 0.01  # one row re-initialised
    buffer = rng.uniform(-1, 1, (10, 4))

    def run(lib, f):
        t = lib.tensor
        return programs.train_jem(
            lib, f, [(t(x), t(y)) for x, y in batches],
            [(t(i), t(r), t(c), [t(n) for n in ns]) for i, r, c, ns in draws], t(buffer))

    ours, theirs = _both(programs.jem, run)
    assert not np.allclose(ours[1], buffer)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_deepar_with_gaussian_and_negative_binomial_likelihoods_and_sampling_matches_pytorch(
        monkeypatch):
    rng = np.random.default_rng(79)
    window, batch = 7, 4
    train_batch = rng.standard_normal((window, batch, 3))
    # zero inputs: the port's ``train_batch[t, zero_index, 0] = mu[zero_index]`` makes the batch
    # require grad, and its next ``train_batch[t].unsqueeze_(0)`` is then a recorded shape change
    train_batch[2, 1, 0] = train_batch[4, 0, 0] = train_batch[4, 3, 0] = 0.0
    labels = rng.standard_normal((window, batch))
    labels[3, 2] = 0.0
    counts = rng.integers(0, 6, (window, batch)).astype(np.float64)
    idx = rng.integers(0, 3, (1, batch))
    v_batch = np.stack([rng.uniform(0.5, 2, batch), rng.uniform(-1, 1, batch)], 1)
    draws = [rng.standard_normal(batch) for _ in range(3 * 3)]

    def run(lib, model):
        stream = iter(draws)
        monkeypatch.setattr(lib.distributions.Normal, "sample",
                            lambda self, sample_shape=(): lib.tensor(next(stream)))
        t = lib.tensor
        return programs.train_deepar(lib, model, t(train_batch), t(idx), t(labels), t(counts),
                                     t(v_batch))

    chainrule = pytest.importorskip("chainrule")
    chainrule.manual_seed(0)
    bias = programs.deepar(chainrule).lstm.bias_ih_l1.detach().numpy()
    assert (bias[5:10] == 1).all() and (bias[:5] != 1).all()
    ours, theirs = _both(programs.deepar, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_glow_with_actnorm_init_lu_and_slogdet_invertible_convs_matches_pytorch():
    rng = np.random.default_rng(80)
    images = [rng.uniform(0, 1, (3, 2, 4, 4)) for _ in range(4)]
    noises = [rng.uniform(0, 1, (3, 2, 4, 4)) for _ in range(4)]
    ours, theirs = _both(programs.glow, lambda lib, m: programs.train_glow(
        lib, m, [lib.tensor(x) for x in images], [lib.tensor(u) for u in noises]))
    assert ours[3] == theirs[3] == [1] * 4
    assert ours[2] < 1e-10 and theirs[2] < 1e-10  # each flow inverts
    _close(ours[:2], theirs[:2], rtol=1e-9, atol=1e-11)


def test_awd_lstm_with_weight_drop_locked_dropout_and_nt_asgd_matches_pytorch(monkeypatch):
    rng = np.random.default_rng(81)
    data = rng.integers(0, 12, 30)

    def run(lib, model):
        masks = np.random.default_rng(82)

        def bernoulli_(self, p=0.5, generator=None):
            keep = (masks.uniform(size=tuple(self.shape)) < p).astype(np.float64)
            with lib.no_grad():
                return self.copy_(lib.tensor(keep, dtype=self.dtype))

        with monkeypatch.context() as m:
            _shared_dropout(m, lib, 83)
            m.setattr(lib.Tensor, "bernoulli_", bernoulli_)
            return programs.train_awd_lstm(lib, model, lib.tensor(data), epochs=6)

    ours, theirs = _both(programs.awd_lstm, run)
    assert "rnns.0.module.weight_hh_l0_raw" in ours[2] and ours[2] == theirs[2]
    # switched to ASGD after epoch 3: epochs 4 and 5 evaluate with the averages swapped in by
    # prm.data = optimizer.state[prm]["ax"].clone() (the state holds Tensors, as PyTorch's)
    assert ours[1] == theirs[1] == 3 and len(ours[0]) == len(theirs[0])
    _close([ours[0], ours[3]], [theirs[0], theirs[3]], rtol=1e-9, atol=1e-11)


def test_tab_transformer_with_offset_buffer_spaced_einsum_and_geglu_matches_pytorch():
    rng = np.random.default_rng(84)
    x_categ = np.stack([rng.integers(0, n, 10) for n in (3, 4, 2)], 1)
    x_cont = rng.standard_normal((10, 3))
    y = rng.integers(0, 2, 10).astype(np.float64)
    ours, theirs = _both(programs.tab_transformer, lambda lib, m: programs.train_tab_transformer(
        lib, m, lib.tensor(x_categ), lib.tensor(x_cont), lib.tensor(y)))
    assert ours[3] == theirs[3] and min(min(r) for r in ours[3]) >= 2  # the offsets were added
    assert ours[4] == theirs[4]
    _close(ours[:3], theirs[:3], rtol=1e-9, atol=1e-11)


def test_float32_runs_agree_to_float32_rounding(monkeypatch):
    """Programs run in float64 above, in float32 as they are usually run: losses to 1e-5."""
    rng = np.random.default_rng(85)
    t = np.linspace(0, 4 * np.pi, 24)
    audio = np.stack([0.8 * np.sin(t), 0.5 * np.sin(2.3 * t + 1)]).astype(np.float32)
    views = [[rng.standard_normal((4, 3, 5, 5)).astype(np.float32) for _ in range(2)]
             for _ in range(2)]
    images = [rng.uniform(0, 1, (3, 2, 4, 4)).astype(np.float32) for _ in range(3)]
    noises = [rng.uniform(0, 1, (3, 2, 4, 4)).astype(np.float32) for _ in range(3)]
    x_categ = np.stack([rng.integers(0, n, 10) for n in (3, 4, 2)], 1)
    x_cont = rng.standard_normal((10, 3)).astype(np.float32)
    y = rng.integers(0, 2, 10).astype(np.float32)

    def moco_run(lib, m):
        monkeypatch.setattr(lib, "randperm", lambda n: lib.arange(n))
        return programs.train_moco(lib, m, [[lib.tensor(v) for v in b] for b in views])[0]

    runs = [
        (programs.wavenet, lambda lib, m: programs.train_wavenet(lib, m, lib.tensor(audio))[0]),
        (programs.moco, moco_run),
        (programs.glow, lambda lib, m: [h[:3] for h in programs.train_glow(
            lib, m, [lib.tensor(x) for x in images], [lib.tensor(u) for u in noises])[0]]),
        (programs.tab_transformer, lambda lib, m: programs.train_tab_transformer(
            lib, m, lib.tensor(x_categ), lib.tensor(x_cont), lib.tensor(y))[0]),
    ]
    for build, run in runs:
        ours, theirs = _both(build, run, double=False)
        _close(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.filterwarnings("ignore:volatile was removed")
@pytest.mark.filterwarnings("ignore:Implicit dimension choice for softmax")
def test_pixelcnn_with_masked_convs_and_raster_sampling_matches_pytorch(monkeypatch):
    rng = np.random.default_rng(86)
    images = [(rng.integers(0, 8, (4, 1, 5, 5)) / 7.0).astype(np.float32) for _ in range(3)]
    uniforms = rng.uniform(size=(25, 2))

    def run(lib, net):
        stream = iter(uniforms)

        def multinomial(probs, num_samples):
            p = probs.numpy().astype(np.float64)
            u = next(stream)
            return lib.tensor([[int(np.searchsorted(np.cumsum(r / r.sum()), v))]
                               for r, v in zip(p, u)])

        monkeypatch.setattr(lib, "multinomial", multinomial)
        return programs.train_pixelcnn(lib, net, [lib.tensor(x) for x in images])

    ours, theirs = _both(programs.pixelcnn, run, double=False)
    first = ours[1][0]  # the 'A' mask: the centre and everything after it in raster order cut
    assert not first[:, :, 2, 2:].any() and not first[:, :, 3:].any() and first[:, :, 2, :2].all()
    np.testing.assert_array_equal(ours[2], theirs[2])
    _close(ours[:2], theirs[:2], rtol=1e-5, atol=1e-6)
