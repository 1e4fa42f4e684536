"""port13_programs.py and port13b_programs.py run unchanged on PyTorch and on chainrule from the
same weights: losses, learning rates, outputs and final parameters agree to float64 rounding
(float32 runs to float32 rounding)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from . import port13_programs as programs  # noqa: E402
from . import port13b_programs as programs_b  # noqa: E402
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
