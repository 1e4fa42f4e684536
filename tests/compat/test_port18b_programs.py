"""port18b_programs.py (wave 18, part two) runs unchanged on PyTorch and on chainrule: the data
pipeline gives the same batches, splits and collated structures where neither library draws
(and draws only valid indices where they do); the trainings agree to float64 rounding from the
same weights, and learn from chainrule's own draws in float32."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port18b_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def _mlp(lib, d_in=3, hidden=5, d_out=1):
    return lib.nn.Sequential(lib.nn.Linear(d_in, hidden), lib.nn.Tanh(),
                             lib.nn.Linear(hidden, d_out))


def _imbalanced(seed, n=20):
    rng = np.random.default_rng(seed)
    y = np.array([0] * 14 + [1] * 4 + [2] * 2)
    x = np.column_stack([np.arange(n), rng.standard_normal((n, 2)) + y[:, None]])
    return x, y


def test_imbalanced_data_pipeline_matches_pytorch():
    x, y = _imbalanced(1810)
    ours, theirs = (programs.imbalanced_pipeline(lib, lib.tensor(x), lib.tensor(y))
                    for lib in (chainrule, torch))
    for got in (ours, theirs):  # drawn by each library's own generator: valid, not equal
        assert set(got.pop("drawn_classes")) <= {0, 1, 2} and got.pop("n_drawn") == 20
        assert set(got.pop("no_replacement")) <= {1, 2, 4}
        assert got.pop("collated_name") == ["s0", "s1", "s2"]
        assert got["named"].pop(0) == "Sample"
    assert ours["seen"] == [i for i in range(20) if i % 4]
    assert ours["split_disjoint"] == list(range(20))
    _close(ours, theirs, rtol=0, atol=0)


def test_optimizer_step_in_backward_matches_pytorch():
    rng = np.random.default_rng(1811)
    x = rng.standard_normal((10, 3))
    y = np.sin(x.sum(1, keepdims=True))
    ours, theirs = _both(_mlp, lambda lib, m: programs.optimizer_in_backward(
        lib, m, lib.tensor(x), lib.tensor(y)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    assert all(ours["grads_cleared"])


def test_maximize_with_step_and_state_dict_hooks_matches_pytorch():
    x = np.random.default_rng(1812).standard_normal((8, 3))
    ours, theirs = _both(lambda lib: lib.nn.Linear(3, 1),
                         lambda lib, m: programs.maximize_with_hooks(lib, m, lib.tensor(x)))
    assert ours.pop("log_kinds") == theirs.pop("log_kinds") == ["pre", "post"] * 2 + ["post"] * 2
    events = ours.pop("events"), theirs.pop("events")
    assert events[0][0] == events[1][0] == ["param_groups", "state"]
    assert events[0][1] == events[1][1] == pytest.approx(0.1 * 0.5 ** 4)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    assert ours["objectives"][-1] > ours["objectives"][0]


def test_checkpoint_upgraded_by_a_load_pre_hook_matches_pytorch():
    x = np.random.default_rng(1813).standard_normal((4, 3))

    def run(lib):
        net, fresh = (programs.versioned_net(lib).double() for _ in range(2))
        rng = np.random.default_rng(0)  # the same weights in both (the state has extra state)
        with lib.no_grad():
            for _, p in sorted(net.named_parameters()):
                p.copy_(lib.tensor(rng.uniform(-1, 1, tuple(p.shape))))
        return programs.upgrade_checkpoint(lib, net, fresh, lib.tensor(x))

    ours, theirs = run(chainrule), run(torch)
    for key in ("keys", "missing", "unexpected", "relaxed", "steps_seen", "params", "buffers"):
        assert ours.pop(key) == theirs.pop(key), key
    _close(ours, theirs, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(ours["same"], 0.0)


def test_max_norm_embedding_bag_classifier_matches_pytorch():
    rng = np.random.default_rng(1814)
    tokens, labels = rng.integers(0, 10, (6, 5)), rng.integers(0, 3, 6)

    def build(lib):
        model = programs.maxnorm_bag(lib)
        with lib.no_grad():  # rows well outside the max norms, so that renormalising shows
            model.emb.weight.mul_(3.0)
        return model

    ours, theirs = _both(build, lambda lib, m: programs.train_maxnorm_bag(
        lib, m, lib.tensor(tokens), lib.tensor(labels)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    assert ours["max_used_norm"] <= 1.0 + 1e-7


def test_evolution_strategies_through_flat_parameter_vectors_match_pytorch():
    rng = np.random.default_rng(1815)
    x = rng.standard_normal((16, 3))
    y = np.tanh(x[:, :1] * x[:, 1:2])
    noise = rng.standard_normal((5, 8, 26))
    ours, theirs = _both(_mlp, lambda lib, m: programs.evolution_strategies(
        lib, m, lib.tensor(x), lib.tensor(y), lib.tensor(noise)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_wave18_part_two_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    x, y = _imbalanced(1816, n=20)
    x[:, 0] = 0.0
    recalls = programs.train_balanced(chainrule, _mlp(chainrule, 3, 8, 3),
                                      chainrule.tensor(x, dtype=chainrule.float32),
                                      chainrule.tensor(y), epochs=25)
    assert min(recalls) >= 0.5, recalls
    rng = np.random.default_rng(1817)
    xs = rng.standard_normal((16, 3))
    out = programs.evolution_strategies(
        chainrule, _mlp(chainrule), chainrule.tensor(xs, dtype=chainrule.float32),
        chainrule.tensor(np.tanh(xs[:, :1]), dtype=chainrule.float32),
        chainrule.tensor(rng.standard_normal((30, 8, 26)), dtype=chainrule.float32))
    assert out["history"][-1] > out["history"][0]
