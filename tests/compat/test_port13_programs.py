"""port13_programs.py and port13b_programs.py run unchanged on PyTorch and on chainrule from the
same weights: losses, learning rates, outputs and final parameters agree to float64 rounding
(float32 runs to float32 rounding)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from . import port13_programs as programs  # noqa: E402
from . import port13b_programs as programs_b  # noqa: E402
from . import port13c_programs as programs_c  # noqa: E402
from . import port13d_programs as programs_d  # noqa: E402
from . import port13e_programs as programs_e  # noqa: E402
from . import port13f_programs as programs_f  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_port9_programs import _shared_rand  # noqa: E402
from .test_real_programs import _both, _close  # noqa: E402


def _blobs(lib, seed, n=12, classes=3, batch=6):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.standard_normal((n, 4)) + 1.5 * np.eye(4)[y]
    return [(lib.tensor(x[i:i + batch]), lib.tensor(y[i:i + batch]))
            for i in range(0, n, batch)]


@pytest.mark.parametrize("use_closure", [False, True])
@pytest.mark.parametrize("adaptive", [False, True])
def test_sam_optimizer_subclass_with_batchnorm_momentum_switch_and_smooth_ce_matches_pytorch(
        adaptive, use_closure):
    def run(lib, model):
        return programs.train_sam(lib, model, _blobs(lib, 1300), adaptive=adaptive,
                                  rho=2.0 if adaptive else 0.05, use_closure=use_closure)

    ours, theirs = _both(programs.sam_net, run)
    assert ours[1] == theirs[1] == pytest.approx([0.1, 0.1, 0.1, 0.02])
    assert ours[4] and theirs[4]  # load_state_dict re-pointed the base optimizer's groups
    _close(ours[:4], theirs[:4], rtol=1e-9, atol=1e-11)
    assert ours[0][-1] < ours[0][0]


def test_center_loss_with_addmm_two_optimizers_and_rescaled_center_grads_matches_pytorch():
    def run(lib, both):
        return programs.train_center_loss(lib, both, _blobs(lib, 1301))

    ours, theirs = _both(programs.center_loss, run)
    assert ours[1] == theirs[1]
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)
    assert ours[0][-1][2] < ours[0][0][2]  # the features gather round their centers


def test_pytorch_fm_deepfm_with_numpy_offsets_fm_trick_and_bce_matches_pytorch():
    rng = np.random.default_rng(1302)
    fields = np.stack([rng.integers(0, d, 16) for d in (3, 4, 2)], axis=1)
    target = ((fields[:, 0] == 1) | (fields[:, 2] == 0)).astype(np.int64)

    def run(lib, model):
        data = lib.utils.data
        loader = data.DataLoader(data.TensorDataset(lib.tensor(fields), lib.tensor(target)),
                                 batch_size=8)
        return programs.train_deepfm(lib, model, loader)

    ours, theirs = _both(programs.deepfm, run, double=False)
    assert ours[1] == theirs[1] == target.tolist()
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=2e-5, atol=1e-6)
    assert ours[0][-1] < ours[0][0]


def test_sparsemax_attention_classifier_with_sort_cumsum_and_type_string_matches_pytorch():
    rng = np.random.default_rng(1303)
    tokens = rng.integers(0, 10, (6, 5))
    labels = tokens[:, 0] % 3

    def run(lib, model):
        return programs_b.train_sparsemax(lib, model, lib.tensor(tokens), lib.tensor(labels))

    ours, theirs = _both(programs_b.sparsemax_classifier, run)
    assert ours[2] == theirs[2] > 0  # sparse: some weights exactly zero
    _close(ours[:2], theirs[:2], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours[1].sum(1), 1.0, rtol=1e-12)
    assert ours[0][-1] < ours[0][0]


def test_bernoulli_rbm_with_sign_sampling_and_free_energy_contrastive_divergence_matches_pytorch(
        monkeypatch):
    rng = np.random.default_rng(1304)
    images = (rng.uniform(size=(8, 1, 3, 4)) < 0.4).astype(np.float64)

    def run(lib, model):
        data = lib.utils.data
        loader = data.DataLoader(data.TensorDataset(lib.tensor(images),
                                                    lib.zeros(8, dtype=lib.int64)), batch_size=4)
        with monkeypatch.context() as m:
            _shared_rand(m, lib, 1305)
            return programs_b.train_rbm(lib, model, loader)

    ours, theirs = _both(programs_b.rbm, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_nalu_with_uninitialised_tensor_parameters_and_log_space_products_matches_pytorch():
    rng = np.random.default_rng(1306)
    x = rng.uniform(0.5, 2.0, (10, 2))
    y = (x[:, :1] * x[:, 1:])

    def run(lib, net):
        return programs_c.train_nalu(lib, net, lib.tensor(x), lib.tensor(y))

    ours, theirs = _both(programs_c.nalu, run)
    assert ours[1] == theirs[1]
    _close(ours[0], theirs[0], rtol=1e-9, atol=1e-11)
    assert ours[0][-1][0] < ours[0][0][0]


def test_lookahead_subclass_without_optimizer_init_under_step_lr_matches_pytorch():
    rng = np.random.default_rng(1307)
    x = rng.standard_normal((10, 3))
    y = np.sin(x.sum(1, keepdims=True))

    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(3, 6), lib.nn.Tanh(), lib.nn.Linear(6, 1))

    def run(lib, net):
        return programs_c.train_lookahead(lib, net, lib.tensor(x), lib.tensor(y))

    ours, theirs = _both(build, run)
    assert ours[3:] == theirs[3:] == ([0], ["fast_state", "param_groups", "slow_state"], 4)
    _close(ours[:3], theirs[:3], rtol=1e-9, atol=1e-11)
    assert ours[0][-1] < ours[0][0]


def test_byol_with_hooked_hidden_layer_deepcopied_target_and_ema_matches_pytorch():
    rng = np.random.default_rng(1308)
    base = rng.standard_normal((6, 6))
    views = [(base + 0.1 * rng.standard_normal(base.shape),
              base + 0.1 * rng.standard_normal(base.shape)) for _ in range(2)]

    def run(lib, learner):
        return programs_c.train_byol(lib, learner, [tuple(lib.tensor(v) for v in pair)
                                                    for pair in views])

    ours, theirs = _both(programs_c.byol, run)
    assert ours[2] and theirs[2]
    assert sorted(ours[1]) == sorted(theirs[1])
    net = [k for k in ours[1] if k.startswith("net.")]
    _close([ours[0], [ours[1][k] for k in net], ours[3]],
           [theirs[0], [theirs[1][k] for k in net], theirs[3]], rtol=1e-9, atol=1e-11)
    # the projector's biases before a BatchNorm (its own, the predictor's) have gradients of
    # exactly zero: Adam scales the two libraries' different rounding noise there, about 1e-16,
    # by lr / eps, so those biases, the running means and the eval-mode projection through them
    # agree to about 1e-10 (the noise itself varies with the arrays' alignment in memory)
    _close({k: v for k, v in ours[1].items() if k not in net},
           {k: v for k, v in theirs[1].items() if k not in net}, rtol=0, atol=1e-9)
    _close(ours[4], theirs[4], rtol=0, atol=1e-9)


def test_swav_sinkhorn_codes_with_renormalised_and_frozen_prototypes_matches_pytorch():
    rng = np.random.default_rng(1309)
    crops = [[rng.standard_normal((4, 5)) for _ in range(2)] for _ in range(2)]

    def run(lib, model):
        return programs_c.train_swav(lib, model, [[lib.tensor(c) for c in pair]
                                                  for pair in crops])

    ours, theirs = _both(programs_c.swav, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    rows = np.linalg.norm(ours[1]["prototypes.weight"], axis=1)
    assert not np.allclose(rows, 1.0)  # the last step moved them off the sphere again


def test_ncf_neumf_with_topk_take_hit_ratio_and_ndcg_matches_pytorch():
    rng = np.random.default_rng(1310)
    users = np.repeat(np.arange(5), 4)
    items = rng.integers(0, 7, 20)
    labels = (((users + items) % 3) == 0).astype(np.int64)
    test_users = np.repeat(np.arange(5), 4)
    test_items = np.stack([rng.permutation(7)[:4] for _ in range(5)]).ravel()

    def run(lib, model):
        data = lib.utils.data
        train = data.DataLoader(data.TensorDataset(lib.tensor(users), lib.tensor(items),
                                                   lib.tensor(labels)), batch_size=8)
        test = data.DataLoader(data.TensorDataset(lib.tensor(test_users), lib.tensor(test_items),
                                                  lib.zeros(20, dtype=lib.int64)), batch_size=4)
        return programs_d.train_ncf(lib, model, train, test)

    # float32 as the program runs (label.float() against the model's logits)
    ours, theirs = _both(programs_d.ncf, run, double=False)
    _close(ours, theirs, rtol=2e-5, atol=1e-6)
    assert np.mean(ours[0][-3:]) < np.mean(ours[0][:3])  # the last epoch's batches


def test_kuangliu_densenet_with_concatenated_features_and_cosine_annealing_matches_pytorch():
    rng = np.random.default_rng(1311)
    x = rng.standard_normal((4, 3, 32, 32))  # CIFAR's size: three transitions then a 4x4 pool
    y = np.arange(4) % 3

    def run(lib, net):
        data = lib.utils.data
        loader = data.DataLoader(data.TensorDataset(lib.tensor(x), lib.tensor(y)), batch_size=2)
        return programs_d.train_cifar(lib, net, loader, loader)

    ours, theirs = _both(lambda lib: programs_d.densenet(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_highway_network_over_module_lists_matches_pytorch():
    rng = np.random.default_rng(1312)
    x = rng.standard_normal((12, 5))
    y = np.tanh(x[:, :1] - x[:, 1:2])

    def run(lib, net):
        opt = lib.optim.SGD(net.parameters(), lr=0.1)
        losses = []
        for _ in range(10):
            loss = lib.nn.functional.mse_loss(net(lib.tensor(x)), lib.tensor(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    ours, theirs = _both(programs_d.highway, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    assert ours[-1] < ours[0]


@pytest.mark.filterwarnings("ignore:.*xavier_uniform. is now deprecated:FutureWarning")
@pytest.mark.parametrize("gcn", [False, True])
def test_graphsage_mean_aggregator_with_index_put_mask_and_frozen_features_matches_pytorch(gcn):
    rng = np.random.default_rng(1313)
    n = 10
    feat = rng.standard_normal((n, 4)).astype(np.float32)
    labels = (np.arange(n) % 3).reshape(-1, 1)
    adj = {i: {(i + 1) % n, (i - 1) % n, (i * 3) % n} - {i} for i in range(n)}

    def build(lib):
        return programs_e.graphsage(lib, feat, adj, gcn=gcn)

    def run(lib, model):
        return programs_e.train_graphsage(lib, model, labels, list(range(7)), [7, 8, 9])

    # float32 as written (torch.FloatTensor features and weights)
    ours, theirs = _both(build, run, double=False)
    assert ours[2] == theirs[2]
    _close(ours[:2], theirs[:2], rtol=2e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:size_average and reduce args will be deprecated")
@pytest.mark.filterwarnings("ignore:This overload of add_ is deprecated")
def test_mean_teacher_with_detached_ema_model_and_deprecated_add_overload_matches_pytorch():
    rng = np.random.default_rng(1314)
    batches = []
    for _ in range(2):
        x = rng.standard_normal((6, 4))
        y = rng.integers(0, 3, 6)
        y[::2] = programs_f.NO_LABEL  # half the batch unlabelled
        batches.append((x, x + 0.1 * rng.standard_normal(x.shape), y))

    def run(lib, both):
        data = [((lib.tensor(a), lib.tensor(b)), lib.tensor(c)) for a, b, c in batches]
        return programs_f.train_mean_teacher(lib, both, data)

    ours, theirs = _both(programs_f.mean_teacher, run)
    assert ours[1] == theirs[1] == [False] * 4  # the EMA model's parameters never get grads
    assert [h[3] for h in ours[0]] == [h[3] for h in theirs[0]] == [3] * 6
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)
