"""port19_programs.py (wave 19, part one) runs unchanged on PyTorch and on chainrule: from the same
weights and data the losses, target networks, learning-rate histories, fused and fine-tuned
models and forecasts agree to float64 rounding; the programs also learn in float32."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port19_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def _mlp(lib, d_in=3, hidden=5, d_out=1):
    return lib.nn.Sequential(
        lib.nn.Linear(d_in, hidden), lib.nn.Tanh(), lib.nn.Linear(hidden, d_out)
    )


def _dqn_data(seed):
    rng = np.random.default_rng(seed)
    states = rng.standard_normal((9, 4))
    actions, dones = [0, 1, 1, 0, 1, 0, 0, 1], [0, 0, 1, 0, 0, 0, 1, 0]
    rewards = rng.uniform(0, 1, 8).tolist()
    return states, actions, rewards, dones, [[0, 2, 3, 5], [1, 4, 5, 3], [5, 0, 2, 1]]


def test_dqn_optimize_model_with_soft_target_updates_matches_pytorch():
    states, actions, rewards, dones, picks = _dqn_data(1900)

    def run(lib, policy):
        target = programs.dqn_net(lib).double()  # overwritten from the policy net first
        return programs.train_dqn(
            lib, policy, target, lib.tensor(states), actions, rewards, dones, picks
        )

    ours, theirs = _both(programs.dqn_net, run)
    assert ours["len"] == theirs["len"] == 6
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_lr_range_test_with_a_scheduler_subclass_and_reset_matches_pytorch():
    rng = np.random.default_rng(1901)
    x = rng.standard_normal((8, 3))
    y = np.sin(x.sum(1, keepdims=True))
    ours, theirs = _both(
        _mlp, lambda lib, m: programs.lr_finder(lib, m, lib.tensor(x), lib.tensor(y))
    )
    assert ours.pop("initial_lr") is theirs.pop("initial_lr") is None  # the reset dropped it
    assert ours["stopped_at"] < 12  # the loss diverged before end_lr
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    _close(
        ours["restored"],
        _both(_mlp, lambda lib, m: {k: v.detach().numpy() for k, v in m.state_dict().items()})[0],
        rtol=0,
        atol=0,
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda lib, o: lib.optim.lr_scheduler.LambdaLR(o, lambda e: 0.5**e),
        lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4),
    ],
)
def test_a_scheduler_made_after_load_state_dict_starts_from_the_loaded_lr(make):
    """Loading an optimizer's state replaces its param groups, as PyTorch's: an ``initial_lr``
    that an earlier scheduler wrote does not survive to become a new scheduler's base lr (before,
    chainrule kept it and scaled the schedule from the stale value)."""
    lrs = {}
    for lib in (chainrule, torch):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(2))], lr=1.0)
        saved = copy.deepcopy(opt.state_dict())
        make(lib, opt)  # writes initial_lr = 1.0 ...
        opt.param_groups[0]["initial_lr"] = 1e-3  # ... here a stale one from another run
        opt.load_state_dict(saved)
        assert "initial_lr" not in opt.param_groups[0]
        sched = make(lib, opt)
        for _ in range(3):
            opt.step()
            sched.step()
        lrs[lib.__name__] = sched.base_lrs + sched.get_last_lr()
    assert lrs["chainrule"][0] == 1.0
    np.testing.assert_allclose(lrs["chainrule"], lrs["torch"], rtol=1e-12)


def test_model_surgery_swap_fuse_and_freeze_matches_pytorch():
    rng = np.random.default_rng(1902)
    x, y = rng.standard_normal((2, 3, 5, 5)), np.array([1, 3])
    ours, theirs = _both(
        programs.conv_net, lambda lib, m: programs.surgery(lib, m, lib.tensor(x), lib.tensor(y))
    )
    for key in ("fused_keys", "trainable", "kinds"):
        assert ours.pop(key) == theirs.pop(key), key
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours["fused"], ours["swapped"], rtol=1e-10, atol=1e-12)


def test_lstm_forecaster_on_unfolded_windows_matches_pytorch():
    rng = np.random.default_rng(1903)
    series = np.sin(np.arange(20) * 0.5) + 0.1 * rng.standard_normal(20)
    ours, theirs = _both(
        programs.forecaster, lambda lib, m: programs.train_forecaster(lib, m, lib.tensor(series))
    )
    assert ours["window_strides"] == [1, 1] and ours["n_windows"] == 15
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_programs_learn_in_float32_from_chainrule_draws():
    chainrule.manual_seed(19)
    rng = np.random.default_rng(1904)
    x = chainrule.tensor(rng.standard_normal((8, 3)), dtype=chainrule.float32)
    y = chainrule.sin(x.sum(1, keepdim=True))
    out = programs.lr_finder(chainrule, _mlp(chainrule), x, y)
    assert min(out["history"]["loss"]) < out["history"]["loss"][0]
    series = chainrule.tensor(np.sin(np.arange(24) * 0.5), dtype=chainrule.float32)
    out = programs.train_forecaster(chainrule, programs.forecaster(chainrule), series, epochs=8)
    assert np.mean(out["losses"][-5:]) < np.mean(out["losses"][:5])
    assert out["forecast"].dtype == np.float32
