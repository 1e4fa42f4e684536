"""port9_programs.py and port9b_programs.py run unchanged on PyTorch and on chainrule from the
same weights: losses, metrics and final parameters agree to float64 rounding (float32 runs to
float32 rounding)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from . import port9_programs as programs  # noqa: E402
from . import port9b_programs as programs_b  # noqa: E402
from . import port9c_programs as programs_c  # noqa: E402
from . import port9d_programs as programs_d  # noqa: E402
from . import port9e_programs as programs_e  # noqa: E402
from . import port9f_programs as programs_f  # noqa: E402
from . import port9g_programs as programs_g  # noqa: E402
from . import port9h_programs as programs_h  # noqa: E402
from . import port9i_programs as programs_i  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def _shared_randn(monkeypatch, lib, seed):
    """``torch.randn(shape)`` draws from one shared NumPy stream, in the default dtype."""
    rng = np.random.default_rng(seed)

    def randn(*size, **kwargs):
        shape = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        return lib.tensor(rng.standard_normal(tuple(shape)), dtype=lib.get_default_dtype())

    monkeypatch.setattr(lib, "randn", randn)


@pytest.mark.parametrize("causal", [False, True])
def test_performer_with_favor_features_qr_projections_and_redraws_matches_pytorch(
        monkeypatch, causal):
    rng = np.random.default_rng(120)
    tokens = rng.integers(0, 7, (2, 8))

    def run(lib, model):
        # the redrawn features come from QR of torch.randn: float64 by default here, as float32
        # QR factors differ between LAPACK builds in the last bits
        with monkeypatch.context() as m:
            _shared_randn(m, lib, 121)
            lib.set_default_dtype(lib.float64)
            try:
                return programs.train_performer(lib, model, lib.tensor(tokens))
            finally:
                lib.set_default_dtype(lib.float32)

    ours, theirs = _both(lambda lib: programs.performer(lib, causal=causal), run)
    assert ours[0][-1] < ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_deep_sets_with_padded_masked_pooling_and_equivariant_layer_matches_pytorch():
    rng = np.random.default_rng(122)
    sizes = [3, 5, 2, 4]
    sets = [rng.standard_normal((n, 2)) for n in sizes]
    targets = np.array([s[:, 0].sum() + s[:, 1].max() for s in sets])
    perm = rng.permutation(5)
    ours, theirs = _both(programs.deep_sets, lambda lib, m: programs.train_deep_sets(
        lib, m, [lib.tensor(s) for s in sets], lib.tensor(targets), lib.tensor(perm)))
    assert ours[1] < 1e-12 and theirs[1] < 1e-12
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)


def test_prototypical_network_episodes_with_gathered_log_softmax_matches_pytorch():
    rng = np.random.default_rng(123)
    n_way, n_support, n_query = 3, 2, 2
    centers = rng.standard_normal((n_way, 1, 1, 8, 8))
    episodes = [centers + 0.5 * rng.standard_normal((n_way, n_support + n_query, 1, 8, 8))
                for _ in range(4)]
    ours, theirs = _both(programs.protonet, lambda lib, m: programs.train_protonet(
        lib, m, [lib.tensor(e) for e in episodes], n_way, n_support, n_query))
    assert [row[2] for row in ours[0]] == [1e-2, 5e-3, 5e-3, 2.5e-3]
    np.testing.assert_allclose(ours[1], ours[2], rtol=1e-9, atol=1e-11)
    # a conv bias before BatchNorm has a true gradient of zero, so Adam steps on rounding noise
    # there (and the running means carry it); the rest is held to float64 rounding
    noisy = [k for k in ours[3] if k.endswith(("0.bias", "running_mean"))]
    _close({k: ours[3][k] for k in noisy}, {k: theirs[3][k] for k in noisy}, rtol=0, atol=1e-6)
    for k in noisy:
        del ours[3][k], theirs[3][k]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_siren_image_fit_and_poisson_fit_through_laplacians_match_pytorch():
    rng = np.random.default_rng(124)
    side = 5
    image = np.cumsum(rng.standard_normal((side, side)), axis=1) / 3.0
    state = {}

    def run(lib, model):
        other = programs.siren(lib).double()
        if not state:
            state.update(programs._state(other))
        for k, v in other.state_dict().items():
            v.copy_(lib.tensor(state[k]))
        return programs.train_siren(lib, model, other, lib.tensor(image), side)

    ours, theirs = _both(programs.siren, run)
    assert all(row[2] > 0 for row in ours[0])
    _close(ours, theirs, rtol=1e-8, atol=1e-10)


def test_arcface_with_additive_angular_margin_and_two_param_groups_matches_pytorch():
    rng = np.random.default_rng(125)
    labels = np.repeat(np.arange(3), 4)
    x = rng.standard_normal((3, 6))[labels] + 0.4 * rng.standard_normal((12, 6))
    pairs = rng.integers(0, 12, (5, 2))
    ours, theirs = _both(programs.arcface, lambda lib, m: programs.train_arcface(
        lib, m, lib.tensor(x), lib.tensor(labels), lib.tensor(pairs)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _shared_rand(monkeypatch, lib, seed):
    """``torch.rand(shape)`` draws from one shared NumPy stream, in the default dtype."""
    rng = np.random.default_rng(seed)

    def rand(*size, **kwargs):
        shape = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        return lib.tensor(rng.uniform(size=tuple(shape)), dtype=lib.get_default_dtype())

    monkeypatch.setattr(lib, "rand", rand)


def test_gumbel_softmax_vae_with_straight_through_samples_and_annealing_matches_pytorch(
        monkeypatch):
    rng = np.random.default_rng(126)
    data = (rng.uniform(size=(6, 12)) < 0.4).astype(np.float64)

    def run(lib, model):
        # float64 noise: -log(-log(U)) in float32 differs in its last bits between NumPy's and
        # PyTorch's float32 log, which the decoder's gradient carries at 1e-7
        with monkeypatch.context() as m:
            _shared_rand(m, lib, 127)
            lib.set_default_dtype(lib.float64)
            try:
                return programs_b.train_gumbel_vae(lib, model, lib.tensor(data))
            finally:
                lib.set_default_dtype(lib.float32)

    ours, theirs = _both(programs_b.gumbel_vae, run)
    assert [row[2] for row in ours[0]] == [row[2] for row in theirs[0]]
    for out in (ours, theirs):  # F.gumbel_softmax(hard=True): one-hot rows of its own draws
        assert (out[2] == 1).all() and (out[3] == 1).all()
    _close([ours[0], ours[1], ours[4]], [theirs[0], theirs[1], theirs[4]], rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("gmlp", [False, True])
def test_mlp_mixer_and_gmlp_with_warmup_cosine_clipping_and_ema_match_pytorch(gmlp):
    rng = np.random.default_rng(128)
    images = rng.standard_normal((4, 3, 8, 8))
    labels = np.array([0, 2, 1, 2])
    ours, theirs = _both(lambda lib: programs_b.mixer(lib, gmlp=gmlp),
                         lambda lib, m: programs_b.train_mixer(lib, m, lib.tensor(images),
                                                               lib.tensor(labels)))
    assert [row[2] for row in ours[0]] == pytest.approx([5e-3, 5e-3, 2.5e-3, 0.0])
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_lr_range_test_with_a_custom_scheduler_restored_states_and_one_cycle_matches_pytorch():
    rng = np.random.default_rng(129)
    x = rng.standard_normal((12, 3))
    y = np.tanh(x @ np.array([[1.0], [-2.0], [0.5]])) + 0.05 * rng.standard_normal((12, 1))
    initial = {}

    def run(lib, model):
        initial[lib.__name__] = [p.detach().numpy().copy() for p in model.parameters()]
        return programs_b.lr_range_test(lib, model, lib.tensor(x), lib.tensor(y))

    ours, theirs = _both(programs_b.lr_finder_net, run)
    assert ours[1] == theirs[1] and len(ours[0]["lr"]) == len(theirs[0]["lr"]) >= 6
    for a, b in zip(ours[2], initial["chainrule"]):
        np.testing.assert_array_equal(a, b)
    _close([ours[0], ours[3], ours[4]], [theirs[0], theirs[3], theirs[4]], rtol=1e-9, atol=1e-11)


def test_hamiltonian_neural_network_with_symplectic_gradients_and_rk4_matches_pytorch():
    rng = np.random.default_rng(130)
    x = rng.uniform(-1, 1, (10, 2))
    dxdt = np.stack([x[:, 1], -x[:, 0]], 1)
    ours, theirs = _both(programs_b.hnn, lambda lib, m: programs_b.train_hnn(
        lib, m, lib.tensor(x), lib.tensor(dxdt)))
    assert ours[0][-1] < ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_growing_nca_with_sobel_depthwise_perception_and_alive_masks_matches_pytorch(
        monkeypatch):
    size, channel_n = 6, 6
    seed = np.zeros((size, size, channel_n), np.float32)
    seed[size // 2, size // 2, 3:] = 1.0
    yy, xx = np.mgrid[:size, :size]
    disc = ((yy - 2.5) ** 2 + (xx - 2.5) ** 2 < 5).astype(np.float32)
    target = np.stack([disc * 0.8, disc * 0.3, disc * 0.5, disc], -1)[None]

    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_rand(m, lib, 131)
            return programs_c.train_nca(lib, model, seed, lib.tensor(target))

    ours, theirs = _both(programs_c.nca, run, double=False)
    assert ours[2] == theirs[2] > 1
    _close(ours, theirs, rtol=2e-5, atol=1e-6)


def test_barlow_twins_with_in_place_diagonal_views_and_lars_matches_pytorch():
    rng = np.random.default_rng(132)
    base = rng.standard_normal((5, 8, 6))
    views = [(b + 0.1 * rng.standard_normal(b.shape), b + 0.1 * rng.standard_normal(b.shape))
             for b in base]
    ours, theirs = _both(programs_c.barlow_twins, lambda lib, m: programs_c.train_barlow_twins(
        lib, m, [(lib.tensor(a), lib.tensor(b)) for a, b in views]))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_s4d_with_a_complex_vandermonde_kernel_and_fft_convolution_matches_pytorch():
    rng = np.random.default_rng(133)
    x = rng.standard_normal((4, 10, 1))
    y = np.array([0, 1, 2, 1])
    ours, theirs = _both(programs_c.s4d, lambda lib, m: programs_c.train_s4d(
        lib, m, lib.tensor(x), lib.tensor(y)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_transformer_xl_with_relative_shift_and_segment_memory_matches_pytorch():
    rng = np.random.default_rng(134)
    stream = rng.integers(0, 9, (10, 2))
    ours, theirs = _both(programs_c.transformer_xl, lambda lib, m: programs_c.train_transformer_xl(
        lib, m, lib.tensor(stream)))
    assert len(ours[0]) == 3
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_allrank_listmle_listnet_and_ndcg_over_padded_slates_match_pytorch():
    rng = np.random.default_rng(135)
    x = rng.standard_normal((3, 6, 5))
    y = rng.integers(0, 4, (3, 6)).astype(np.float64)
    y[0, 4:], y[2, 5:] = -1, -1
    ours, theirs = _both(programs_d.ranker, lambda lib, m: programs_d.train_ranker(
        lib, m, lib.tensor(x), lib.tensor(y)))
    assert ours[1].shape == (3, 6) and np.isneginf(ours[1][0, 4:]).all()
    # listwise losses do not change when every score shifts by one constant, so the last bias's
    # true gradient is zero and Adam steps on rounding noise there
    _close(ours[3].pop("2.bias"), theirs[3].pop("2.bias"), rtol=0, atol=1e-6)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_cnf_with_an_exact_trace_by_is_grads_batched_and_rk4_matches_pytorch():
    rng = np.random.default_rng(136)
    x = np.concatenate([rng.normal(1.0, 0.3, (5, 2)), rng.normal(-1.0, 0.3, (5, 2))])
    ours, theirs = _both(programs_d.cnf, lambda lib, f: programs_d.train_cnf(
        lib, f, lib.tensor(x)))
    assert ours[0][-1] < ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_dino_with_antialiased_multi_crop_pos_embed_resampling_and_ema_teacher_matches_pytorch():
    rng = np.random.default_rng(137)
    images = rng.standard_normal((2, 3, 8, 8))

    def run(lib, student):
        teacher = programs_d.dino(lib).double()
        return programs_d.train_dino(lib, student, teacher, lib.tensor(images))

    ours, theirs = _both(programs_d.dino, run)
    assert [row[1] for row in ours[0]] == [row[1] for row in theirs[0]]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_efficient_kan_with_lstsq_spline_fits_and_grid_updates_matches_pytorch():
    rng = np.random.default_rng(138)
    x = rng.uniform(-1, 1, (12, 2))
    y = np.sin(2 * x[:, :1]) * x[:, 1:] + 0.3 * x[:, :1] ** 2
    ours, theirs = _both(programs_e.kan, lambda lib, m: programs_e.train_kan(
        lib, m, lib.tensor(x), lib.tensor(y)))
    assert ours[0][-1][0] < ours[0][0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_rainbow_with_noisy_nets_and_categorical_projection_by_index_add_matches_pytorch(
        monkeypatch):
    rng = np.random.default_rng(139)
    batches = [(rng.standard_normal((4, 4)), rng.integers(0, 3, 4), rng.uniform(-2.5, 2.5, 4),
                rng.standard_normal((4, 4)), (rng.uniform(size=(4, 1)) < 0.7).astype(float),
                rng.uniform(0.3, 1.0, 4)) for _ in range(4)]

    def run(lib, online):
        # float64 noise: PyTorch's float32 sqrt is not correctly rounded on every CPU (a last-bit
        # difference from NumPy's in a few draws of a hundred thousand)
        with monkeypatch.context() as m:
            _shared_randn(m, lib, 140)
            lib.set_default_dtype(lib.float64)
            try:
                target = programs_e.rainbow(lib)
                return programs_e.train_rainbow(
                    lib, online, target, [tuple(lib.tensor(a) for a in b) for b in batches])
            finally:
                lib.set_default_dtype(lib.float32)

    ours, theirs = _both(programs_e.rainbow, run)
    assert all(np.allclose(row[1].sum(1), 1.0) for row in ours[0])
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_mamba_minimal_with_a_selective_scan_and_tied_head_matches_pytorch():
    rng = np.random.default_rng(141)
    tokens = rng.integers(0, 7, (2, 9))
    ours, theirs = _both(programs_e.mamba, lambda lib, m: programs_e.train_mamba(
        lib, m, lib.tensor(tokens)), double=False)
    assert (ours[1] == theirs[1]).all() and ours[0][-1] < ours[0][0]
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=2e-5, atol=1e-6)


def test_nflows_rational_quadratic_spline_coupling_flow_matches_pytorch():
    rng = np.random.default_rng(142)
    x = np.concatenate([rng.normal(0.8, 0.4, (6, 2)), rng.normal(-0.8, 0.4, (6, 2))])
    x[0, 0], x[1, 1] = 2.7, -3.1  # in the linear tails
    z = rng.standard_normal((5, 2)) * 0.7
    ours, theirs = _both(programs_f.spline_flow, lambda lib, m: programs_f.train_spline_flow(
        lib, m, lib.tensor(x), lib.tensor(z)))
    np.testing.assert_allclose(ours[2], z, rtol=1e-6, atol=1e-6)  # the inverse inverts
    assert ours[0][-1] < ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_learning_to_learn_lstm_optimizer_with_retain_grad_and_unrolls_matches_pytorch():
    rng = np.random.default_rng(143)
    W, y, theta0 = (rng.standard_normal((4, 3)), rng.standard_normal(4),  # noqa: N806
                    rng.standard_normal(3) * 1e-5)
    ours, theirs = _both(programs_f.l2l_optimizer, lambda lib, m: programs_f.fit_l2l(
        lib, m, lib.tensor(W), lib.tensor(y), lib.tensor(theta0)))
    assert len(ours[1]) == 2 and all(n > 0 for n in ours[1])
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_detr_set_criterion_with_a_hungarian_matcher_and_giou_matches_pytorch():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(144)
    feats = rng.standard_normal((2, 5, 6))
    boxes = [np.column_stack([rng.uniform(0.3, 0.7, (n, 2)), rng.uniform(0.1, 0.4, (n, 2))])
             for n in (2, 1)]
    labels = [np.array([0, 2]), np.array([1])]

    def run(lib, model):
        targets = [{"labels": lib.tensor(c), "boxes": lib.tensor(b)}
                   for c, b in zip(labels, boxes)]
        return programs_g.train_detr(lib, model, lib.tensor(feats), targets)

    ours, theirs = _both(programs_g.detr_head, run)
    assert ours[1] == theirs[1]
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)


def test_pixelcnnpp_discretized_logistic_mixture_loss_matches_pytorch():
    rng = np.random.default_rng(145)
    images = rng.integers(0, 256, (2, 1, 5, 5)) / 127.5 - 1.0
    images[0, 0, 0, :2], images[1, 0, 4, 3:] = -1.0, 1.0
    ours, theirs = _both(programs_g.mixture_net, lambda lib, m: programs_g.train_mixture_net(
        lib, m, lib.tensor(images)))
    assert ours[0][-1] < ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("kind", ["t5", "alibi"])
def test_t5_relative_buckets_and_alibi_slopes_in_small_lms_match_pytorch(kind):
    rng = np.random.default_rng(146)
    tokens = rng.integers(0, 9, (2, 10))
    ours, theirs = _both(lambda lib: programs_h.biased_lm(lib, kind=kind),
                         lambda lib, m: programs_h.train_biased_lm(lib, m, lib.tensor(tokens)))
    for a, b in zip(ours[2], theirs[2]):
        np.testing.assert_array_equal(a, b)
    assert ours[0][-1] < ours[0][0]
    # the programs take their softmax in float32 (HF's softmax(scores.float()).type_as(scores)),
    # so the float64 runs agree to float32 rounding
    _close([ours[0], ours[1], ours[3]], [theirs[0], theirs[1], theirs[3]], rtol=2e-6,
           atol=1e-7)


def test_neural_turing_machine_with_cosine_addressing_and_circular_shifts_matches_pytorch():
    rng = np.random.default_rng(147)
    sequences = []
    for _ in range(3):
        seq = (rng.uniform(size=(3, 2, 4)) < 0.5).astype(np.float64)
        seq[..., -1] = 0.0
        sequences.append(seq)
    ours, theirs = _both(programs_i.ntm, lambda lib, m: programs_i.train_ntm_copy(
        lib, m, [lib.tensor(s) for s in sequences]))
    np.testing.assert_allclose(ours[1].sum(1), 1.0, rtol=1e-9)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
