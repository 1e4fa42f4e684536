"""Muon against torch.optim.Muon: PyTorch runs its Newton-Schulz iteration in bfloat16, so the
trajectories are compared to float64 rounding with PyTorch's iteration run in float64 (its other
arithmetic untouched), and to bfloat16 rounding as PyTorch ships it; the iteration itself against
the SVD; state dicts, resuming, positional order and errors."""

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim.muon import newton_schulz

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.kernel_free]

CONFIGS = [
    {"lr": 0.05},
    {"lr": 0.05, "nesterov": False, "momentum": 0.5, "weight_decay": 0.0},
    {"lr": 0.02, "adjust_lr_fn": "match_rms_adamw", "ns_steps": 3, "eps": 1e-3},
    {"lr": 0.05, "adjust_lr_fn": "original", "ns_coefficients": (2.0, -1.5, 0.5),
     "weight_decay": 0.3},
]
SHAPES = [(3, 5), (6, 2), (4, 4)]


def _ns_float64(grad, ns_coefficients, ns_steps, eps):
    """PyTorch's Newton-Schulz step written for float64 (no bfloat16 cast)."""
    a, b, c = ns_coefficients
    x = grad.T if grad.size(0) > grad.size(1) else grad
    x = x / x.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if grad.size(0) > grad.size(1) else x


def _run(rng, kwargs, steps, float64_ns, monkeypatch):
    if float64_ns:
        monkeypatch.setattr(torch.optim._muon, "_zeropower_via_newtonschulz", _ns_float64)
    init = [rng.standard_normal(s) for s in SHAPES]
    ours = [cr.tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt, topt = optim.Muon(ours, **kwargs), torch.optim.Muon(theirs, **kwargs)
    for _ in range(steps):
        for p, t in zip(ours, theirs, strict=True):
            g = rng.standard_normal(p.shape) + 0.3 * p.numpy()
            p.grad, t.grad = cr.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    return init, ours, theirs


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_trajectory_matches_torch_with_a_float64_iteration(rng, kwargs, monkeypatch):
    init, ours, theirs = _run(rng, kwargs, 20, True, monkeypatch)
    for a, b, a0 in zip(ours, theirs, init, strict=True):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-13)
        assert not np.allclose(a.numpy(), a0)


def test_one_step_matches_shipped_torch_to_bfloat16_rounding(rng, monkeypatch):
    init, ours, theirs = _run(rng, {"lr": 0.05, "weight_decay": 0.0}, 1, False, monkeypatch)
    for a, b, a0 in zip(ours, theirs, init, strict=True):
        step, tstep = a.numpy() - a0, b.detach().numpy() - a0
        assert np.linalg.norm(step - tstep) < 2e-2 * np.linalg.norm(tstep)


def test_cubic_iteration_converges_to_the_orthogonal_factor(rng):
    """With (a, b, c) = (1.5, -0.5, 0) the iteration is the classic cubic one: X -> U V^T."""
    for shape in [(3, 5), (5, 3)]:
        g = rng.standard_normal(shape)
        u, _, vt = np.linalg.svd(g, full_matrices=False)
        o = newton_schulz(g, (1.5, -0.5, 0.0), 60, 1e-7)
        np.testing.assert_allclose(o, u @ vt, rtol=1e-12, atol=1e-12)


def test_state_dict_layout_matches_torch(rng, monkeypatch):
    kwargs = CONFIGS[0]
    monkeypatch.setattr(torch.optim._muon, "_zeropower_via_newtonschulz", _ns_float64)
    p = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    t = torch.tensor(p.numpy().copy(), requires_grad=True)
    opt, topt = optim.Muon([p], **kwargs), torch.optim.Muon([t], **kwargs)
    for _ in range(3):
        g = rng.standard_normal((3, 4))
        p.grad, t.grad = cr.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert list(sd["state"][0]) == list(tsd["state"][0]) == ["momentum_buffer"]
    np.testing.assert_allclose(sd["state"][0]["momentum_buffer"],
                               tsd["state"][0]["momentum_buffer"].numpy(), rtol=1e-13)
    for key, value in tsd["param_groups"][0].items():
        assert sd["param_groups"][0][key] == value, key


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_resume_mid_run_equals_uninterrupted_run(rng, kwargs):
    ours = [cr.tensor(rng.standard_normal(s), requires_grad=True) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(12)]

    def step(params, opt, gs):
        for p, g in zip(params, gs, strict=True):
            p.grad = cr.tensor(g)
        opt.step()

    opt = optim.Muon(ours, **kwargs)
    for gs in grads[:5]:
        step(ours, opt, gs)
    saved = opt.state_dict()
    again = [cr.tensor(p.numpy().copy(), requires_grad=True) for p in ours]
    for gs in grads[5:]:
        step(ours, opt, gs)
    resumed = optim.Muon(again, **kwargs)
    resumed.load_state_dict(saved)
    for gs in grads[5:]:
        step(again, resumed, gs)
    for a, b in zip(ours, again, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_signature_matches_torch():
    ours = inspect.signature(optim.Muon).parameters
    theirs = inspect.signature(torch.optim.Muon).parameters
    assert [(k, p.kind) for k, p in ours.items()] == [(k, p.kind) for k, p in theirs.items()]
    for key in list(ours)[1:]:
        assert ours[key].default == theirs[key].default, key


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), ()])
def test_parameters_other_than_matrices_are_refused(shape):
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        torch.optim.Muon([torch.zeros(shape, requires_grad=True)])
    with pytest.raises(ValueError, match=rf"only supports 2D .* size: {shape}".replace("(", r"\(")
                       .replace(")", r"\)")):
        optim.Muon([cr.zeros(shape, requires_grad=True)])
    opt = optim.Muon([cr.zeros((2, 2), requires_grad=True)])
    with pytest.raises(ValueError, match=r"params\[1\] \(param group 1\)"):
        opt.add_param_group({"params": [cr.zeros((2, 2), requires_grad=True),
                                        cr.zeros(shape, requires_grad=True)]})
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"lr": -1.0}, "lr must be a number >= 0, got -1.0"),
    ({"momentum": -0.5}, "momentum must be a number >= 0, got -0.5"),
    ({"weight_decay": -0.1}, "weight_decay must be a number >= 0, got -0.1"),
    ({"adjust_lr_fn": "sqrt"}, "adjust_lr_fn must be None, 'original' or 'match_rms_adamw', "
                               "got 'sqrt'"),
    ({"ns_steps": 100}, r"ns_steps must be an integer in \[0, 100\), got 100"),
    ({"ns_coefficients": (1.0, 2.0)}, r"ns_coefficients must be three numbers \(a, b, c\)"),
])
def test_bad_hyperparameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match="Muon: " + match):
        optim.Muon([cr.zeros((2, 3), requires_grad=True)], **kwargs)
