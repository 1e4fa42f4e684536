"""nn.utils.parametrize and nn.utils.parametrizations against PyTorch (float64), gradchecks,
state dicts both ways, removal, caching and errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck
from chainrule.nn.utils import parametrizations as CP
from chainrule.nn.utils import parametrize as P


def _symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(0, 1)
    return Symmetric


def _split(lib):
    class Split(lib.nn.Module):  # two originals: the matrix is a + b
        def forward(self, a, b):
            return a + b

        def right_inverse(self, w):
            return w * 0.25, w * 0.75
    return Split


def _scale(lib):
    class Scale(lib.nn.Module):
        def forward(self, x):
            return x * 2.0

        def right_inverse(self, w):
            return w / 2.0
    return Scale


def _close(ours, theirs, tol=1e-12):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    np.testing.assert_allclose(np.asarray(ours.detach().numpy()), theirs, rtol=tol, atol=tol)


def _pair(torch, build, rng, shape=(3, 3)):
    """The same Linear under both libraries, parametrized by ``build(lib, layer)``."""
    w, b = rng.normal(size=shape), rng.normal(size=shape[0])
    out = []
    for lib, tensor in ((cr, cr.tensor), (torch, torch.tensor)):
        layer = lib.nn.Linear(shape[1], shape[0]).double()
        layer.load_state_dict({"weight": tensor(w), "bias": tensor(b)})
        build(lib, layer)
        out.append(layer)
    return out


def _run(ours, theirs, x):
    import torch
    y, t = ours(cr.tensor(x)), theirs(torch.tensor(x))
    (y ** 2).sum().backward()
    (t ** 2).sum().backward()
    _close(y, t)
    for (name, p), (tname, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        _close(p.grad, q.grad)


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["symmetric", "chain", "tuple"])
def test_parametrized_linear_matches_torch(kind):
    torch = pytest.importorskip("torch")
    from torch.nn.utils import parametrize as TPz

    def build(lib, layer):
        reg = P.register_parametrization if lib is cr else TPz.register_parametrization
        if kind in ("symmetric", "chain"):
            reg(layer, "weight", _symmetric(lib)())
        if kind == "chain":
            reg(layer, "weight", _scale(lib)())
        if kind == "tuple":
            reg(layer, "weight", _split(lib)())
    rng = np.random.default_rng(0)
    ours, theirs = _pair(torch, build, rng)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _close(ours.weight, theirs.weight)
    _run(ours, theirs, rng.normal(size=(4, 3)))
    # state dicts load both ways
    fresh = _pair(torch, build, np.random.default_rng(9))
    fresh[0].load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    fresh[1].load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    _close(fresh[0].weight, theirs.weight)
    _close(ours.weight, fresh[1].weight)
    # assignment goes through right_inverse
    target = rng.normal(size=(3, 3))
    target = target + target.T
    if kind != "tuple":  # Symmetric has no right_inverse
        with pytest.raises(RuntimeError, match="Symmetric does not implement right_inverse"):
            ours.weight = cr.tensor(target)
        with pytest.raises(RuntimeError, match="Symmetric does not implement right_inverse"):
            theirs.weight = torch.tensor(target)
        return
    ours.weight = cr.tensor(target)
    with torch.no_grad():
        theirs.weight = torch.tensor(target)
    _close(ours.weight, theirs.weight)
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(p, q)


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("leave", [True, False])
def test_remove_parametrizations_matches_torch(leave):
    torch = pytest.importorskip("torch")
    from torch.nn.utils import parametrize as TPz

    def build(lib, layer):
        reg = P.register_parametrization if lib is cr else TPz.register_parametrization
        reg(layer, "weight", _symmetric(lib)())
        reg(layer, "weight", _scale(lib)())
    ours, theirs = _pair(torch, build, np.random.default_rng(1))
    kept = ours.parametrizations.weight.original
    P.remove_parametrizations(ours, "weight", leave_parametrized=leave)
    TPz.remove_parametrizations(theirs, "weight", leave_parametrized=leave)
    assert type(ours) is nn.Linear and not P.is_parametrized(ours)
    assert ours.weight is kept and isinstance(ours.weight, nn.Parameter)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _close(ours.weight, theirs.weight)
    with pytest.raises(ValueError, match="no parametrization on 'weight'"):
        P.remove_parametrizations(ours, "weight")


@pytest.mark.torch
@pytest.mark.parametrize("shape,mp", [((4, 4), None), ((5, 3), None), ((3, 5), "matrix_exp"),
                                      ((4, 4), "cayley"), ((5, 3), "cayley"),
                                      ((3, 5), "cayley"), ((5, 3), "householder"),
                                      ((3, 5), "householder"), ((4, 4), "householder")])
def test_orthogonal_matches_torch(shape, mp):
    torch = pytest.importorskip("torch")
    from torch.nn.utils import parametrizations as TP
    rng = np.random.default_rng(2)
    ours, theirs = _pair(torch, lambda lib, layer: (CP if lib is cr else TP).orthogonal(
        layer, orthogonal_map=mp), rng, shape)
    # the basis completion of a non-square matrix is random: start both from PyTorch's state
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    step = rng.normal(size=shape) * 0.3
    if mp == "householder" or mp is None and shape[0] != shape[1]:
        # the householder map's diagonal holds the reflections' signs: keep it
        step[np.arange(min(shape)), np.arange(min(shape))] = 0
    with torch.no_grad():
        theirs.parametrizations.weight.original.add_(torch.tensor(step))
    with cr.no_grad():
        ours.parametrizations.weight.original.add_(cr.tensor(step))
    w = ours.weight.numpy()
    gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-12)
    _run(ours, theirs, rng.normal(size=(2, shape[1])))


@pytest.mark.torch
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_and_spectral_norm_match_torch(dim):
    torch = pytest.importorskip("torch")
    from torch.nn.utils import parametrizations as TP
    rng = np.random.default_rng(3)
    ours, theirs = _pair(torch, lambda lib, layer: (CP if lib is cr else TP).weight_norm(
        layer, dim=dim), rng, (4, 3))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _run(ours, theirs, rng.normal(size=(2, 3)))
    ours, theirs = _pair(torch, lambda lib, layer: (CP if lib is cr else TP).spectral_norm(
        layer, dim=dim), rng, (4, 3))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for _ in range(2):  # training mode: the power iteration moves u and v each call
        ours.zero_grad()
        theirs.zero_grad()
        _run(ours, theirs, rng.normal(size=(2, 3)))
    _close(ours.parametrizations.weight[0]._u, theirs.parametrizations.weight[0]._u)
    ours.eval()
    theirs.eval()
    _close(ours.weight, theirs.weight)


def _leaf(t):
    return cr.tensor(t.numpy().copy(), requires_grad=True)


def test_parametrized_weights_pass_gradcheck():
    layer = nn.Linear(3, 3, rng=cr.Generator().manual_seed(0)).double()
    P.register_parametrization(layer, "weight", _symmetric(cr)())
    CP.orthogonal(nn.Linear(3, 3).double(), orthogonal_map="cayley")
    orth = CP.orthogonal(nn.Linear(2, 4, rng=cr.Generator().manual_seed(1)).double(),
                         orthogonal_map="cayley", rng=cr.Generator().manual_seed(2))
    wn = CP.weight_norm(nn.Linear(3, 2, rng=cr.Generator().manual_seed(3)).double())
    x = cr.tensor(np.random.default_rng(4).normal(size=(2, 3)), requires_grad=True)
    assert gradcheck(lambda w: layer.parametrizations.weight[0](w),
                     (_leaf(layer.parametrizations.weight.original),))
    plist = orth.parametrizations.weight
    assert gradcheck(lambda w: plist[0](w), (_leaf(plist.original),))
    assert gradgradcheck(lambda w: plist[0](w), (_leaf(plist.original),))
    g, v = (_leaf(t) for t in wn.parametrizations.weight._originals())
    assert gradcheck(lambda g, v: wn.parametrizations.weight[0](g, v), (g, v))
    assert gradcheck(lambda x: wn(x), (x,))


@pytest.mark.kernel_free
def test_cached_computes_once_and_eval_modules_are_untouched():
    calls = []

    class Counting(nn.Module):
        def forward(self, x):
            calls.append(1)
            return x * 1.0
    layer = P.register_parametrization(nn.Linear(2, 2), "weight", Counting())
    calls.clear()
    with P.cached():
        a, b = layer.weight, layer.weight
        with P.cached():
            c = layer.weight
    assert a is b is c and len(calls) == 1
    assert layer.weight is not a and len(calls) == 2
    plain = nn.Linear(2, 2)
    assert type(plain) is nn.Linear and P.type_before_parametrizations(layer) is nn.Linear
    assert type(layer).__name__ == "ParametrizedLinear" and type(plain).__dict__.get(
        "weight") is None
    twin = copy.deepcopy(layer)
    np.testing.assert_array_equal(twin.weight.numpy(), layer.weight.numpy())


def test_functional_call_and_optimizer_see_the_original():
    layer = P.register_parametrization(nn.Linear(2, 2, rng=cr.Generator().manual_seed(0)),
                                       "weight", _scale(cr)())
    original = layer.parametrizations.weight.original
    opt = cr.optim.SGD(layer.parameters(), lr=0.1)
    assert any(p is original for group in opt.param_groups for p in group["params"])
    w = cr.tensor([[1.0, 0.0], [0.0, 1.0]])
    out = cr.func.functional_call(
        layer, {"parametrizations.weight.original": w, "bias": cr.zeros(2)},
        (cr.tensor([[1.0, 2.0]]),))
    assert out.tolist() == [[2.0, 4.0]]
    with pytest.raises(ValueError, match="'weight'.*given by its original.*"
                                         "'parametrizations.weight.original'"):
        cr.func.functional_call(layer, {"weight": w}, (cr.tensor([[1.0, 2.0]]),))


@pytest.mark.kernel_free
def test_errors():
    class Shrink(nn.Module):
        def forward(self, x):
            return x[:1]
    with pytest.raises(ValueError, match="may not change the shape .*\\(2, 2\\).*\\(1, 2\\)"):
        P.register_parametrization(nn.Linear(2, 2), "weight", Shrink())
    layer = P.register_parametrization(nn.Linear(2, 2), "weight", Shrink(), unsafe=True)
    assert tuple(layer.weight.shape) == (1, 2)
    with pytest.raises(ValueError, match="has no parameter or buffer 'wieght'"):
        P.register_parametrization(nn.Linear(2, 2), "wieght", _scale(cr)())
    with pytest.raises(TypeError, match="parametrization must be an nn.Module"):
        P.register_parametrization(nn.Linear(2, 2), "weight", lambda x: x)
    with pytest.raises(ValueError, match="orthogonal_map must be"):
        CP.orthogonal(nn.Linear(2, 2), orthogonal_map="qr")
    with pytest.raises(ValueError, match="matrix or a batch of matrices"):
        CP.orthogonal(nn.Linear(2, 2), "bias")
    split = P.register_parametrization(nn.Linear(2, 2), "weight", _split(cr)())
    with pytest.raises(ValueError, match="leave_parametrized=True"):
        P.remove_parametrizations(split, "weight", leave_parametrized=False)
    with pytest.raises(ValueError, match="n_power_iterations must be a positive int"):
        CP.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("module,name", [
    (P, "register_parametrization"), (P, "remove_parametrizations"), (P, "is_parametrized"),
    (P, "type_before_parametrizations"), (P, "cached"),
    (P, "transfer_parametrizations_and_params"), (CP, "orthogonal"), (CP, "weight_norm"),
    (CP, "spectral_norm")])
def test_signatures_are_torchs(module, name):
    pytest.importorskip("torch")
    import importlib
    import inspect
    theirs_module = importlib.import_module(f"torch.nn.utils.{module.__name__.rsplit('.')[-1]}")

    def params(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()
                if p.name != "rng"]  # chainrule's explicit generator, keyword-only
    assert params(getattr(module, name)) == params(getattr(theirs_module, name))


def test_orthogonal_weight_assigned_the_identity_in_float32():
    # matrix_exp of the zero matrix in float32 once hit log2(0) (a RuntimeWarning, an error here)
    layer = CP.orthogonal(nn.Linear(3, 3, rng=cr.Generator().manual_seed(0)))
    with cr.no_grad():
        layer.weight = cr.eye(3)
    np.testing.assert_allclose(layer.weight.numpy(), np.eye(3), atol=1e-6)
    assert layer.weight.dtype == cr.float32


@pytest.mark.torch
def test_orthogonal_recurrent_weight_of_an_rnn_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.nn.utils import parametrizations as TP
    rng = np.random.default_rng(11)
    theirs = torch.nn.RNN(3, 4, batch_first=True).double()
    ours = nn.RNN(3, 4, batch_first=True).double()
    TP.orthogonal(theirs, "weight_hh_l0")
    CP.orthogonal(ours, "weight_hh_l0")
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = rng.normal(size=(2, 5, 3))
    with P.cached():  # the recurrent weight is computed once for the five steps
        y, _ = ours(cr.tensor(x))
    t, _ = theirs(torch.tensor(x))
    (y ** 2).sum().backward()
    (t ** 2).sum().backward()
    _close(y, t)
    for (name, p), (tname, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        _close(p.grad, q.grad)


@pytest.mark.kernel_free
def test_a_parametrized_buffer_stays_a_buffer():
    layer = nn.BatchNorm1d(3)
    P.register_parametrization(layer, "running_var", _scale(cr)())
    assert "parametrizations.running_var.original" in dict(layer.named_buffers())
    np.testing.assert_allclose(layer.running_var.numpy(), np.ones(3))
    P.remove_parametrizations(layer, "running_var")
    assert "running_var" in dict(layer.named_buffers()) and type(layer) is nn.BatchNorm1d
