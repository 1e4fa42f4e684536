"""Fuzz wave 15: torch.func programs (vmap, grad, jacrev/jacfwd, jvp/vjp, functional_call,
stack_module_state) run in chainrule and in PyTorch on the same float64 arrays, compared by
values, dtypes, shapes and error-vs-no-error.

What was wrong before this wave: ``grad`` of a complex output returned zeros (PyTorch raises:
grad needs a real scalar); ``jvp`` of a function with a complex output returned a zero tangent;
``jacrev``/``jacfwd`` of a complex output returned the Jacobian of its real part (PyTorch
raises); and ``grad``, ``vjp`` and ``jvp`` refused complex inputs, which PyTorch differentiates.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid
from ._fuzz12_check import check

torch = pytest.importorskip("torch")

ERRORS = (RuntimeError, TypeError, ValueError, IndexError)


def _leaves(tree):
    if isinstance(tree, dict):
        return [(f"[{k!r}]{p}", v) for k in tree for p, v in _leaves(tree[k])]
    if isinstance(tree, (tuple, list)):
        return [(f"[{i}]{p}", v) for i, item in enumerate(tree) for p, v in _leaves(item)]
    return [("", tree)]


def _run(lib, scenario):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return scenario(lib)
        except ERRORS as e:
            return e


def same(scenario, label, rtol=1e-10):
    """``scenario(lib)`` in both libraries: both raise, or equal pytrees of equal leaves."""
    want, got = _run(torch, scenario), _run(cr, scenario)
    if isinstance(want, Exception) or isinstance(got, Exception):
        assert isinstance(want, Exception) and isinstance(got, Exception), \
            f"{label}: torch {want!r}, chainrule {got!r}"
        return got
    w_leaves, g_leaves = _leaves(want), _leaves(got)
    assert [p for p, _ in g_leaves] == [p for p, _ in w_leaves], label
    for (path, w), (_, g) in zip(w_leaves, g_leaves):
        if not isinstance(w, torch.Tensor):
            assert g == w, f"{label}{path}"
            continue
        assert isinstance(g, cr.Tensor), f"{label}{path}: {type(g).__name__}"
        assert (str(g.dtype), tuple(g.shape)) == (str(w.dtype)[6:], tuple(w.shape)), \
            f"{label}{path}: chainrule {g.dtype}{tuple(g.shape)}, torch {w.dtype}{tuple(w.shape)}"
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=rtol,
                                   atol=rtol, err_msg=f"{label}{path}")
    return got


RNG = np.random.default_rng(15)
X3, Y3 = RNG.normal(size=3), RNG.normal(size=3)
Z3, W3 = X3 + 1j * Y3, Y3 - 0.5j * X3
ZZ = np.stack([Z3, W3])


def T(lib, a):
    return lib.tensor(np.asarray(a))


# --- complex numbers in the transforms ---------------------------------------------------------

COMPLEX = {
    "grad_complex_input": lambda L: L.func.grad(lambda a: (a.abs() ** 2).sum())(T(L, Z3)),
    "grad_complex_input_mixed": lambda L: L.func.grad(
        lambda a: (a * a).real.sum() + (a.conj() * a.sin()).imag.sum())(T(L, Z3)),
    "grad_and_value_complex_input": lambda L: L.func.grad_and_value(lambda a: a.abs().sum())(
        T(L, Z3)),
    "grad_complex_output": lambda L: L.func.grad(lambda a: (a * 1j).sum())(T(L, X3)),
    "grad_integer_output": lambda L: L.func.grad(lambda a: (a > 0).sum())(T(L, X3)),
    "grad_bool_output": lambda L: L.func.grad(lambda a: (a > 0).all())(T(L, X3)),
    "grad_real_part_of_complex": lambda L: L.func.grad(lambda a: (a * (1 + 2j)).sum().real)(
        T(L, X3)),
    "vmap_grad_complex": lambda L: L.func.vmap(L.func.grad(lambda a: (a.abs() ** 2).sum()))(
        T(L, ZZ)),
    "vjp_complex": lambda L: (lambda r: (r[0], r[1](T(L, W3))))(
        L.func.vjp(lambda a: a.sin() * a, T(L, Z3))),
    "vjp_real_to_complex": lambda L: (lambda r: (r[0], r[1](T(L, W3))))(
        L.func.vjp(lambda a: a * (1 + 2j), T(L, X3))),
    "jvp_complex": lambda L: L.func.jvp(lambda a: a.sin() * a, (T(L, Z3),), (T(L, W3),)),
    "jvp_real_to_complex": lambda L: L.func.jvp(lambda a: a * (1 + 2j) + a.exp(), (T(L, X3),),
                                                (T(L, Y3),)),
    "jvp_complex_to_real": lambda L: L.func.jvp(lambda a: a.abs(), (T(L, Z3),), (T(L, W3),)),
    "jvp_two_outputs": lambda L: L.func.jvp(lambda a: (a * 1j, a.sin()), (T(L, X3),),
                                            (T(L, Y3),)),
    "jacrev_complex_input": lambda L: L.func.jacrev(lambda a: a.sin())(T(L, Z3)),
    "jacfwd_complex_input": lambda L: L.func.jacfwd(lambda a: a.abs())(T(L, Z3)),
    "jacrev_complex_output": lambda L: L.func.jacrev(lambda a: a * (1 + 2j))(T(L, X3)),
    "jacfwd_complex_output": lambda L: L.func.jacfwd(lambda a: a * (1 + 2j))(T(L, X3)),
    "hessian_complex_input": lambda L: L.func.hessian(lambda a: (a.abs() ** 3).sum())(T(L, Z3)),
}


@pytest.mark.parametrize("name", sorted(COMPLEX))
def test_complex_tensors_in_the_transforms(name):
    same(COMPLEX[name], name)


def test_complex_gradients_pass_finite_differences():
    z = cr.tensor(Z3)
    g = cr.func.grad(lambda a: (a.abs() ** 3).sum())(z)
    eps = 1e-6
    for k in range(3):  # PyTorch's convention: df/dx + 1j df/dy for z = x + iy
        parts = []
        for step in (eps, 1j * eps):
            d = np.zeros(3, complex)
            d[k] = step
            hi = (np.abs(Z3 + d) ** 3).sum()
            lo = (np.abs(Z3 - d) ** 3).sum()
            parts.append((hi - lo) / (2 * eps))
        np.testing.assert_allclose(g.numpy()[k], parts[0] + 1j * parts[1], rtol=1e-7)


# --- vmap's out_dims as a prefix of the outputs' structure -------------------------------------

A43 = RNG.normal(size=(4, 3))


def _vm(lib, fn, **kw):
    return lib.func.vmap(fn, **kw)(T(lib, A43))


OUT_DIMS = {  # out_dims nested, as dicts, as (d,) for one output, bools: each was refused
    "nested_list": lambda L: _vm(L, lambda x: (x, [x * 2, x.sum()]), out_dims=(0, [1, 0])),
    "nested_wrong_kind": lambda L: _vm(L, lambda x: (x, [x * 2, x.sum()]), out_dims=(0, (1, 0))),
    "nested_short": lambda L: _vm(L, lambda x: (x, [x * 2, x.sum()]), out_dims=(0, [1])),
    "list_top": lambda L: _vm(L, lambda x: (x, [x * 2, x.sum()]), out_dims=[0, [1, 0]]),
    "int_for_subtree": lambda L: _vm(L, lambda x: (x, [x * 2, x]), out_dims=(1, 1)),
    "dict": lambda L: _vm(L, lambda x: {"a": x, "b": (x.sum(), x)}, out_dims={"a": 1, "b": 0}),
    "dict_nested": lambda L: _vm(L, lambda x: {"a": x, "b": (x.sum(), x)},
                                 out_dims={"a": 1, "b": (0, 1)}),
    "dict_missing_key": lambda L: _vm(L, lambda x: {"a": x, "b": x}, out_dims={"a": 1}),
    "dict_for_tuple": lambda L: _vm(L, lambda x: (x, x), out_dims={"a": 1}),
    "one_tuple_for_tensor": lambda L: _vm(L, lambda x: x * 2, out_dims=(1,)),
    "one_tuple_for_one_tuple": lambda L: _vm(L, lambda x: (x * 2,), out_dims=(1,)),
    "two_tuple_for_tensor": lambda L: _vm(L, lambda x: x * 2, out_dims=(1, 0)),
    "tuple_for_dict": lambda L: _vm(L, lambda x: {"a": x}, out_dims=(0,)),
    "bool": lambda L: _vm(L, lambda x: x * 2, out_dims=True),
    "bool_in_tuple": lambda L: _vm(L, lambda x: (x, x), out_dims=(False, True)),
    "string": lambda L: _vm(L, lambda x: x * 2, out_dims="1"),
    "negative_nested": lambda L: _vm(L, lambda x: (x, [x.outer(x)]), out_dims=(-1, [-2])),
    "out_of_range_nested": lambda L: _vm(L, lambda x: (x, [x]), out_dims=(0, [2])),
    "bool_in_dims": lambda L: L.func.vmap(lambda x: x * 2, in_dims=True)(T(L, A43)),
    "list_in_dims_for_tuple_arg": lambda L: L.func.vmap(lambda p: p[0] * p[1], in_dims=([0, 1],))(
        (T(L, A43), T(L, A43.T))),
}


def _vmap_out_dims_structures_case(name):
    same(OUT_DIMS[name], name)


def test_vmap_out_dims_structures():
    each_case(_vmap_out_dims_structures_case, grid(("name", sorted(OUT_DIMS))))


def test_vmap_out_dims_errors_name_the_structures():
    with pytest.raises(ValueError, match=r"out_dims has structure tuple\(\*, tuple\(\*\)\) but "
                                         r"the function's output has structure "
                                         r"tuple\(\*, list\(\*, \*\)\)"):
        cr.func.vmap(lambda x: (x, [x, x]), out_dims=(0, (1,)))(cr.zeros(2, 3))
    with pytest.raises(ValueError, match="out_dims must be ints or None .* got '1'"):
        cr.func.vmap(lambda x: x, out_dims="1")(cr.zeros(2, 3))


# --- vmap and in-place changes -----------------------------------------------------------------
# A loop changed a tensor shared by the slices once per slice: an in_dims=None argument ended
# with the last slice's sum added N times (PyTorch raises), an accumulator grew N times (PyTorch
# adds once), a BatchNorm in training mode updated its running statistics per sample (PyTorch
# raises). chainrule now raises for all of them, and changes of slices of mapped inputs and of
# tensors made inside the function compute as PyTorch's.


def _bn_model(L, seed=0):
    L.manual_seed(seed)
    model = L.nn.Sequential(L.nn.Linear(3, 4), L.nn.BatchNorm1d(4), L.nn.Tanh()).double()
    r = np.random.default_rng(seed)
    model.load_state_dict({k: L.tensor(np.abs(r.normal(size=tuple(v.shape)))
                                       if "float" in str(v.dtype) else np.asarray(v))
                           for k, v in model.state_dict().items()})
    return model


def _accumulate(L):
    acc = L.zeros(3, dtype=L.float64)
    out = L.func.vmap(lambda x: (acc.add_(1), x * 2)[1])(T(L, A43))
    return out, acc


def _ensemble(L, train):
    models = [_bn_model(L, s).train(train) for s in range(3)]
    params, buffers = L.func.stack_module_state(models)

    def fmodel(p, b, x):
        return L.func.functional_call(models[0], (p, b), (x,))
    out = L.func.vmap(fmodel)(params, buffers, T(L, B353))
    out.pow(2).sum().backward()
    return out, {k: v.grad for k, v in params.items()}, buffers


RNG_FIXED = np.random.default_rng(151)
B453, B353 = RNG_FIXED.normal(size=(4, 5, 3)), RNG_FIXED.normal(size=(3, 5, 3))

IN_PLACE = {
    "unmapped_target_mapped_value": lambda L: L.func.vmap(
        lambda x, y: x.add_(y), in_dims=(None, 0))(T(L, A43[0]).clone(), T(L, A43)),
    "unmapped_target_setitem": lambda L: L.func.vmap(
        lambda x, y: (x.__setitem__(0, y.sum()), y * x)[1], in_dims=(None, 0))(
        T(L, A43[0]).clone(), T(L, A43)),
    "captured_copy_": lambda L: (lambda buf: L.func.vmap(lambda x: buf.copy_(x) * 2)(T(L, A43)))(
        L.zeros(3, dtype=L.float64)),
    "batch_norm_training": lambda L: L.func.vmap(_bn_model(L))(T(L, B453)),
    "per_sample_grad_batch_norm_training": lambda L: (lambda m: L.func.vmap(L.func.grad(
        lambda p, b, x: L.func.functional_call(m, (p, b), (x,)).sum()),
        in_dims=(None, None, 0))(dict(m.named_parameters()), dict(m.named_buffers()),
                                 T(L, B453)))(_bn_model(L)),
    "nested_unmapped_at_outer_level": lambda L: L.func.vmap(
        lambda y, w: L.func.vmap(lambda wr: wr.mul_(y.sum()))(w), in_dims=(0, None))(
        T(L, A43), T(L, np.ones((2, 3)))),
    # what still computes: slices of mapped inputs, clones, tensors made inside the function
    "mapped_slice_add_": lambda L: (lambda x: (L.func.vmap(lambda r: r.add_(1.5))(x), x))(
        T(L, A43)),
    "mapped_slice_in_dims_1": lambda L: (lambda x: (L.func.vmap(
        lambda r: r.mul_(r.sum()), in_dims=1)(x), x))(T(L, A43)),
    "mapped_pytree_setitem": lambda L: (lambda d: (L.func.vmap(
        lambda p: (p["a"].__setitem__(0, 7.0), p["a"] + p["b"])[1])(d), d["a"]))(
        {"a": T(L, A43), "b": T(L, A43 * 2)}),
    "clone_of_mapped_then_change": lambda L: L.func.vmap(lambda x, y: x.clone().add_(y))(
        T(L, A43), T(L, A43 * 3)),
    "mapped_target_unmapped_value": lambda L: L.func.vmap(
        lambda x, y: x.clone().mul_(y), in_dims=(0, None))(T(L, A43), T(L, A43[1])),
    "nested_mapped_inner": lambda L: (lambda x: (L.func.vmap(L.func.vmap(
        lambda v: v.sub_(1)))(x), x))(T(L, B453)),
    "batch_norm_eval": lambda L: L.func.vmap(_bn_model(L).eval())(T(L, B453)),
    "batch_norm_replaced": lambda L: L.func.vmap(
        L.func.replace_all_batch_norm_modules_(_bn_model(L)))(T(L, B453)),
    "ensemble_batch_norm_training": lambda L: _ensemble(L, True),
    "ensemble_batch_norm_eval": lambda L: _ensemble(L, False),
    "empty_map_unmapped_target": lambda L: L.func.vmap(lambda x, y: x.add_(y), in_dims=(None, 0))(
        T(L, A43[0]).clone(), T(L, np.zeros((0, 3)))),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_vmap_in_place_changes(name):
    same(IN_PLACE[name], name)


def test_vmap_refuses_changing_an_unmapped_tensor_once_per_slice():
    """By a value that is not mapped PyTorch's batched call changes it once; a loop cannot tell
    that from a change by a mapped value, and refuses both (rather than adding N times)."""
    out, acc = _accumulate(torch)
    assert acc.tolist() == [1.0, 1.0, 1.0] and tuple(out.shape) == (4, 3)
    acc = cr.zeros(3, dtype=cr.float64)
    with pytest.raises(RuntimeError, match=r"changed in place a tensor that is not mapped "
                                           r"\(dtype float64, shape \(3,\)\).*in_dims"):
        cr.func.vmap(lambda x: (acc.add_(1), x * 2)[1])(cr.tensor(A43))
    assert acc.tolist() == [2.0, 2.0, 2.0]  # the two slices that ran
    single = cr.func.vmap(lambda x: (acc.add_(1), x * 2)[1])(cr.tensor(A43[:1]))
    assert single.shape == (1, 3) and acc.tolist() == [3.0, 3.0, 3.0]  # once, as PyTorch's
    critic = cr.nn.utils.parametrizations.spectral_norm(cr.nn.Linear(3, 2).double())
    with pytest.raises(RuntimeError, match="spectral_norm's power-iteration vectors"):
        cr.func.vmap(cr.func.grad(lambda r: critic(r).sum()))(cr.tensor(A43))
    critic.eval()  # no power iteration: nothing shared changes
    assert cr.func.vmap(cr.func.grad(lambda r: critic(r).sum()))(cr.tensor(A43)).shape == (4, 3)


def test_vmap_changing_a_tensor_made_inside_by_a_mapped_value_computes_per_slice():
    """PyTorch refuses it (the new tensor is not batched); the loop's slices each have their own
    new tensor, so chainrule gives what the function computes on each slice."""
    with pytest.raises(RuntimeError):
        torch.func.vmap(lambda x, y: x.clone().add_(y), in_dims=(None, 0))(
            torch.tensor(A43[0]), torch.tensor(A43))
    got = cr.func.vmap(lambda x, y: x.clone().add_(y), in_dims=(None, 0))(
        cr.tensor(A43[0]), cr.tensor(A43))
    np.testing.assert_array_equal(got.numpy(), A43[0] + A43)


def _through_vmap(L, fn, extra=False):
    x = T(L, A43).requires_grad_()
    y = x * 2
    out = L.func.vmap(fn)(y)
    loss = out.sum() + ((y * 3).sum() if extra else 0)
    loss.backward()
    return out, y, x.grad


def _no_grad_add(r):
    with (torch.no_grad() if isinstance(r, torch.Tensor) else cr.no_grad()):
        r.add_(1)
    return r * r


def _through_vmap_leaf(L, fn):
    x = T(L, A43).requires_grad_()
    out = L.func.vmap(fn)(x)
    out.sum().backward()
    return out, x.detach(), x.grad


SLICE_CHANGES = {  # a change of one slice made backward refuse the ops that saved another
    "mul_then_pow": lambda L: _through_vmap(L, lambda r: (r.mul_(2) ** 2).sum()),
    "mul_then_pow_input_used_after": lambda L: _through_vmap(
        L, lambda r: (r.mul_(2) ** 2).sum(), extra=True),
    "setitem_then_square": lambda L: _through_vmap(
        L, lambda r: (r.__setitem__(0, r[1] * 3), (r ** 2).sum())[1]),
    "grad_of_vmap_setitem": lambda L: L.func.grad(lambda x: L.func.vmap(
        lambda r: (r.__setitem__(0, r[1] * 3), (r ** 2).sum())[1])(x * 1).sum())(T(L, A43)),
    "clamp_then_exp_then_mul": lambda L: _through_vmap(
        L, lambda r: r.clamp_(-0.5, 0.5).exp() * r),
    "leaf_slice_refused": lambda L: L.func.vmap(lambda r: r.add_(1))(T(L, A43).requires_grad_()),
    "leaf_slice_under_no_grad": lambda L: _through_vmap_leaf(L, _no_grad_add),
}


@pytest.mark.parametrize("name", sorted(SLICE_CHANGES))
def test_vmap_changing_mapped_slices_with_gradients(name):
    same(SLICE_CHANGES[name], name)


def test_vmap_slice_change_where_pytorch_refuses_backward_is_exact():
    """PyTorch refuses this backward (sin saved the values add_ then changed); chainrule's
    recorded change keeps what sin read, and the gradient is the exact one."""
    x = cr.tensor(A43, requires_grad=True)
    cr.func.vmap(lambda r: r.add_(r.sin()).exp())(x * 2).sum().backward()
    want = np.exp(2 * A43 + np.sin(2 * A43)) * (2 + 2 * np.cos(2 * A43))
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-13)


DEBUG_UNWRAP = {  # func.debug_unwrap was missing (inside vmap PyTorch's result is undefined)
    "inside_grad": lambda L: L.func.grad(lambda r: (L.func.debug_unwrap(r, recurse=False)
                                                    .detach() * r).sum())(T(L, X3)),
    "plain": lambda L: L.func.debug_unwrap(T(L, X3)),
}


@pytest.mark.parametrize("name", sorted(DEBUG_UNWRAP))
def test_debug_unwrap(name):
    same(DEBUG_UNWRAP[name], name)


# --- seeded random vmap programs, values and float64 gradients --------------------------------


UNARY = {  # name: (function of one slice, minimum slice ndim)
    "sum_last": (lambda L, r: r.sum(-1), 1),
    "softmax": (lambda L, r: L.softmax(r, 0) * r, 1),
    "logsumexp": (lambda L, r: L.logsumexp(r, -1), 1),
    "outer": (lambda L, r: r.reshape(-1)[:2].outer(r.reshape(-1)[-2:]), 1),
    "matmul_self": (lambda L, r: r @ r.mT, 2),
    "norm": (lambda L, r: L.linalg.vector_norm(r, dim=0), 1),
    "cumprod": (lambda L, r: r.cumprod(0), 1),
    "max": (lambda L, r: r.max(0).values, 1),
    "index": (lambda L, r: r[..., ::2] * r[..., :1], 1),
    "tanh_mean": (lambda L, r: r.tanh().mean(), 0),
    "where": (lambda L, r: L.where(r > 0, r ** 2, r.exp()), 0),
    "flatten_cat": (lambda L, r: L.cat([r.reshape(-1), r.reshape(-1) * 2]), 0),
}
BINARY = {
    "mul": (lambda L, a, b: a * b, 0),
    "matmul": (lambda L, a, b: a @ b.mT, 2),
    "atan2": (lambda L, a, b: L.atan2(a, b), 0),
    "stack": (lambda L, a, b: L.stack([a, b], -1).sum(0), 1),
    "mse": (lambda L, a, b: L.nn.functional.mse_loss(a, b), 0),
}


def _random_program(seed):
    rng = np.random.default_rng(seed)
    binary = rng.random() < 0.5
    table = BINARY if binary else UNARY
    name = sorted(table)[rng.integers(len(table))]
    fn, min_nd = table[name]
    nd = int(rng.integers(max(min_nd, 1), 4))
    shape = [int(s) for s in rng.integers(2, 4, nd)]
    size = int(rng.integers(1, 4))
    arrays, in_dims = [], []
    for k in range(2 if binary else 1):
        mapped = k == 0 or rng.random() < 0.6
        d = int(rng.integers(-nd - 1, nd + 1)) if mapped else None
        s = list(shape)
        if d is not None:
            s.insert(d % (nd + 1), size)
        arrays.append(rng.normal(size=s))
        in_dims.append(d)
    out_dims = int(rng.integers(-1, 1))
    chunk = [None, 1, 2][rng.integers(3)]
    return name, fn, arrays, tuple(in_dims), out_dims, chunk


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.filterwarnings("ignore:An output with one or more elements was resized")  # torch's
def test_random_vmap_programs(seed):
    name, fn, arrays, in_dims, out_dims, chunk = _random_program(seed)

    def program(L, *xs):
        return L.func.vmap(lambda *s: fn(L, *s), in_dims=in_dims, out_dims=out_dims,
                           chunk_size=chunk)(*xs)
    check(torch, program, *arrays, grad=tuple(range(len(arrays))),
          label=f"{name} in_dims={in_dims} out_dims={out_dims} chunk={chunk}")



def _vjp_cotangent_grad(L, outer):
    x = T(L, X3)
    ct = T(L, Y3).requires_grad_()
    _, fn = L.func.vjp(lambda a: (a.sin() * a, a.exp()), x)
    g = fn((ct, ct * 2))[0] if not outer else L.func.grad(
        lambda c: fn((c, c * 2))[0].pow(2).sum())(ct)
    if outer:
        return g
    g.pow(2).sum().backward()
    return g, ct.grad


@pytest.mark.parametrize("outer", [False, True])
def test_vjp_fn_is_differentiable_in_its_cotangents(outer):
    """vjp_fn's products were detached when the primals did not require grad, even for
    cotangents that did: their gradient was lost (backward raised, or a sum skipped them)."""
    same(lambda L: _vjp_cotangent_grad(L, outer), f"outer={outer}")


# --- derivatives through weights the function captures ----------------------------------------
# The transforms recorded their derivatives only when an argument required grad, so a weight
# the function used without taking it as an argument (a model's parameter) got no gradient from
# a loss on them: a gradient penalty by func.grad trained nothing, silently.

W23 = RNG.normal(size=(2, 3))
X13 = RNG.normal(size=(1, 3))


def _captured(L, name):
    w = T(L, W23).requires_grad_()
    x = T(L, X13)

    def f(a):
        return (a @ w.T).tanh()
    results = {
        "grad": lambda: L.func.grad(lambda a: f(a).sum())(x),
        "grad_and_value": lambda: L.func.grad_and_value(lambda a: f(a).sum())(x),
        "grad_aux": lambda: L.func.grad(lambda a: (f(a).sum(), f(a) * 2), has_aux=True)(x),
        "vjp": lambda: L.func.vjp(f, x)[1](T(L, [[1.0, -2.0]])),
        "vjp_out": lambda: L.func.vjp(f, x)[0],
        "jvp": lambda: L.func.jvp(f, (x,), (T(L, X13 * 2),)),
        "jacrev": lambda: L.func.jacrev(f)(x),
        "jacfwd": lambda: L.func.jacfwd(f)(x),
        "hessian": lambda: L.func.hessian(lambda a: f(a).sum())(x[0]),
        "vmap_grad": lambda: L.func.vmap(L.func.grad(lambda a: f(a).sum()))(
            T(L, RNG_X43)),
    }
    out = results[name]()
    loss = sum(((leaf - 0.3) ** 2).sum() for _, leaf in _leaves(out))
    loss.backward()
    return out, w.grad


RNG_X43 = np.random.default_rng(153).normal(size=(4, 1, 3))
CAPTURED = ["grad", "grad_and_value", "grad_aux", "vjp", "vjp_out", "jvp", "jacrev", "jacfwd",
            "hessian", "vmap_grad"]  # (PyTorch's linearize traces captured weights as constants)


@pytest.mark.parametrize("name", CAPTURED)
def test_transforms_are_differentiable_in_captured_weights(name):
    same(lambda L: _captured(L, name), name)


def _gradient_penalty(L):
    """WGAN-GP's penalty with torch.func.grad over a critic's input, then one step."""
    L.manual_seed(0)
    critic = L.nn.Sequential(L.nn.Linear(3, 5), L.nn.Tanh(), L.nn.Linear(5, 1)).double()
    r = np.random.default_rng(7)
    critic.load_state_dict({k: L.tensor(r.normal(size=tuple(v.shape)))
                            for k, v in critic.state_dict().items()})
    x = L.tensor(r.normal(size=(6, 3)))
    grads = L.func.vmap(L.func.grad(lambda xi: critic(xi.unsqueeze(0)).squeeze()))(x)
    penalty = ((grads.norm(dim=1) - 1) ** 2).mean()
    penalty.backward()
    return penalty, [p.grad for p in critic.parameters()], grads.requires_grad


def test_gradient_penalty_by_func_grad_trains_the_critic():
    same(_gradient_penalty, "gradient penalty")


def test_no_recording_without_captured_weights_or_under_no_grad():
    x, w = cr.tensor(X13), cr.tensor(W23, requires_grad=True)
    assert not cr.func.grad(lambda a: (a ** 3).sum())(x).requires_grad
    assert not cr.func.jacrev(lambda a: a @ cr.tensor(W23).T)(x).requires_grad
    with cr.no_grad():
        assert not cr.func.grad(lambda a: (a @ w.T).tanh().sum())(x).requires_grad
        assert not cr.func.jacrev(lambda a: a @ w.T)(x).requires_grad


# --- seeded random compositions of grad/jacrev/jacfwd/hessian, under vmap or not ---------------

SCALARS = [
    lambda L, a, b: (a.sin() * b).sum() + (a ** 2).sum() * b.mean(),
    lambda L, a, b: L.logsumexp(a * b, 0) + (a.tanh() @ b),
    lambda L, a, b: (L.softmax(a, 0) * b.exp()).sum(),
    lambda L, a, b: L.linalg.vector_norm(a - b) ** 3,  # (never at a == b: PyTorch's NaN there)
]


def _transform(L, kind, f, argnums):
    return getattr(L.func, kind)(f, argnums=argnums)


def _first(out):
    while isinstance(out, (tuple, list)):
        out = out[0]
    return out


@pytest.mark.parametrize("seed", range(30))
def test_random_transform_compositions(seed):
    rng = np.random.default_rng(1500 + seed)
    fn = SCALARS[rng.integers(len(SCALARS))]
    outer = ["grad", "jacrev", "jacfwd", "hessian"][rng.integers(4)]
    inner = ["grad", "jacrev", "jacfwd", None][rng.integers(4)]
    argnums = [0, 1, (0, 1)][rng.integers(3)]
    mapped = bool(rng.random() < 0.5)
    a, b = rng.normal(size=3), rng.normal(size=3)

    def program(L):
        def h(x, y):
            if inner is None:
                return fn(L, x, y)
            d = _first(_transform(L, inner, lambda p, q: fn(L, p, q), 0)(x, y))
            return d.sum() if outer in ("grad", "hessian") else d
        t = _transform(L, outer, h, argnums)
        if mapped:
            return L.func.vmap(t, in_dims=(0, None))(T(L, np.stack([a, b + 0.5, 2 * a])), T(L, b))
        return t(T(L, a), T(L, b))
    same(program, f"{outer}({inner}) argnums={argnums} vmap={mapped}", rtol=1e-9)


def _pinn_step(L):
    """A physics-informed network's residual: the Laplacian of u(x) by vmap(hessian) and the
    gradient by vmap(jacrev), both through the network's own (captured) parameters."""
    L.manual_seed(0)
    net = L.nn.Sequential(L.nn.Linear(2, 6), L.nn.Tanh(), L.nn.Linear(6, 1)).double()
    r = np.random.default_rng(11)
    net.load_state_dict({k: L.tensor(r.normal(size=tuple(v.shape)))
                         for k, v in net.state_dict().items()})
    x = L.tensor(r.normal(size=(5, 2)))

    def u(p):
        return net(p.unsqueeze(0)).squeeze()
    lap = L.func.vmap(L.func.hessian(u))(x).diagonal(dim1=-2, dim2=-1).sum(-1)
    grad_u = L.func.vmap(L.func.jacrev(u))(x)
    loss = ((lap + 1) ** 2).mean() + (grad_u ** 2).sum(-1).mean()
    loss.backward()
    return loss, [p.grad for p in net.parameters()]


