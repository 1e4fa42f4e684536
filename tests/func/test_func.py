"""chainrule.func against torch.func (float64), finite differences, and its error messages."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd.gradcheck import gradcheck
from chainrule.func import (
    functional_call,
    grad,
    grad_and_value,
    hessian,
    jacfwd,
    jacrev,
    jvp,
    stack_module_state,
    vjp,
    vmap,
)

from .._case_loop import each_case, grid

# torch.func's forward-mode transforms script a helper with the deprecated torch.jit.script.
_TORCH_JIT = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def _t(a, requires_grad=False):
    return cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def _close(ours, theirs, tol=1e-12):
    np.testing.assert_allclose(np.asarray(ours.detach().numpy()),
                               theirs.detach().numpy(), rtol=tol, atol=tol)


def _mlp(lib, rng):
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
    return model


def _mlp_weights(rng):
    return {"0.weight": rng.normal(size=(4, 3)), "0.bias": rng.normal(size=4),
            "2.weight": rng.normal(size=(2, 4)), "2.bias": rng.normal(size=2)}


def _f(lib):
    def f(x, y):
        return (lib.sin(x) * y).sum() + (x ** 2).sum() * y.sum()
    return f


def _vec(lib):
    def f(x):
        return lib.stack([x[0] * x[1], lib.exp(x[2]) - x[0], (x ** 3).sum()])
    return f


# --- the transforms against torch.func ---------------------------------------------------


@pytest.mark.torch
def test_per_sample_gradients_of_an_mlp_match_torch():
    torch = pytest.importorskip("torch")
    from torch import func as tf
    rng = np.random.default_rng(0)
    w = _mlp_weights(rng)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    results = {}
    for lib, fn, tensor in ((cr, cr.func, _t), (torch, tf, torch.tensor)):
        model = _mlp(lib, rng).double()
        params = {k: tensor(v) for k, v in w.items()}

        def loss(p, xi, yi, model=model, lib=lib, fn=fn):
            out = fn.functional_call(model, p, (xi.unsqueeze(0),))
            return ((out - yi.unsqueeze(0)) ** 2).mean()

        results[lib.__name__] = fn.vmap(fn.grad(loss), in_dims=(None, 0, 0))(
            params, tensor(x), tensor(y))
    for k in w:
        _close(results["chainrule"][k], results["torch"][k])


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("name", ["jacrev", "jacfwd"])
@_TORCH_JIT
def test_jacobians_of_a_vector_function_match_torch(name):
    torch = pytest.importorskip("torch")
    x = np.array([0.3, -1.2, 0.7])
    ours = getattr(cr.func, name)(_vec(cr))(_t(x))
    theirs = getattr(torch.func, name)(_vec(torch))(torch.tensor(x))
    assert tuple(ours.shape) == (3, 3)
    _close(ours, theirs)


@pytest.mark.kernel_free
@pytest.mark.torch
@_TORCH_JIT
def test_argnums_tuple_has_aux_and_hessian_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=3), rng.normal(size=3)
    ours = {}
    for lib, tensor in ((cr, _t), (torch, torch.tensor)):
        f = _f(lib)
        X, Y = tensor(x), tensor(y)
        g, aux = lib.func.grad(lambda a, b: (f(a, b), a * 2), argnums=(0, 1), has_aux=True)(X, Y)
        (gv, (val, aux2)) = lib.func.grad_and_value(
            lambda a, b: (f(a, b), b), argnums=1, has_aux=True)(X, Y)
        hxx = lib.func.hessian(f)(X, Y)
        hxy = lib.func.hessian(f, argnums=(0, 1))(X, Y)
        jac_pair = lib.func.jacrev(lambda a, b: (a * b, a.sum() * b), argnums=(0, 1))(X, Y)
        ours[lib.__name__] = [g[0], g[1], aux, gv, val, aux2, hxx, hxy[0][1], hxy[1][0],
                              *jac_pair[0], *jac_pair[1]]
    for a, b in zip(ours["chainrule"], ours["torch"]):
        assert tuple(a.shape) == tuple(b.shape)
        _close(a, b)


@pytest.mark.kernel_free
@pytest.mark.torch
@_TORCH_JIT
def test_one_tensor_in_two_differentiated_positions_matches_torch():
    # grad(f, argnums=(0, 1))(x, x) where x requires grad, or inside another transform, gave
    # each position the whole derivative (x.view_as(x) was x itself: one node for both), silently
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).normal(size=3)
    ours = {}
    for lib, tensor in ((cr, _t), (torch, torch.tensor)):
        f = _f(lib)
        X = tensor(x, requires_grad=True)
        gx, gy = lib.func.grad(f, argnums=(0, 1))(X, X)
        nested = lib.func.grad(lambda a: lib.func.grad(f, argnums=(0, 1))(a, a)[0].sum())(
            tensor(x))
        jx, jy = lib.autograd.functional.jacobian(f, (X, X), create_graph=True)
        ours[lib.__name__] = [gx, gy, nested, jx, jy]
    for a, b in zip(ours["chainrule"], ours["torch"], strict=True):
        _close(a, b)
    y = _t(x)
    assert y.view_as(y) is not y


@pytest.mark.kernel_free
@pytest.mark.torch
@_TORCH_JIT
def test_vjp_and_jvp_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x, v, u = rng.normal(size=3), rng.normal(size=3), rng.normal(size=3)
    got = {}
    for lib, tensor in ((cr, _t), (torch, torch.tensor)):
        f = _vec(lib)
        out, fn = lib.func.vjp(f, tensor(x))
        (back,) = fn(tensor(v))
        out2, fwd = lib.func.jvp(f, (tensor(x),), (tensor(u),))
        got[lib.__name__] = [out, back, out2, fwd]
    for a, b in zip(got["chainrule"], got["torch"]):
        _close(a, b)


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("in_dims,out_dims", [(0, 0), (1, 0), ((1, None), (1, 0)), ((0, 0), -1),
                                              (-1, (0, 1))])
def test_vmap_dims_match_torch(in_dims, out_dims):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    got = {}
    for lib, tensor in ((cr, _t), (torch, torch.tensor)):
        def f(x, y, lib=lib):
            return lib.outer(x, y.reshape(-1)[:2]), (x * y).sum()
        if out_dims == (0, 1):
            def g(x, y, f=f):
                o, s = f(x, y)
                return o, s * x
        else:
            g = f
        got[lib.__name__] = vmap_of(lib)(g, in_dims, out_dims)(tensor(a), tensor(b))
    for x, y in zip(got["chainrule"], got["torch"]):
        assert tuple(x.shape) == tuple(y.shape)
        _close(x, y)


def vmap_of(lib):
    return lib.func.vmap


@pytest.mark.kernel_free
@pytest.mark.torch
def test_nested_vmap_and_pytree_inputs_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    a, b, c = rng.normal(size=(2, 3, 4)), rng.normal(size=(3,)), rng.normal(size=(3, 2))
    got = {}
    for lib, tensor in ((cr, _t), (torch, torch.tensor)):
        def f(d, lib=lib):
            return {"s": lib.sin(d["x"]) * d["w"][0].sum(), "t": d["w"][1]}
        inner = lib.func.vmap(f, in_dims=({"x": 0, "w": [None, 0]},))
        outer = lib.func.vmap(inner, in_dims=({"x": 0, "w": None},))
        out = outer({"x": tensor(a), "w": [tensor(b), tensor(c)]})
        got[lib.__name__] = [out["s"], out["t"]]
    for x, y in zip(got["chainrule"], got["torch"]):
        assert tuple(x.shape) == tuple(y.shape)
        _close(x, y)


@pytest.mark.torch
def test_ensemble_with_stack_module_state_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    ws = [_mlp_weights(rng) for _ in range(3)]
    x = rng.normal(size=(6, 3))
    got = {}
    for lib, tensor in ((cr, _t), (torch, torch.tensor)):
        models = []
        for w in ws:
            m = _mlp(lib, rng).double()
            m.load_state_dict({k: tensor(v) for k, v in w.items()})
            models.append(m)
        params, buffers = lib.func.stack_module_state(models)
        assert all(p.requires_grad for p in params.values())
        base = models[0]

        def call(p, b, xb, base=base, lib=lib):
            return lib.func.functional_call(base, (p, b), (xb,))
        out = lib.func.vmap(call, in_dims=(0, 0, None))(params, buffers, tensor(x))
        out.sum().backward()
        got[lib.__name__] = [out, params["0.weight"].grad]
    for a, b in zip(got["chainrule"], got["torch"]):
        _close(a, b)


# --- finite differences, composition, and what stays as it was -------------------------


def test_grad_of_functional_call_passes_gradcheck():
    model = nn.Sequential(nn.Linear(3, 2, rng=cr.Generator().manual_seed(0)), nn.Tanh()).double()
    x = _t(np.random.default_rng(6).normal(size=(4, 3)))
    w = _t(np.random.default_rng(7).normal(size=(2, 3)), requires_grad=True)

    def f(w):
        return functional_call(model, {"0.weight": w}, (x,))
    assert gradcheck(f, (w,))
    assert gradcheck(lambda w: grad(lambda v: (f(v) ** 2).sum())(w), (w,))


@pytest.mark.kernel_free
def test_vmap_of_grad_gives_each_slice_its_own_gradient():
    x = _t(np.random.default_rng(8).normal(size=(5, 3)))
    per = vmap(grad(lambda r: (r ** 3).sum()))(x)
    for i in range(5):
        single = grad(lambda r: (r ** 3).sum())(_t(x.numpy()[i]))
        np.testing.assert_array_equal(per.numpy()[i], single.numpy())


@pytest.mark.kernel_free
def test_grad_inside_an_outer_backward_is_recorded():
    x = _t([0.5, -0.3], requires_grad=True)
    g = grad(lambda v: (v ** 3).sum())(x)
    assert g.requires_grad
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy(), rtol=1e-14)
    assert not grad(lambda v: (v ** 3).sum())(_t([1.0])).requires_grad


@pytest.mark.kernel_free
def test_functional_call_restores_the_module_even_when_forward_raises():
    model = nn.Sequential(nn.Linear(2, 2, rng=cr.Generator().manual_seed(0)))
    before = dict(model.named_parameters())
    with pytest.raises(ValueError):
        functional_call(model, {"0.weight": cr.zeros(2, 3)}, (cr.ones(1, 2),))
    assert dict(model.named_parameters()) == before
    assert all(type(p) is nn.Parameter for p in model.parameters())


def test_functional_call_reaches_fused_layers_and_tied_weights():
    model = nn.Sequential(nn.Linear(2, 2, rng=cr.Generator().manual_seed(0)), nn.ReLU())
    nn.fuse(model)
    w = cr.tensor([[1.0, 0.0], [0.0, -1.0]])
    out = functional_call(model, {"0.weight": w, "0.bias": cr.zeros(2)},
                          (cr.tensor([[2.0, 3.0]]),))
    assert out.tolist() == [[2.0, 0.0]]
    assert model[0].weight is not w
    tied = nn.Sequential(nn.Linear(2, 2, rng=cr.Generator().manual_seed(1)),
                         nn.Linear(2, 2, rng=cr.Generator().manual_seed(2)))
    tied[1].weight = tied[0].weight
    eye = cr.eye(2)
    z = {"0.bias": cr.zeros(2), "1.bias": cr.zeros(2)}
    x = cr.tensor([[1.0, 2.0]])
    assert functional_call(tied, {"0.weight": eye, **z}, (x,)).tolist() == [[1.0, 2.0]]
    untied = functional_call(tied, {"0.weight": eye, **z}, (x,), tie_weights=False)
    assert untied.tolist() != [[1.0, 2.0]]


def test_functional_call_and_a_trace_of_the_same_model_stay_apart():
    model = nn.Sequential(nn.Linear(2, 2, rng=cr.Generator().manual_seed(0)), nn.ReLU()).eval()
    x = cr.tensor([[1.0, -2.0]])
    fast = cr.trace(model, x)
    with cr.no_grad():
        own = model(x).numpy()
    w = {"0.weight": cr.tensor([[1.0, 0.0], [0.0, -1.0]]), "0.bias": cr.zeros(2)}
    assert functional_call(model, w, (x,)).tolist() == [[1.0, 2.0]]
    np.testing.assert_array_equal(fast(x).numpy(), own)  # the trace replays the model's own
    assert functional_call(fast.fn, w, (x,)).tolist() == [[1.0, 2.0]]
    with pytest.raises(TypeError, match="must be an nn.Module, got Traced"):
        functional_call(fast, w, (x,))


@pytest.mark.kernel_free
def test_vmap_randomness_modes():
    x = cr.zeros(3, 2)
    layer = nn.Dropout(0.5, rng=cr.Generator().manual_seed(0))
    with pytest.raises(RuntimeError, match="randomness='error'"):
        vmap(layer)(x + 1)
    with pytest.raises(RuntimeError, match="randomness='error'"):
        vmap(lambda a: cr.rand(2) + a)(x)
    same = vmap(lambda a: cr.rand(2) + a, randomness="same")(x).numpy()
    assert (same == same[0]).all()
    diff = vmap(lambda a: cr.rand(2) + a, randomness="different")(x).numpy()
    assert not (diff == diff[0]).all()
    masks = vmap(layer, randomness="same")(cr.ones(4, 50)).numpy()
    assert (masks == masks[0]).all() and (masks == 0).any()
    assert vmap(layer.eval())(x + 1).tolist() == (x + 1).tolist()


# --- errors ------------------------------------------------------------------------------


@pytest.mark.kernel_free
def test_errors_name_what_was_received():
    with pytest.raises(ValueError, match="sizes 3 .* and 4"):
        vmap(lambda a, b: a + b)(cr.zeros(3), cr.zeros(4))
    with pytest.raises(ValueError, match="in_dim=1 for an input of shape \\(3,\\)"):
        vmap(lambda a: a, in_dims=1)(cr.zeros(3))
    with pytest.raises(ValueError, match="in_dims has 2 entries"):
        vmap(lambda a: a, in_dims=(0, 0))(cr.zeros(3))
    with pytest.raises(ValueError, match="type int"):
        vmap(lambda a: a, in_dims=0)(3)
    with pytest.raises(ValueError, match="only Tensors, got int"):
        vmap(lambda a: 3)(cr.zeros(2))
    with pytest.raises(ValueError, match="randomness must be"):
        vmap(lambda a: a, randomness="never")
    with pytest.raises(RuntimeError, match="0-d .* shape \\(3,\\)"):
        grad(lambda a: a)(cr.zeros(3))
    with pytest.raises(ValueError, match="argnums 2 is out of range"):
        grad(lambda a, b: a.sum(), argnums=2)(cr.zeros(1), cr.zeros(1))
    with pytest.raises(TypeError, match="floating point"):
        grad(lambda a: a.sum())(cr.tensor([1, 2]))
    model = nn.Linear(2, 1, rng=cr.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="unexpected key\\(s\\) \\['wieght'\\]"):
        functional_call(model, {"wieght": cr.zeros(1, 2)}, (cr.zeros(1, 2),))
    with pytest.raises(ValueError, match="missing key\\(s\\) \\['bias'\\]"):
        functional_call(model, {"weight": cr.zeros(1, 2)}, (cr.zeros(1, 2),), strict=True)
    with pytest.raises(TypeError, match="must be an nn.Module"):
        functional_call(lambda x: x, {}, (cr.zeros(1),))
    with pytest.raises(ValueError, match="one class"):
        stack_module_state([nn.Linear(2, 1), nn.Tanh()])
    with pytest.raises(ValueError, match="structure and shapes"):
        jvp(lambda a: a, (cr.zeros(2),), (cr.zeros(3),))
    with pytest.raises(ValueError, match="out_dim None differs"):
        vmap(lambda a: a * 2, out_dims=None)(cr.tensor([1.0, 2.0]))
    assert jacfwd(lambda a: a * 2)(cr.zeros(2)).shape == (2, 2)
    assert jacrev(lambda a: a.sum() * 0 + 1.0)(cr.zeros(2)).tolist() == [0.0, 0.0]
    out, fn = vjp(lambda a: a * 3, cr.ones(2))
    with pytest.raises(ValueError, match="cotangents"):
        fn(cr.ones(3))
    assert grad_and_value(lambda a: (a * a).sum())(cr.ones(2))[1].item() == 2.0
    assert hessian(lambda a: (a ** 2).sum())(cr.ones(2)).tolist() == [[2.0, 0.0], [0.0, 2.0]]


_SIGNATURES_ARE_TORCH_FUNCS = ["functional_call", "grad", "grad_and_value", "vjp", "jvp",
                                  "jacrev", "jacfwd", "hessian", "vmap", "stack_module_state"]


def _signatures_are_torch_funcs_case(name):
    torch = pytest.importorskip("torch")
    import inspect

    def params(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]
    ours, theirs = params(getattr(cr.func, name)), params(getattr(torch.func, name))
    assert [p[:2] for p in ours] == [p[:2] for p in theirs]
    assert [p[2] for p in ours] == [p[2] for p in theirs]


@pytest.mark.kernel_free
@pytest.mark.torch
def test_signatures_are_torch_funcs():
    each_case(_signatures_are_torch_funcs_case, grid(("name", _SIGNATURES_ARE_TORCH_FUNCS)))
