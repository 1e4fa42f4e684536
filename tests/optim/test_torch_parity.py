"""Trajectories of every optimizer against torch.optim over 20 steps on the same problems."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

from .._case_loop import each_case, grid, with_rng

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "maximize": True}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "eps": 1e-3, "maximize": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1,
                 "initial_accumulator_value": 0.1}),
    ("Adagrad", {"lr": 0.1, "eps": 1e-6, "maximize": True}),
    ("Adadelta", {"lr": 1.0}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1}),
    ("Adadelta", {"lr": 1.0, "maximize": True}),
]

IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CONFIGS)]
TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-11, "atol": 1e-13}}


def _run_both(torch, problem, name, kwargs, dtype, steps=20, groups=None):
    """Step our optimizer and torch's side by side; yield both parameter lists after each step."""
    ours = problem.params(dtype)
    theirs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in problem.init]
    if groups is None:
        opt = getattr(optim, name)(ours, **kwargs)
        topt = getattr(torch.optim, name)(theirs, **kwargs)
    else:
        opt = getattr(optim, name)(groups(ours), **kwargs)
        topt = getattr(torch.optim, name)(groups(theirs), **kwargs)
    for _ in range(steps):
        problem.set_grads(ours)
        for t, g in zip(theirs, problem.grads([t.detach().numpy() for t in theirs]), strict=True):
            t.grad = torch.from_numpy(g)
        opt.step()
        topt.step()
        yield [p._data for p in ours], [t.detach().numpy() for t in theirs]


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_trajectory_matches_torch(problem, name, kwargs, dtype):
    torch = pytest.importorskip("torch")
    moved = False
    for ours, theirs in _run_both(torch, problem, name, kwargs, dtype):
        for a, b, init in zip(ours, theirs, problem.init, strict=True):
            assert a.dtype == dtype
            np.testing.assert_allclose(a, b, **TOL[dtype])
            moved = moved or not np.allclose(a, init.astype(dtype))
    assert moved


@pytest.mark.torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_param_groups_match_torch(problem, name):
    torch = pytest.importorskip("torch")

    def groups(ps):
        return [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.003, "weight_decay": 0.2}]

    for ours, theirs in _run_both(torch, problem, name, {"lr": 0.02}, np.float64, groups=groups):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a, b, **TOL[np.float64])


def _state_dict_layout_matches_torch_case(rng, name, kwargs):
    torch = pytest.importorskip("torch")
    init = [rng.standard_normal((2, 3)), rng.standard_normal(3)]
    ours = [cr.tensor(a, requires_grad=True) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    opt = getattr(optim, name)(ours, **kwargs)
    topt = getattr(torch.optim, name)(theirs, **kwargs)
    for p, t in zip(ours, theirs, strict=True):
        g = rng.standard_normal(p.shape)
        p.grad, t.grad = cr.tensor(g), torch.from_numpy(g)
    opt.step()
    topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for k, state in sd["state"].items():
        assert set(state) == set(tsd["state"][k])
        for key, value in state.items():
            np.testing.assert_allclose(value, np.asarray(tsd["state"][k][key]), rtol=1e-12)
    assert sd["param_groups"][0]["params"] == tsd["param_groups"][0]["params"]
    for key, value in sd["param_groups"][0].items():
        assert tsd["param_groups"][0][key] == value


@pytest.mark.torch
def test_state_dict_layout_matches_torch():
    each_case(with_rng(_state_dict_layout_matches_torch_case), grid(
        (("name", "kwargs"), CONFIGS[1::3], IDS[1::3]),
    ))


@pytest.mark.torch
def test_adagrad_starts_each_groups_sum_at_that_groups_initial_accumulator_value():
    # A difference on purpose (docs/pytorch.md): PyTorch starts every sum at the constructor's
    # value and ignores a group's own; chainrule takes the group's, as for any hyperparameter.
    torch = pytest.importorskip("torch")
    ours = [cr.tensor([1.0], dtype=cr.float64, requires_grad=True) for _ in range(2)]
    theirs = [torch.ones(1, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    opt = optim.Adagrad([{"params": ours[:1]}, {"params": ours[1:], "initial_accumulator_value":
                                                 3.0}], lr=0.1)
    topt = torch.optim.Adagrad([{"params": theirs[:1]}, {"params": theirs[1:],
                                                         "initial_accumulator_value": 3.0}], lr=0.1)
    for p, t in zip(ours, theirs, strict=True):
        p.grad, t.grad = cr.ones_like(p), torch.ones_like(t)
    opt.step()
    topt.step()
    assert opt.state[ours[1]]["sum"].tolist() == [4.0]  # 3 + 1**2
    assert topt.state[theirs[1]]["sum"].tolist() == [1.0]  # 0 + 1**2: the group's 3 is ignored
    np.testing.assert_allclose(ours[1].numpy(), 1.0 - 0.1 / (2.0 + 1e-10), rtol=1e-15)
    np.testing.assert_allclose(ours[0].numpy(), theirs[0].detach().numpy(), rtol=1e-15)