def test_physics_informed_loss_trains_the_network():
    same(_pinn_step, "pinn", rtol=1e-9)



def _forward_mode_change(L, kind):
    x = T(L, X3)
    t = T(L, Y3)
    f = {"mul_": lambda a: a.mul_(2) ** 2,
         "setitem": lambda a: (a.__setitem__(0, a[1] * 3), a.sin())[1],
         "none": lambda a: a.sin() * a}[kind[1]]
    out = (L.func.jvp(f, (x,), (t,)) if kind[0] == "jvp" else L.func.jacfwd(f)(x))
    return out, x


@pytest.mark.parametrize("kind", [(k, c) for k in ("jvp", "jacfwd")
                                  for c in ("mul_", "setitem", "none")])
def test_forward_mode_primals_may_change_in_place(kind):
    """PyTorch's forward mode lets the function change its primals in place (and the caller's
    tensor changes); chainrule's jvp/jacfwd refused ('a leaf tensor that requires grad')."""
    same(lambda L: _forward_mode_change(L, kind), str(kind))


LINEARIZE = {  # pytree primals and no primals were refused; a tangent of another dtype accepted
    "dict_primal": lambda L: L.func.linearize(lambda d: d["a"].sin() * d["b"],
                                              {"a": T(L, X3), "b": T(L, Y3)})[1](
        {"a": T(L, Y3), "b": T(L, X3)}),
    "tuple_primal": lambda L: L.func.linearize(lambda p: p[0].sin() * p[1],
                                               (T(L, X3), T(L, Y3)))[1]((T(L, Y3), T(L, X3))),
    "no_primals": lambda L: L.func.linearize(lambda: L.ones(2, dtype=L.float64))[0],
    "float32_tangent": lambda L: L.func.linearize(lambda a: a.sin(), T(L, X3))[1](T(L, Y3).float()),
    "wrong_shape": lambda L: L.func.linearize(lambda a: a.sin(), T(L, X3))[1](T(L, Y3[:2])),
    "wrong_count": lambda L: L.func.linearize(lambda a: a.sin(), T(L, X3))[1](T(L, Y3), T(L, Y3)),
    "two_primals": lambda L: L.func.linearize(lambda a, b: a * b.exp(), T(L, X3), T(L, Y3))[1](
        T(L, Y3), T(L, X3)),
    "tuple_output": lambda L: L.func.linearize(lambda a: (a.sin(), a.sum()), T(L, X3))[1](T(L, Y3)),
}


@pytest.mark.parametrize("name", sorted(LINEARIZE))
def test_linearize(name):
    same(LINEARIZE[name], name)
