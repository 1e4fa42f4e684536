"""port19c_programs.py (wave 19, part three: DDPG, VICReg, sub-pixel convolution with ICNR
init, GradNorm) runs unchanged on PyTorch and on chainrule: from the same weights and data the
losses, target networks, task weights and final state dicts agree to float64 rounding; the
programs also learn in float32."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port19c_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def _transitions(seed, steps=3, n=5):
    rng = np.random.default_rng(seed)
    batches = [
        (
            rng.standard_normal((n, 3)),
            rng.uniform(-2, 2, (n, 2)),
            rng.standard_normal((n, 3)),
            rng.standard_normal((n, 1)),
            (rng.uniform(size=(n, 1)) > 0.2).astype(float),
        )
        for _ in range(steps)
    ]
    return batches, [rng.normal(0, 0.5, (1, 2)) for _ in range(steps)]


def test_ddpg_with_soft_target_updates_matches_pytorch():
    batches, noise = _transitions(1920)
    ours, theirs = _both(
        programs.ddpg_nets,
        lambda lib, m: programs.train_ddpg(
            lib,
            m,
            [tuple(lib.tensor(a) for a in b) for b in batches],
            [lib.tensor(e) for e in noise],
        ),
    )
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    assert np.abs(np.array(ours["history"])[:, 2:]).max() <= 2.0  # clamped to max_action


def test_vicreg_loss_and_training_match_pytorch():
    rng = np.random.default_rng(1921)
    view_a = rng.standard_normal((8, 5))
    view_b = view_a + 0.3 * rng.standard_normal((8, 5))
    ours, theirs = _both(
        programs.vicreg_nets,
        lambda lib, m: programs.train_vicreg(lib, m, lib.tensor(view_a), lib.tensor(view_b)),
    )
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    c = np.arange(16.0).reshape(4, 4)
    np.testing.assert_array_equal(
        programs.off_diagonal(chainrule.tensor(c)).numpy(), c[~np.eye(4, dtype=bool)]
    )


def test_subpixel_net_with_icnr_init_matches_pytorch():
    rng = np.random.default_rng(1922)
    lr_img, hr_img = rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((2, 3, 8, 8))
    sub_kernel = rng.uniform(-0.3, 0.3, (3, 4, 3, 3))
    ours, theirs = _both(
        programs.subpixel_net,
        lambda lib, m: programs.train_subpixel(
            lib, m, lib.tensor(lr_img), lib.tensor(hr_img), lib.tensor(sub_kernel)
        ),
    )
    assert ours["block_spread"] == theirs["block_spread"] == 0.0  # ICNR: no checkerboard
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_gradnorm_task_weights_match_pytorch():
    rng = np.random.default_rng(1923)
    x = rng.standard_normal((10, 4))
    targets = [rng.standard_normal((10, 1)), 5 * rng.standard_normal((10, 1))]
    ours, theirs = _both(
        programs.gradnorm_net,
        lambda lib, m: programs.train_gradnorm(
            lib, m, lib.tensor(x), [lib.tensor(t) for t in targets]
        ),
    )
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    weights = np.array(ours["history"])[:, -2:]
    np.testing.assert_allclose(weights.sum(1), 2.0, rtol=1e-12)  # renormalised to T
    assert weights[-1, 0] > 1.0 > weights[-1, 1]  # the easier task's weight went up


def test_programs_learn_in_float32_from_chainrule_draws():
    chainrule.manual_seed(19)
    rng = np.random.default_rng(1924)
    view_a = chainrule.tensor(rng.standard_normal((16, 5)), dtype=chainrule.float32)
    out = programs.train_vicreg(
        chainrule,
        programs.vicreg_nets(chainrule),
        view_a,
        view_a + 0.1 * chainrule.randn(16, 5),
        steps=12,
    )
    assert out["history"][-1][0] < out["history"][0][0]
    x = chainrule.tensor(rng.standard_normal((16, 4)), dtype=chainrule.float32)
    targets = [x[:, :1] * 2, x[:, 1:2] - x[:, 2:3]]
    out = programs.train_gradnorm(chainrule, programs.gradnorm_net(chainrule), x, targets, steps=15)
    assert sum(out["history"][-1][:2]) < sum(out["history"][0][:2])
