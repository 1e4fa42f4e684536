"""NAdam, RAdam, Adamax, Rprop and ASGD against torch.optim: 30-step trajectories on the shared
problems (float64 to 1e-11 with PyTorch's scalar state in float64 too), parameter groups, state
dicts (layout, and resuming mid-run equal to an uninterrupted run), positional order, errors."""

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.kernel_free]

CONFIGS = [
    ("NAdam", {}),
    ("NAdam", {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1, "momentum_decay": 0.02}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True,
               "maximize": True}),
    ("RAdam", {"lr": 0.05}),
    ("RAdam", {"lr": 0.05, "betas": (0.5, 0.9), "weight_decay": 0.1, "eps": 1e-3}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True,
               "maximize": True}),
    ("Adamax", {"lr": 0.05}),
    ("Adamax", {"lr": 0.05, "betas": (0.7, 0.9), "weight_decay": 0.1, "eps": 1e-3,
                "maximize": True}),
    ("Rprop", {"lr": 0.05}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2), "maximize": True}),
    ("ASGD", {"lr": 0.05}),
    ("ASGD", {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 5, "weight_decay": 0.1,
              "maximize": True}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CONFIGS)]
TOL = {np.float32: {"rtol": 2e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-11, "atol": 1e-13}}


@pytest.fixture
def torch_dtype(request):
    """NAdam's mu_product and ASGD's eta and mu are in the default dtype's scalar dtype, in
    both libraries: the same default in both."""
    old, ours = torch.get_default_dtype(), cr.get_default_dtype()

    def use(dtype):
        torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
        cr.set_default_dtype(cr.float64 if dtype == np.float64 else cr.float32)

    yield use
    torch.set_default_dtype(old)
    cr.set_default_dtype(ours)


def _pair(problem, name, kwargs, dtype, groups=None):
    ours = problem.params(dtype)
    theirs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in problem.init]
    wrap = groups or (lambda ps: ps)
    return (ours, getattr(optim, name)(wrap(ours), **kwargs),
            theirs, getattr(torch.optim, name)(wrap(theirs), **kwargs))


def _step(problem, ours, opt, theirs=None, topt=None):
    problem.set_grads(ours)
    opt.step()
    if theirs is not None:
        grads = problem.grads([t.detach().numpy() for t in theirs])
        for t, g in zip(theirs, grads, strict=True):
            t.grad = torch.from_numpy(g)
        topt.step()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_trajectory_matches_torch(problem, torch_dtype, name, kwargs, dtype):
    torch_dtype(dtype)
    ours, opt, theirs, topt = _pair(problem, name, kwargs, dtype)
    for _ in range(30):
        _step(problem, ours, opt, theirs, topt)
        for a, b in zip(ours, theirs, strict=True):
            assert a.dtype == dtype
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL[dtype])
    assert not np.allclose(ours[0].numpy(), problem.init[0])
    if name == "ASGD":
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(opt.state[a]["ax"], topt.state[b]["ax"].numpy(),
                                       **TOL[dtype])


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "Adamax", "Rprop", "ASGD"])
def test_param_groups_match_torch(problem, torch_dtype, name):
    torch_dtype(np.float64)

    def groups(ps):
        return [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.003}]

    ours, opt, theirs, topt = _pair(problem, name, {"lr": 0.02}, np.float64, groups)
    for _ in range(10):
        _step(problem, ours, opt, theirs, topt)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL[np.float64])


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_state_dict_layout_matches_torch(problem, torch_dtype, name, kwargs):
    torch_dtype(np.float64)
    ours, opt, theirs, topt = _pair(problem, name, kwargs, np.float64)
    for _ in range(3):
        _step(problem, ours, opt, theirs, topt)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert list(sd["state"]) == list(tsd["state"])
    for k, state in sd["state"].items():
        assert list(state) == list(tsd["state"][k])
        for key, value in state.items():
            np.testing.assert_allclose(value, np.asarray(tsd["state"][k][key]), rtol=1e-12)
    for key, value in sd["param_groups"][0].items():
        assert tsd["param_groups"][0][key] == value, key


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_resume_mid_run_equals_uninterrupted_run(problem, name, kwargs):
    ours, opt = problem.params(np.float64), None
    opt = getattr(optim, name)(ours, **kwargs)
    for _ in range(7):
        _step(problem, ours, opt)
    saved = opt.state_dict()
    again = [cr.tensor(p.numpy().copy(), requires_grad=True) for p in ours]
    for _ in range(8):
        _step(problem, ours, opt)
    resumed = getattr(optim, name)(again, **kwargs)
    resumed.load_state_dict(saved)
    for _ in range(8):
        _step(problem, again, resumed)
    for a, b in zip(ours, again, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "Adamax", "Rprop", "ASGD", "RMSprop",
                                  "Adadelta", "Adagrad", "Adam"])
