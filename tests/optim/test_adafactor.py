"""Adafactor against torch.optim.Adafactor: 20-step trajectories (factored matrices, vectors, a
3-D and a 0-D parameter), parameter groups, state dicts (layout; resuming mid-run equal to an
uninterrupted run), positional order and errors."""

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.kernel_free]

CONFIGS = [
    {},
    {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
    {"lr": 0.1, "beta2_decay": -0.5, "eps": (1e-4, 1e-2), "d": 1.5},
    {"lr": 0.2, "eps": (0.0, 0.0), "weight_decay": 0.3},
]
TOL = {np.float32: {"rtol": 2e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-14}}


def _pair(init, kwargs, dtype, groups=lambda ps: ps):
    ours = [cr.tensor(a.astype(dtype), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in init]
    return (ours, optim.Adafactor(groups(ours), **kwargs),
            theirs, torch.optim.Adafactor(groups(theirs), **kwargs))


def _grads(rng, init, dtype):
    return [rng.standard_normal(a.shape).astype(dtype) for a in init]


def _step(ours, opt, grads, theirs=None, topt=None):
    for p, g in zip(ours, grads, strict=True):
        p.grad = cr.Tensor(g.copy())
    opt.step()
    if theirs is not None:
        for t, g in zip(theirs, grads, strict=True):
            t.grad = torch.from_numpy(g.copy())
        topt.step()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", CONFIGS)
def test_trajectory_matches_torch(problem, kwargs, dtype):
    """The shared problems (a matrix and a vector; an MLP) with their own gradients."""
    ours, opt, theirs, topt = _pair(problem.init, kwargs, dtype)
    for _ in range(20):
        problem.set_grads(ours)
        for t, g in zip(theirs, problem.grads([t.detach().numpy() for t in theirs]), strict=True):
            t.grad = torch.from_numpy(g)
        opt.step()
        topt.step()
        for a, b in zip(ours, theirs, strict=True):
            assert a.dtype == dtype
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL[dtype])
    assert not np.allclose(ours[0].numpy(), problem.init[0])


@pytest.mark.parametrize("kwargs", CONFIGS[:2])
def test_three_and_zero_dimensional_parameters_match_torch(rng, kwargs):
    """A 3-D parameter is factored over its last two axes; a 0-D one keeps a full variance."""
    init = [rng.standard_normal((2, 3, 4)), np.array(0.7), rng.standard_normal((1, 5))]
    ours, opt, theirs, topt = _pair(init, kwargs, np.float64)
    for _ in range(20):
        _step(ours, opt, _grads(rng, init, np.float64), theirs, topt)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL[np.float64])
    assert opt.state[ours[0]]["row_var"].shape == (2, 3, 1)
    assert opt.state[ours[0]]["col_var"].shape == (2, 1, 4)
    assert opt.state[ours[1]]["variance"].shape == ()


def test_param_groups_match_torch(problem):
    def groups(ps):
        return [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.003, "weight_decay": 0.2}]

    ours, opt, theirs, topt = _pair(problem.init, {"lr": 0.05}, np.float64, groups)
    for _ in range(10):
        problem.set_grads(ours)
        for t, g in zip(theirs, problem.grads([t.detach().numpy() for t in theirs]), strict=True):
            t.grad = torch.from_numpy(g)
        opt.step()
        topt.step()
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL[np.float64])


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_state_dict_layout_matches_torch(rng, kwargs):
    init = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    ours, opt, theirs, topt = _pair(init, kwargs, np.float64)
    for _ in range(3):
        _step(ours, opt, _grads(rng, init, np.float64), theirs, topt)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert list(sd["state"]) == list(tsd["state"])
    for k, state in sd["state"].items():
        assert sorted(state) == sorted(tsd["state"][k])
        for key, value in state.items():
            np.testing.assert_allclose(value, np.asarray(tsd["state"][k][key]), rtol=1e-12)
    step = sd["state"][0]["step"]  # a 0-d float32 Tensor, as PyTorch's
    assert isinstance(step, cr.Tensor) and step.dtype == cr.float32 and step.item() == 3
    for key, value in tsd["param_groups"][0].items():
        assert sd["param_groups"][0][key] == value, key


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_resume_mid_run_equals_uninterrupted_run(rng, kwargs):
    init = [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((2, 2, 3))]
    grads = [_grads(rng, init, np.float64) for _ in range(15)]
    ours = [cr.tensor(a.copy(), requires_grad=True) for a in init]
    opt = optim.Adafactor(ours, **kwargs)
    for g in grads[:7]:
        _step(ours, opt, g)
    saved = opt.state_dict()
    again = [cr.tensor(p.numpy().copy(), requires_grad=True) for p in ours]
    for g in grads[7:]:
        _step(ours, opt, g)
    resumed = optim.Adafactor(again, **kwargs)
    resumed.load_state_dict(saved)
    for g in grads[7:]:
        _step(again, resumed, g)
    for a, b in zip(ours, again, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_load_refuses_a_factor_of_another_shape(rng):
    p = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    opt = optim.Adafactor([p])
    _step([p], opt, [rng.standard_normal((3, 4))])
    sd = opt.state_dict()
    sd["state"][0]["row_var"] = np.zeros((4, 1))
    with pytest.raises(ValueError, match=r"'row_var' has shape \(4, 1\) .* needs \(3, 1\)"):
        optim.Adafactor([p]).load_state_dict(sd)


def test_signature_matches_torch():
    ours = inspect.signature(optim.Adafactor).parameters
    theirs = inspect.signature(torch.optim.Adafactor).parameters
    assert [(k, p.kind) for k, p in ours.items()] == [(k, p.kind) for k, p in theirs.items()]
    for key in list(ours)[1:]:
        assert ours[key].default == theirs[key].default, key


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"lr": -1.0}, "lr must be a number >= 0, got -1.0"),
    ({"beta2_decay": 0.5}, r"beta2_decay must be a number in \[-inf, 0\], got 0.5"),
    ({"eps": (-1.0, 1e-3)}, r"eps\[0\] must be a number >= 0, got -1.0"),
    ({"eps": 1e-3}, r"eps must be a pair \(eps1, eps2\), got 0.001"),
    ({"d": 0.5}, "d must be a number >= 1, got 0.5"),
    ({"weight_decay": -0.1}, "weight_decay must be a number >= 0, got -0.1"),
])
def test_bad_hyperparameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match="Adafactor: " + match):
        optim.Adafactor([cr.zeros(3, requires_grad=True)], **kwargs)
    if "eps must be a pair" not in match:  # PyTorch indexes the number: a TypeError
        with pytest.raises(ValueError):
            torch.optim.Adafactor([torch.zeros(3, requires_grad=True)], **kwargs)
