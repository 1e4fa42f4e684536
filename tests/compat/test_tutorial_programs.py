"""tutorial_programs.py run unchanged on PyTorch and on chainrule from the same weights: losses,
learning rates, outputs and final parameters agree (float64 to 1e-9, float32 to its rounding)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

# PyTorch first: the modules imported below skip themselves without it.
torch = pytest.importorskip("torch")

from . import tutorial_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def test_time_sequence_prediction_with_lstm_cells_and_lbfgs_matches_pytorch():
    rng = np.random.default_rng(20)
    x = np.arange(10) + rng.integers(-8, 8, 5).reshape(5, 1)
    data = np.sin(x / 2.0).astype("float64")
    ours, theirs = _both(programs.sequence, lambda lib, m: programs.train_sequence(lib, m, data))
    assert ours[0][-1] < ours[0][0] and ours[2].shape == (2, 13)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_super_resolution_with_pixel_shuffle_and_orthogonal_init_matches_pytorch():
    chainrule.manual_seed(0)
    model = programs.super_resolution(chainrule)
    w = model.conv2.weight.detach().numpy().reshape(8, -1)
    np.testing.assert_allclose(w @ w.T, 2.0 * np.eye(8), atol=1e-5)  # gain('relu') ** 2
    rng = np.random.default_rng(21)
    low = rng.uniform(0, 1, (4, 1, 4, 4))
    high = rng.uniform(0, 1, (4, 1, 8, 8))
    ours, theirs = _both(programs.super_resolution, lambda lib, m: programs.train_super_resolution(
        lib, m, lib.tensor(low), lib.tensor(high)))
    assert ours[2].shape == (1, 1, 8, 8)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_fast_neural_style_with_gram_matrices_and_instance_norm_matches_pytorch():
    rng = np.random.default_rng(22)
    images = [rng.uniform(0, 255, (2, 3, 8, 8)) for _ in range(3)]
    style = rng.uniform(0, 255, (1, 3, 8, 8))
    ours, theirs = _both(programs.fast_style, lambda lib, m: programs.train_fast_style(
        lib, m, [lib.tensor(x) for x in images], lib.tensor(style)))
    assert ours[2] is True and theirs[2] is True
    _close(ours[:2], theirs[:2], rtol=1e-9, atol=1e-9)


def test_vision_transformer_with_cls_token_and_warmup_cosine_matches_pytorch():
    chainrule.manual_seed(0)
    model = programs.vit(chainrule)
    pos = model.pos_embed.detach().numpy()
    assert 0.01 < pos.std() < 0.03  # trunc_normal_'s cut at a=-2, b=2 is absolute, not in stds
    rng = np.random.default_rng(23)
    images = rng.standard_normal((6, 3, 8, 8))
    labels = rng.integers(0, 3, 6)
    ours, theirs = _both(programs.vit, lambda lib, m: programs.train_vit(
        lib, m, lib.tensor(images), lib.tensor(labels)))
    assert ours[0][-1] < ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_wgan_gp_with_gradient_penalty_through_create_graph_matches_pytorch():
    rng = np.random.default_rng(24)
    real = [rng.standard_normal((4, 2)) * 0.5 + 1 for _ in range(6)]
    noise = [rng.standard_normal((4, 2)) for _ in range(6)]
    alphas = [rng.uniform(size=(4, 1)) for _ in range(6)]
    ours, theirs = _both(programs.wgan_gp, lambda lib, m: programs.train_wgan_gp(
        lib, m, *([lib.tensor(a) for a in arrays] for arrays in (real, noise, alphas))))
    assert all(p > 0 for p in ours[2])
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


class _ToyEnv:
    """A deterministic gym-style env: the state drifts with the action; done after 5 steps."""

    def __init__(self):
        self.t, self.state = 0, None

    def reset(self):
        self.t, self.state = 0, np.array([0.1, -0.2, 0.3, 0.05])
        return self.state

    def step(self, action):
        self.t += 1
        self.state = 0.9 * self.state + (action - 0.5) * np.array([0.1, 0.2, -0.1, 0.3])
        return self.state, float(1.0 - abs(self.state[0])), self.t >= 5, {}


def test_actor_critic_with_smooth_l1_and_stacked_losses_matches_pytorch(monkeypatch):
    actions = np.random.default_rng(25).integers(0, 2, 15)

    def run(lib, model):
        stream = iter(actions.tolist())
        monkeypatch.setattr(lib.distributions.Categorical, "sample",
                            lambda self, sample_shape=(): lib.tensor(next(stream)))
        return programs.run_actor_critic(lib, model, _ToyEnv())

    ours, theirs = _both(programs.actor_critic, run, double=False)
    _close(ours, theirs, rtol=1e-5, atol=1e-6)


def test_char_rnn_with_gru_steps_and_multinomial_sampling_matches_pytorch(monkeypatch):
    text = "abc defg hab cdd efgh abba cafe bead"
    uniforms = np.random.default_rng(26).uniform(size=6)

    def run(lib, model):
        stream, seen = iter(uniforms.tolist()), []

        def multinomial(weights, num_samples):  # inverse CDF of a shared uniform
            p = weights.numpy() / weights.numpy().sum()
            seen.append(p)
            return lib.tensor([int(np.searchsorted(np.cumsum(p), next(stream)))])

        monkeypatch.setattr(lib, "multinomial", multinomial)
        return programs.train_char_rnn(lib, model, text) + (seen,)

    ours, theirs = _both(programs.char_rnn, run)
    assert ours[1] == theirs[1] and len(ours[1]) == 8
    _close(ours[0], theirs[0], rtol=1e-9, atol=1e-11)
    _close(ours[2], theirs[2], rtol=1e-9, atol=1e-11)


def test_char_rnn_generation_samples_with_chainrules_own_multinomial():
    chainrule.manual_seed(0)
    model = programs.char_rnn(chainrule)
    text = programs.generate(chainrule, model, "ab", 12, temperature=0.5)
    assert len(text) == 14 and set(text) <= set(programs.ALL_CHARACTERS)


def test_knowledge_distillation_with_kl_div_batchmean_matches_pytorch():
    rng = np.random.default_rng(27)
    x = rng.standard_normal((12, 6))
    y = rng.integers(0, 3, 12)
    ours, theirs = _both(programs.distillation, lambda lib, m: programs.train_distillation(
        lib, m, lib.tensor(x), lib.tensor(y)))
    for _, tutorial, kl, kl_log in ours[1]:
        assert abs(tutorial - kl) < 1e-12 and abs(kl - kl_log) < 1e-12
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _shared_draws(monkeypatch, lib, lams, perms):
    """Beta(alpha, alpha).sample() and randperm read the same values in both libraries."""
    lam_stream, perm_stream = iter(lams), iter(perms)
    monkeypatch.setattr(lib.distributions.Beta, "sample",
                        lambda self, sample_shape=(): lib.tensor(next(lam_stream)))
    monkeypatch.setattr(lib, "randperm", lambda n: lib.tensor(next(perm_stream)))


def test_mixup_with_beta_weights_and_randperm_partners_matches_pytorch(monkeypatch):
    rng = np.random.default_rng(28)
    x = rng.standard_normal((12, 6))
    y = rng.integers(0, 3, 12)
    lams = rng.beta(1.0, 1.0, 6).tolist()
    perms = [rng.permutation(4) for _ in range(6)]

    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_draws(m, lib, lams, perms)
            return programs.train_mixup(lib, model, lib.tensor(x), lib.tensor(y))

    ours, theirs = _both(programs.mixup_net, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    chainrule.manual_seed(0)  # and with chainrule's own Beta and randperm draws
    history = programs.train_mixup(chainrule, programs.mixup_net(chainrule).double(),
                                   chainrule.tensor(x), chainrule.tensor(y))[0]
    assert all(np.isfinite(loss) and 0 <= acc <= 100 for loss, acc in history)


def test_siamese_network_with_contrastive_loss_matches_pytorch():
    rng = np.random.default_rng(29)
    img0 = rng.uniform(0, 1, (8, 1, 6, 6))
    img1 = rng.uniform(0, 1, (8, 1, 6, 6))
    label = rng.integers(0, 2, (8, 1)).astype(np.float64)
    ours, theirs = _both(programs.siamese, lambda lib, m: programs.train_siamese(
        lib, m, lib.tensor(img0), lib.tensor(img1), lib.tensor(label)))
    assert ours[0][-1] < ours[0][0]
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_pointnet_with_max_pooling_and_feature_transform_regulariser_matches_pytorch():
    rng = np.random.default_rng(30)
    points = rng.standard_normal((8, 10, 3))
    target = rng.integers(0, 3, 8)
    ours, theirs = _both(programs.pointnet, lambda lib, m: programs.train_pointnet(
        lib, m, lib.tensor(points), lib.tensor(target)))
    _close(ours, theirs, rtol=1e-9, atol=1e-10)


def test_unet_with_transposed_convs_padding_and_dice_loss_matches_pytorch():
    rng = np.random.default_rng(31)
    images = rng.standard_normal((4, 3, 9, 9))
    masks = (rng.uniform(size=(4, 9, 9)) < 0.4).astype(np.int64)
    ours, theirs = _both(programs.unet, lambda lib, m: programs.train_unet(
        lib, m, lib.tensor(images), lib.tensor(masks)))
    assert ours[2][-1] < ours[2][0]  # the plateau scheduler cut the rate
    _close(ours, theirs, rtol=1e-9, atol=1e-10)


def test_blitz_lenet_with_next_functions_and_data_sub_matches_pytorch():
    rng = np.random.default_rng(32)
    image = rng.standard_normal((1, 1, 14, 14))
    upstream = rng.standard_normal((1, 5))
    target = rng.standard_normal(5)
    ours, theirs = _both(programs.blitz_net, lambda lib, m: programs.run_blitz(
        lib, m, lib.tensor(image), lib.tensor(upstream), lib.tensor(target)))
    assert ours[0] == theirs[0] and len(ours[0]) == 10
    assert ours[2] is theirs[2] is True and ours[3] is theirs[3] is True
    _close(ours[1], theirs[1], rtol=1e-9, atol=1e-12)
    _close(ours[4:], theirs[4:], rtol=1e-9, atol=1e-12)


def test_pygcn_with_legacy_float_tensor_parameters_matches_pytorch():
    rng = np.random.default_rng(33)
    features = (rng.uniform(size=(9, 5)) < 0.5).astype(np.float32)
    features[:, 0] = 1
    adj = (rng.uniform(size=(9, 9)) < 0.3).astype(np.float32)
    adj = np.maximum(adj, adj.T)
    labels = rng.integers(0, 3, 9)
    chainrule.manual_seed(0)
    w = programs.gcn(chainrule).gc1.weight.detach().numpy()
    assert np.abs(w).max() <= 1 / np.sqrt(6) and w.std() > 0.1  # reset_parameters ran
    ours, theirs = _both(programs.gcn, lambda lib, m: programs.train_gcn(
        lib, m, features, adj, labels))
    assert ours[1] == theirs[1] == "GraphConvolution (5 -> 6)"
    _close(ours[0], theirs[0], rtol=1e-9, atol=1e-11)
    _close(ours[2], theirs[2], rtol=1e-9, atol=1e-11)


def test_pinn_with_second_derivatives_adam_and_lbfgs_matches_pytorch():
    rng = np.random.default_rng(34)
    X_u = np.stack([np.zeros(6), rng.uniform(-1, 1, 6)], axis=1)
    u = -np.sin(np.pi * X_u[:, 1:2])
    X_f = np.stack([rng.uniform(0, 1, 10), rng.uniform(-1, 1, 10)], axis=1)
    ours, theirs = _both(programs.pinn, lambda lib, m: programs.train_pinn(lib, m, X_u, u, X_f))
    assert ours[2] is theirs[2]
    assert len(ours[0]) == len(theirs[0]) and ours[0][-1][0] < ours[0][0][0]
    _close(ours[:2], theirs[:2], rtol=1e-9, atol=1e-11)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")  # PyTorch's, batch_first=False
@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")  # PyTorch's too
def test_nn_transformer_translation_with_masks_and_greedy_decode_matches_pytorch():
    rng = np.random.default_rng(35)

    def batch(n_src, n_tgt, lens):
        src = rng.integers(4, 9, (n_src, len(lens)))
        tgt = rng.integers(4, 8, (n_tgt, len(lens)))
        tgt[0], src[0] = 2, 2
        for b, (ls, lt) in enumerate(lens):
            src[ls:, b], tgt[lt:, b] = 1, 1
            src[ls - 1, b], tgt[lt - 1, b] = 3, 3
        return src, tgt

    batches = [batch(6, 7, [(6, 7), (4, 5), (5, 3)]), batch(5, 6, [(3, 6), (5, 4)])]
    ours, theirs = _both(programs.translation, lambda lib, m: programs.train_translation(
        lib, m, [(lib.tensor(s), lib.tensor(t)) for s, t in batches]), double=False)
    assert ours[1] == theirs[1] and ours[1][0] == programs.BOS_IDX
    _close(ours[0], theirs[0], rtol=1e-5, atol=1e-6)


class _VectorEnv:
    """A gymnasium-style vector env of float32 observations: reset(seed=), step(actions) ->
    (obs, reward, terminations, truncations, infos); an episode ends after 3 steps."""

    num_envs, single_observation_space_shape = 2, (4,)

    def reset(self, seed=None):
        self.t = np.zeros(2, dtype=int)
        self.state = np.array([[0.1, -0.2, 0.3, 0.0], [0.0, 0.2, -0.1, 0.05]], np.float32)
        return self.state.copy(), {}

    def step(self, actions):
        self.t += 1
        push = np.where(actions[:, None] == 1, 0.1, -0.1).astype(np.float32)
        self.state = (0.9 * self.state + push * np.array([1, 0.5, -1, 0.2], np.float32))
        reward = (1.0 - np.abs(self.state[:, 0])).astype(np.float64)
        done = self.t >= 3
        self.t[done] = 0
        return self.state.astype(np.float32), reward, done, np.zeros(2, bool), {}


def test_cleanrl_ppo_with_gae_clipped_surrogate_and_annealing_matches_pytorch(monkeypatch):
    actions = np.random.default_rng(36).integers(0, 2, (8, 2))

    def run(lib, agent):
        stream = iter(actions)
        monkeypatch.setattr(lib.distributions.Categorical, "sample",
                            lambda self, sample_shape=(): lib.tensor(next(stream)))
        return programs.train_ppo(lib, agent, _VectorEnv())

    chainrule.manual_seed(0)
    actor = programs.ppo_agent(chainrule).actor[4].weight.detach().numpy()
    np.testing.assert_allclose(actor @ actor.T, 1e-4 * np.eye(2), atol=1e-9)  # orthogonal, std
    ours, theirs = _both(programs.ppo_agent, run, double=False)
    _close(ours, theirs, rtol=1e-5, atol=1e-6)


def test_second_order_maml_with_functional_call_matches_pytorch():
    rng = np.random.default_rng(37)

    def task():
        amp, phase = rng.uniform(0.5, 2), rng.uniform(0, np.pi)
        xs = rng.uniform(-3, 3, (10, 1))
        ys = amp * np.sin(xs + phase)
        return xs[:5], ys[:5], xs[5:], ys[5:]

    tasks = [[task() for _ in range(2)] for _ in range(3)]
    ours, theirs = _both(programs.maml_net, lambda lib, m: programs.train_maml(
        lib, m, [[tuple(lib.tensor(a) for a in t) for t in b] for b in tasks]))
    _close(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning")
def test_tcn_with_weight_norm_and_chomped_dilated_convs_matches_pytorch():
    rng = np.random.default_rng(38)
    x = np.stack([rng.uniform(0, 1, (10, 12)), np.zeros((10, 12))], axis=1)
    for row in x:
        row[1, rng.choice(12, 2, replace=False)] = 1
    y = (x[:, 0] * x[:, 1]).sum(1, keepdims=True)
    ours, theirs = _both(programs.tcn, lambda lib, m: programs.train_tcn(
        lib, m, lib.tensor(x), lib.tensor(y)))
    assert ours[3] == theirs[3] and "tcn.network.0.conv1.weight_v" in ours[3]
    _close(ours[:3], theirs[:3], rtol=1e-9, atol=1e-11)


def test_simclr_info_nce_with_boolean_masks_and_topk_accuracy_matches_pytorch():
    rng = np.random.default_rng(39)
    batches = [[rng.standard_normal((4, 3, 6, 6)) for _ in range(2)] for _ in range(3)]
    ours, theirs = _both(programs.simclr, lambda lib, m: programs.train_simclr(
        lib, m, [[lib.tensor(v) for v in views] for views in batches]))
    _close(ours, theirs, rtol=1e-9, atol=1e-10)


def test_realnvp_with_a_multivariate_normal_prior_and_frozen_mask_matches_pytorch(monkeypatch):
    rng = np.random.default_rng(40)
    angle = rng.uniform(0, np.pi, (4, 16))
    batches = [np.stack([np.cos(a), np.sin(a) - 0.5], 1).astype(np.float32)
               + 0.05 * rng.standard_normal((16, 2)).astype(np.float32) for a in angle]
    z = rng.standard_normal((5, 1, 2)).astype(np.float32)

    def run(lib, flow):
        monkeypatch.setattr(lib.distributions.MultivariateNormal, "sample",
                            lambda self, sample_shape=(): lib.tensor(z))
        with lib.no_grad():  # the harness drew random values for every parameter
            flow.mask.copy_(lib.tensor([[0.0, 1.0], [1.0, 0.0]] * 2))
        return programs.train_realnvp(lib, flow, batches)

    ours, theirs = _both(programs.realnvp, run, double=False)
    assert ours[3] is theirs[3] is True
    np.testing.assert_allclose(ours[2][:, None, :], z, atol=1e-5)  # f inverts g
    _close(ours[:3], theirs[:3], rtol=1e-5, atol=1e-5)


def test_neural_transfer_with_loss_modules_and_lbfgs_on_the_image_matches_pytorch():
    rng = np.random.default_rng(41)
    content = rng.uniform(0, 1, (1, 3, 8, 8))
    style = rng.uniform(0, 1, (1, 3, 8, 8))
    ours, theirs = _both(programs.vgg_features, lambda lib, cnn: programs.neural_transfer(
        lib, cnn, lib.tensor(content), lib.tensor(style)))
    assert ours[2] == theirs[2] and ours[2][-1] == "style_loss_4"
    assert len(ours[0]) == len(theirs[0]) > 4
    _close(ours[:2], theirs[:2], rtol=1e-9, atol=1e-11)


def test_cyclegan_with_resnet_generators_and_patchgan_matches_pytorch():
    rng = np.random.default_rng(42)
    real_A = [rng.uniform(-1, 1, (1, 3, 8, 8)) for _ in range(2)]
    real_B = [rng.uniform(-1, 1, (1, 3, 8, 8)) for _ in range(2)]
    ours, theirs = _both(programs.cyclegan, lambda lib, m: programs.train_cyclegan(
        lib, m, [lib.tensor(a) for a in real_A], [lib.tensor(b) for b in real_B]))
    assert ours[1] == theirs[1]
    _close(ours, theirs, rtol=1e-9, atol=1e-10)


def test_ddpm_with_gathered_schedules_and_ancestral_sampling_matches_pytorch():
    rng = np.random.default_rng(43)
    images = [rng.uniform(-1, 1, (3, 1, 6, 6)) for _ in range(4)]
    ts = [rng.integers(0, 10, 3) for _ in range(4)]
    noises = [rng.standard_normal((3, 1, 6, 6)) for _ in range(4)]
    sample_noises = [rng.standard_normal((2, 1, 6, 6)) for _ in range(11)]

    def run(lib, model):
        """Under set_default_dtype(float64) in both, chosen while chainrule's promotion was
        NumPy's (``long_time[:, None] * float32_table`` was float64, PyTorch's float32; both are
        float32 now): float64 keeps the comparison tight."""
        old = lib.get_default_dtype()
        lib.set_default_dtype(lib.float64)
        try:
            return programs.train_ddpm(lib, model, *([lib.tensor(a) for a in arrays] for arrays
                                                      in (images, ts, noises, sample_noises)))
        finally:
            lib.set_default_dtype(old)

    ours, theirs = _both(programs.ddpm, run)
    assert ours[2][0] == 1.0
    _close(ours, theirs, rtol=1e-9, atol=1e-10)


def test_float32_runs_agree_to_float32_rounding():
    """Programs run in float32 above in float64, as they are usually run: losses to 1e-5."""
    rng = np.random.default_rng(44)
    images = rng.standard_normal((6, 3, 8, 8)).astype(np.float32)
    labels = rng.integers(0, 3, 6)
    style_images = [rng.uniform(0, 255, (2, 3, 8, 8)).astype(np.float32) for _ in range(2)]
    style = rng.uniform(0, 255, (1, 3, 8, 8)).astype(np.float32)
    x = rng.standard_normal((12, 6)).astype(np.float32)
    y = rng.integers(0, 3, 12)
    runs = [
        (programs.vit, lambda lib, m: programs.train_vit(lib, m, lib.tensor(images),
                                                         lib.tensor(labels))[0]),
        (programs.fast_style, lambda lib, m: programs.train_fast_style(
            lib, m, [lib.tensor(s) for s in style_images], lib.tensor(style))[0]),
        (programs.distillation, lambda lib, m: programs.train_distillation(
            lib, m, lib.tensor(x), lib.tensor(y))[:2]),
    ]
    for build, run in runs:
        ours, theirs = _both(build, run, double=False)
        _close(ours, theirs, rtol=1e-5, atol=1e-6)


def test_capsnet_with_dynamic_routing_and_margin_loss_matches_pytorch():
    rng = np.random.default_rng(45)
    images = rng.uniform(0, 1, (4, 1, 8, 8))
    labels = rng.integers(0, 3, 4)
    ours, theirs = _both(programs.capsnet, lambda lib, m: programs.train_capsnet(
        lib, m, lib.tensor(images), lib.tensor(labels)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_mixture_density_network_with_mixture_same_family_matches_pytorch():
    rng = np.random.default_rng(46)
    x = rng.uniform(-1, 1, (10, 1))
    y = np.concatenate([np.sin(3 * x), np.cos(3 * x)], 1) + 0.1 * rng.standard_normal((10, 2))
    ours, theirs = _both(programs.mdn, lambda lib, m: programs.train_mdn(
        lib, m, lib.tensor(x), lib.tensor(y)))
    assert ours[4:] == theirs[4:] == ((10,), (2,))
    _close(ours[:4], theirs[:4], rtol=1e-9, atol=1e-11)


def test_gaussian_process_marginal_likelihood_with_cholesky_matches_pytorch():
    rng = np.random.default_rng(47)
    x = rng.uniform(-2, 2, (8, 1))
    y = np.sin(2 * x[:, 0]) + 0.05 * rng.standard_normal(8)
    x_star = np.linspace(-2, 2, 5)[:, None]
    ours, theirs = _both(programs.gp, lambda lib, m: programs.train_gp(
        lib, m, lib.tensor(x), lib.tensor(y), lib.tensor(x_star)))
    assert ours[0][-1] < ours[0][0] and (ours[2] > 0).all()
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_set_transformer_with_padding_masks_and_per_head_weights_matches_pytorch():
    rng = np.random.default_rng(48)
    X = rng.standard_normal((4, 5, 2))
    mask = np.zeros((4, 5), bool)
    mask[1, 3:] = mask[3, 1:] = True
    y = rng.integers(0, 3, 4)
    ours, theirs = _both(programs.set_transformer, lambda lib, m: programs.train_set_transformer(
        lib, m, lib.tensor(X), lib.tensor(mask), lib.tensor(y)))
    assert ours[2].shape == (4, 2, 1, 5) and not ours[2][3, :, :, 1:].any()
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_deeplab_aspp_with_ignore_index_and_class_weights_matches_pytorch():
    rng = np.random.default_rng(49)
    images = rng.standard_normal((2, 3, 8, 8))
    targets = rng.integers(0, 3, (2, 8, 8))
    targets[0, :2] = 255
    ours, theirs = _both(programs.deeplab, lambda lib, m: programs.train_deeplab(
        lib, m, lib.tensor(images), lib.tensor(targets)))
    assert ours[1] == theirs[1]
    _close(ours[0], theirs[0], rtol=1e-9, atol=1e-11)
    _close(ours[2], theirs[2], rtol=1e-9, atol=1e-11)


def test_td3_with_twin_critics_delayed_actor_and_polyak_matches_pytorch():
    rng = np.random.default_rng(50)
    batches = [(rng.standard_normal((5, 3)), rng.uniform(-2, 2, (5, 2)),
                rng.standard_normal((5, 3)), rng.standard_normal((5, 1)),
                (rng.uniform(size=(5, 1)) > 0.2).astype(np.float64)) for _ in range(4)]
    noises = [rng.standard_normal((5, 2)) for _ in range(4)]
    ours, theirs = _both(programs.td3, lambda lib, m: programs.train_td3(
        lib, m, [tuple(lib.tensor(a) for a in b) for b in batches],
        [lib.tensor(n) for n in noises]))
    assert [a is None for _, a in ours[0]] == [True, False, True, False]
    _close([c for c, _ in ours[0]], [c for c, _ in theirs[0]], rtol=1e-9, atol=1e-11)
    _close([a for _, a in ours[0][1::2]], [a for _, a in theirs[0][1::2]], rtol=1e-9, atol=1e-11)
    _close(ours[1], theirs[1], rtol=1e-9, atol=1e-11)


def test_kim_cnn_with_pretrained_embeddings_and_max_over_time_matches_pytorch():
    rng = np.random.default_rng(51)
    pretrained = rng.standard_normal((15, 6))
    tokens = rng.integers(0, 15, (6, 7))
    labels = rng.integers(0, 2, 6)
    ours, theirs = _both(programs.kim_cnn, lambda lib, m: programs.train_kim_cnn(
        lib, m, lib.tensor(pretrained), lib.tensor(tokens), lib.tensor(labels)))
    assert np.linalg.norm(ours[2], axis=1).max() <= 0.5 + 1e-12
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_show_attend_tell_with_packed_scores_and_doubly_stochastic_loss_matches_pytorch():
    rng = np.random.default_rng(52)
    encoder_outs = [rng.standard_normal((3, 2, 2, 4)) for _ in range(2)]
    caps = [rng.integers(1, 10, (3, 6)) for _ in range(2)]
    caplens = [np.array([[4], [6], [3]]), np.array([[5], [2], [6]])]
    ours, theirs = _both(programs.show_attend_tell, lambda lib, m: programs.train_show_attend_tell(
        lib, m, *([lib.tensor(a) for a in arrays] for arrays in (encoder_outs, caps, caplens))))
    assert [h[2] for h in ours] == [h[2] for h in theirs] == [[1, 0, 2], [2, 0, 1]]
    _close([h[:2] for h in ours], [h[:2] for h in theirs], rtol=1e-9, atol=1e-11)


def test_sac_with_tanh_squashed_rsample_and_entropy_tuning_matches_pytorch(monkeypatch):
    rng = np.random.default_rng(53)
    batches = [(rng.standard_normal((4, 3)), rng.uniform(-1, 1, (4, 2)),
                rng.standard_normal((4, 1)), rng.standard_normal((4, 3)),
                (rng.uniform(size=(4, 1)) > 0.2).astype(np.float64)) for _ in range(3)]
    eps = [rng.standard_normal((4, 2)) for _ in range(6)]

    def run(lib, agent):
        stream = iter(eps)
        normal = lib.distributions.Normal
        monkeypatch.setattr(normal, "rsample", lambda self, sample_shape=():
                            self.loc + self.scale * lib.tensor(next(stream)))
        return programs.train_sac(lib, agent, [tuple(lib.tensor(a) for a in b)
                                               for b in batches])

    ours, theirs = _both(programs.sac, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")  # PyTorch's
def test_bert_masked_lm_with_tied_head_and_warmup_matches_pytorch():
    rng = np.random.default_rng(54)
    input_ids = rng.integers(2, 12, (3, 8))
    input_ids[1, 6:] = input_ids[2, 5:] = 0
    token_type_ids = np.zeros((3, 8), np.int64)
    token_type_ids[:, 4:] = 1
    select = (rng.uniform(size=(3, 8)) < 0.3) & (input_ids != 0)
    replace = rng.uniform(size=(3, 8))
    chainrule.manual_seed(0)
    model = programs.bert_mlm(chainrule)
    assert model.decoder.weight is model.embeddings.word_embeddings.weight
    ours, theirs = _both(programs.bert_mlm, lambda lib, m: programs.train_bert_mlm(
        lib, m, *(lib.tensor(a) for a in (input_ids, token_type_ids, select, replace))))
    assert ours[1:] == theirs[1:]
    _close(ours[0], theirs[0], rtol=1e-9, atol=1e-11)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")  # inside PyTorch's jvp
def test_neural_tangent_kernel_two_ways_and_hessian_vector_products_match_pytorch():
    rng = np.random.default_rng(55)
    x_train = rng.standard_normal((3, 3, 6, 6))
    x_test = rng.standard_normal((2, 3, 6, 6))
    ours, theirs = _both(programs.ntk_net, lambda lib, m: programs.empirical_ntk(
        lib, m, lib.tensor(x_train), lib.tensor(x_test)))
    assert ours[0].shape == (3, 2, 2, 2)
    np.testing.assert_allclose(ours[0], ours[1], rtol=1e-10, atol=1e-12)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_mobilenet_v3_with_squeeze_excitation_and_ema_model_matches_pytorch():
    rng = np.random.default_rng(56)
    images = rng.standard_normal((4, 3, 8, 8))
    labels = rng.integers(0, 3, 4)
    ours, theirs = _both(programs.mobilenet_v3, lambda lib, m: programs.train_classifier(
        lib, m, lib.tensor(images), lib.tensor(labels)))
    assert ours[3] == theirs[3] == 3
    _close(ours[:3], theirs[:3], rtol=1e-9, atol=1e-11)


def test_convnext_with_channels_first_layer_norm_and_layer_scale_matches_pytorch():
    rng = np.random.default_rng(57)
    images = rng.standard_normal((4, 3, 8, 8))
    labels = rng.integers(0, 3, 4)
    ours, theirs = _both(programs.convnext, lambda lib, m: programs.train_swin(
        lib, m, lib.tensor(images), lib.tensor(labels)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_swin_block_with_shifted_windows_and_relative_position_bias_matches_pytorch():
    rng = np.random.default_rng(58)
    images = rng.standard_normal((3, 3, 8, 8))
    labels = rng.integers(0, 3, 3)
    chainrule.manual_seed(0)
    block = programs.swin_block(chainrule).blocks[0]
    index = block.attn.relative_position_index.numpy()
    assert index.tolist() == [[4, 3, 1, 0], [5, 4, 2, 1], [7, 6, 4, 3], [8, 7, 5, 4]]
    assert sorted(set(block.attn_mask.numpy().ravel().tolist())) == [-100.0, 0.0]
    ours, theirs = _both(programs.swin_block, lambda lib, m: programs.train_swin(
        lib, m, lib.tensor(images), lib.tensor(labels)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_vit_fine_tuned_at_a_higher_resolution_with_bicubic_pos_embed_matches_pytorch():
    rng = np.random.default_rng(59)
    images = rng.standard_normal((4, 3, 12, 12))
    labels = rng.integers(0, 3, 4)
    ours, theirs = _both(programs.vit, lambda lib, m: programs.finetune_vit_at_higher_resolution(
        lib, m, lib.tensor(images), lib.tensor(labels)))
    assert ours[1].shape == (1, 10, 8)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_3d_unet_with_trilinear_upsampling_and_dice_loss_matches_pytorch():
    rng = np.random.default_rng(60)
    volumes = rng.standard_normal((2, 1, 4, 4, 4))
    masks = (rng.uniform(size=(2, 4, 4, 4)) < 0.4).astype(np.int64)
    ours, theirs = _both(programs.unet3d, lambda lib, m: programs.train_unet3d(
        lib, m, lib.tensor(volumes), lib.tensor(masks)))
    assert ours[1].shape == (2, 2, 6, 8, 4)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_voxelmorph_with_scaling_and_squaring_and_5d_grid_sample_matches_pytorch():
    rng = np.random.default_rng(61)
    sources = [rng.uniform(0, 1, (1, 1, 4, 4, 4)) for _ in range(3)]
    targets = [rng.uniform(0, 1, (1, 1, 4, 4, 4)) for _ in range(3)]

    def build(lib):
        model = programs.voxelmorph(lib)
        return model

    def run(lib, model):
        with lib.no_grad():  # a visible flow (the repository starts it at N(0, 1e-5))
            model.flow.weight.mul_(20.0)
        return programs.train_voxelmorph(lib, model, [lib.tensor(s) for s in sources],
                                         [lib.tensor(t) for t in targets])

    ours, theirs = _both(build, run)
    assert np.abs(ours[2]).max() > 1e-3
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