def test_signature_matches_torch(name):
    """The same positional order and the same keyword-only names (foreach=, capturable=, ...)."""
    ours = inspect.signature(getattr(optim, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    positional = [k for k, p in theirs.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert [k for k, p in ours.items() if p.kind is p.POSITIONAL_OR_KEYWORD] == positional
    assert set(ours) == set(theirs)
    for key in list(ours)[1:]:
        assert ours[key].default == theirs[key].default, key
    assert "maximize" in ours


_BAD_ARGUMENTS_ARE_NAMED = [
    (lambda ps: optim.NAdam(ps, lr=-1.0), "NAdam: lr must be a number >= 0, got -1.0"),
    (lambda ps: optim.NAdam(ps, betas=(0.9, 1.0)), r"betas\[1\] must be a number in \[0, 1\)"),
    (lambda ps: optim.NAdam(ps, momentum_decay=-0.1), "momentum_decay must be a number >= 0"),
    (lambda ps: optim.NAdam(ps, decoupled_weight_decay=1), "decoupled_weight_decay must be True"),
    (lambda ps: optim.RAdam(ps, betas=0.9), r"betas must be a pair \(beta1, beta2\), got 0.9"),
    (lambda ps: optim.RAdam(ps, eps=-1e-8), "eps must be a number >= 0"),
    (lambda ps: optim.Adamax(ps, weight_decay=-0.1), "weight_decay must be a number >= 0"),
    (lambda ps: optim.Adamax(ps, foreach="yes"), "foreach must be True or False"),
    (lambda ps: optim.Rprop(ps, etas=(1.2, 0.5)), "0 < eta_minus < 1 < eta_plus"),
    (lambda ps: optim.Rprop(ps, step_sizes=(1.0, 0.1)), "step_min <= step_max"),
    (lambda ps: optim.Rprop(ps, etas=0.5), "etas must be a pair of numbers"),
    (lambda ps: optim.ASGD(ps, alpha=-1), "alpha must be a number >= 0"),
    (lambda ps: optim.ASGD(ps, maximize="no"), "maximize must be True or False"),
    (lambda ps: optim.NAdam([{"params": ps, "betas": (2, 0.9)}]), r"param group 0"),
]


def _bad_arguments_are_named_case(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make([cr.tensor([1.0], requires_grad=True)])


def test_bad_arguments_are_named():
    each_case(_bad_arguments_are_named_case, grid((("make", "match"), _BAD_ARGUMENTS_ARE_NAMED)))


def test_rprop_ignores_later_lr_changes_as_torch():
    start = np.array([1.0, -2.0])
    p, t = cr.tensor(start, requires_grad=True), torch.tensor(start, requires_grad=True)
    opt, topt = optim.Rprop([p], lr=0.1), torch.optim.Rprop([t], lr=0.1)
    for i in range(6):
        g = np.array([1.0, -1.0]) * (-1) ** (i // 2)
        p.grad, t.grad = cr.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        opt.param_groups[0]["lr"] = topt.param_groups[0]["lr"] = 5.0
    np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-15)
