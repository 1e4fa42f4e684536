"""port19d_programs.py (wave 19, part four: an SGD-derived optimizer with ``lr=required`` and its
own ``__setstate__``, temperature scaling with LBFGS and ECE, a sparsely-gated mixture of
experts) runs unchanged on PyTorch and on chainrule: from the same weights and data the losses,
param groups, temperatures, calibration errors and final parameters agree to float64 rounding;
the programs also learn in float32."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port19d_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def _mlp(lib, d_in=3, hidden=5, d_out=1):
    return lib.nn.Sequential(
        lib.nn.Linear(d_in, hidden), lib.nn.Tanh(), lib.nn.Linear(hidden, d_out)
    )


def test_sgd_derived_optimizer_with_required_lr_and_setstate_matches_pytorch():
    rng = np.random.default_rng(1930)
    x = rng.standard_normal((10, 3))
    y = np.sin(x.sum(1, keepdims=True))
    ours, theirs = _both(
        _mlp, lambda lib, m: programs.train_sgdw(lib, m, lib.tensor(x), lib.tensor(y))
    )
    for key in ("refused", "required", "twin_groups", "groups"):
        assert ours.pop(key) == theirs.pop(key), key
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_required_setstate_and_load_state_dict_follow_pytorch():
    """``torch.optim.optimizer.required`` exists and a group without it is refused; the base
    class has ``__setstate__`` (a subclass's ``super().__setstate__(state)`` in ``deepcopy``
    raised AttributeError), and ``load_state_dict`` goes through it, so a subclass's hook runs
    and a key the checkpoint lacks is the subclass's default, not the live group's value."""
    from chainrule.optim.optimizer import Optimizer, required

    class Opt(Optimizer):
        def __init__(self, params, lr=required, flag=False):
            super().__init__(params, dict(lr=lr, flag=flag))

        def __setstate__(self, state):
            super().__setstate__(state)
            for group in self.param_groups:
                group.setdefault("flag", "filled by __setstate__")

    p = chainrule.nn.Parameter(chainrule.ones(2))
    with pytest.raises(
        ValueError, match="didn't specify a value of required optimization parameter lr"
    ):
        Opt([p])
    opt = Opt([p], lr=0.1, flag=True)
    assert copy.deepcopy(opt).param_groups[0]["lr"] == 0.1
    saved = opt.state_dict()
    del saved["param_groups"][0]["flag"]
    opt.load_state_dict(saved)
    assert opt.param_groups[0]["flag"] == "filled by __setstate__"


def test_temperature_scaling_with_lbfgs_and_ece_matches_pytorch():
    rng = np.random.default_rng(1931)
    x, y = rng.standard_normal((40, 4)), rng.integers(0, 3, 40)
    w = rng.standard_normal((3, 4)) * 3  # an overconfident classifier

    def run(lib):
        model = lib.nn.Sequential(lib.nn.Linear(4, 3))
        with lib.no_grad():
            model[0].weight.copy_(lib.tensor(w))
            model[0].bias.zero_()
        return programs.temperature_scaling(lib, model, lib.tensor(x), lib.tensor(y))

    ours, theirs = run(chainrule), run(torch)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    assert ours["temperature"] > 1.5 and ours["after"][0] < ours["before"][0]


def test_sparsely_gated_mixture_of_experts_matches_pytorch():
    rng = np.random.default_rng(1932)
    x, y = rng.standard_normal((12, 4)), rng.integers(0, 3, 12)
    noises = [rng.standard_normal((12, 4)) for _ in range(3)]
    ours, theirs = _both(
        programs.moe,
        lambda lib, m: programs.train_moe(
            lib, m, lib.tensor(x), lib.tensor(y), [lib.tensor(n) for n in noises]
        ),
    )
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_programs_learn_in_float32_from_chainrule_draws():
    chainrule.manual_seed(19)
    rng = np.random.default_rng(1933)
    x = chainrule.tensor(rng.standard_normal((16, 3)), dtype=chainrule.float32)
    out = programs.train_sgdw(chainrule, _mlp(chainrule), x, x.sum(1, keepdim=True).sin(), steps=10)
    assert out["losses"][-1] < out["losses"][0]
    x = chainrule.tensor(rng.standard_normal((24, 4)), dtype=chainrule.float32)
    y = chainrule.tensor((rng.standard_normal(24) > 0).astype(np.int64))
    noises = [chainrule.randn(24, 4) for _ in range(12)]
    out = programs.train_moe(chainrule, programs.moe(chainrule), x, y, noises)
    assert np.mean([h[0] for h in out["history"][-3:]]) < out["history"][0][0]
