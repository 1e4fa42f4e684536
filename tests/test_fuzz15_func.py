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


@pytest.mark.parametrize("name", sorted(OUT_DIMS))
def test_vmap_out_dims_structures(name):
    same(OUT_DIMS[name], name)


def test_vmap_out_dims_errors_name_the_structures():
    with pytest.raises(ValueError, match=r"out_dims has structure tuple\(\*, tuple\(\*\)\) but "
                                         r"the function's output has structure "
                                         r"tuple\(\*, list\(\*, \*\)\)"):
        cr.func.vmap(lambda x: (x, [x, x]), out_dims=(0, (1,)))(cr.zeros(2, 3))
    with pytest.raises(ValueError, match="out_dims must be ints or None .* got '1'"):
        cr.func.vmap(lambda x: x, out_dims="1")(cr.zeros(2, 3))
