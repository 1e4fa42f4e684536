"""Fuzz wave 18: torch.func's refusals, checked against PyTorch 2.13 on the same arrays.

What was wrong before this wave: with ``has_aux=True``, ``grad``, ``grad_and_value``, ``vjp``,
``jvp``, ``jacrev`` and ``jacfwd`` returned an aux that was not made of Tensors (``None``, an int,
a float inside a tuple) where PyTorch raises; ``vjp``, ``jvp``, ``jacrev`` and ``jacfwd`` of a
function returning an empty tuple/list/dict returned empty results where PyTorch raises (nothing
to differentiate); ``jvp`` took lists as ``primals``/``tangents``, tangents of another container
than the primals (a list for a tuple), and no primal Tensor at all, each refused by PyTorch;
``jacfwd`` (and ``hessian``) with the default ``randomness='error'`` computed a Jacobian of a
function that draws random numbers, where PyTorch raises.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402

from ._case_loop import each_case, grid  # noqa: E402

ERRORS = (RuntimeError, TypeError, ValueError)
X = np.random.default_rng(18).normal(size=3)


def _run(lib, scenario):
    x = lib.tensor(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return scenario(lib, x)
        except ERRORS as e:
            return e


def _leaves(tree):
    if isinstance(tree, dict):
        return [leaf for v in tree.values() for leaf in _leaves(v)]
    if isinstance(tree, (tuple, list)):
        return [leaf for v in tree for leaf in _leaves(v)]
    return [tree]


def _aux(out):
    return lambda a: (out(a), {"a": [a * 2, out(a)]})


REFUSED = {
    "grad_aux_none": lambda L, x: L.func.grad(lambda a: (a.sum(), None), has_aux=True)(x),
    "grad_aux_int_in_tuple": lambda L, x: L.func.grad(lambda a: (a.sum(), (a, 3)),
                                                      has_aux=True)(x),
    "grad_and_value_aux_float": lambda L, x: L.func.grad_and_value(
        lambda a: (a.sum(), 2.0), has_aux=True)(x),
    "vjp_aux_int": lambda L, x: L.func.vjp(lambda a: (a * 2, 3), x, has_aux=True),
    "jvp_aux_str": lambda L, x: L.func.jvp(lambda a: (a * 2, "s"), (x,), (x,), has_aux=True),
    "jacrev_aux_none_in_dict": lambda L, x: L.func.jacrev(lambda a: (a * 2, {"k": None}),
                                                          has_aux=True)(x),
    "jacfwd_aux_int": lambda L, x: L.func.jacfwd(lambda a: (a * 2, 3), has_aux=True)(x),
    "vjp_empty_dict_output": lambda L, x: L.func.vjp(lambda a: {}, x),
    "jacrev_empty_tuple_output": lambda L, x: L.func.jacrev(lambda a: ())(x),
    "jacfwd_empty_list_output": lambda L, x: L.func.jacfwd(lambda a: [])(x),
    "jvp_empty_output": lambda L, x: L.func.jvp(lambda a: (), (x,), (x,)),
    "jvp_list_primals": lambda L, x: L.func.jvp(lambda a: a * 2, [x], [x]),
    "jvp_list_tangents": lambda L, x: L.func.jvp(lambda a: a * 2, (x,), [x]),
    "jvp_tangent_list_for_tuple": lambda L, x: L.func.jvp(lambda p: p[0] * 2, ((x,),), ([x],)),
    "jvp_no_primals": lambda L, x: L.func.jvp(lambda: x * 2, (), ()),
    "jvp_only_empty_containers": lambda L, x: L.func.jvp(lambda a: x * 2, ((),), ((),)),
}

ACCEPTED = {
    "grad_aux_empty_containers": lambda L, x: L.func.grad(lambda a: (a.sum(), ((), [], {})),
                                                          has_aux=True)(x),
    "grad_aux_tensors": lambda L, x: L.func.grad(_aux(lambda a: (a ** 3).sum()),
                                                 has_aux=True)(x),
    "vjp_aux_tensors": lambda L, x: (lambda o, fn, aux: (o, fn(L.ones_like(o)), aux))(
        *L.func.vjp(_aux(lambda a: a.sin()), x, has_aux=True)),
    "jvp_aux_tensors": lambda L, x: L.func.jvp(_aux(lambda a: a.sin()), (x,), (x,),
                                               has_aux=True),
    "jacrev_aux_tensors": lambda L, x: L.func.jacrev(_aux(lambda a: a.exp()), has_aux=True)(x),
    "jacfwd_aux_tensors": lambda L, x: L.func.jacfwd(_aux(lambda a: a.exp()), has_aux=True)(x),
    "jvp_list_inside_tuple": lambda L, x: L.func.jvp(lambda p: p[0] * p[1], ([x, x],),
                                                     ([x, x * 0],)),
    "linearize_no_primals": lambda L, x: L.func.linearize(lambda: x * 2)[0],
}


def _refused_as_in_pytorch_case(name):
    want, got = _run(torch, REFUSED[name]), _run(cr, REFUSED[name])
    assert isinstance(want, Exception), f"{name}: torch computed {want!r}"
    assert isinstance(got, Exception), f"{name}: chainrule computed {got!r}, torch raised {want!r}"


def test_refused_as_in_pytorch():
    each_case(_refused_as_in_pytorch_case, grid(("name", sorted(REFUSED))))


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_as_in_pytorch(name):
    want, got = _run(torch, ACCEPTED[name]), _run(cr, ACCEPTED[name])
    assert not isinstance(want, Exception), f"{name}: torch raised {want!r}"
    assert not isinstance(got, Exception), f"{name}: chainrule raised {got!r}"
    w, g = _leaves(want), _leaves(got)
    assert len(w) == len(g) and w, name
    for a, b in zip(g, w):
        assert tuple(a.shape) == tuple(b.shape), name
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12,
                                   atol=1e-14, err_msg=name)


def test_the_refusals_name_what_was_wrong():
    x = cr.tensor(X)
    with pytest.raises(RuntimeError, match=r"grad_and_value: with has_aux=True the aux .* "
                                           r"got one of type int"):
        cr.func.grad(lambda a: (a.sum(), (a, 3)), has_aux=True)(x)
    with pytest.raises(RuntimeError, match=r"jacrev: the function must return at least one "
                                           r"Tensor, got an empty output"):
        cr.func.jacrev(lambda a: {})(x)
    with pytest.raises(TypeError, match=r"jvp: primals must be a tuple .* got list"):
        cr.func.jvp(lambda a: a, [x], (x,))
    with pytest.raises(TypeError, match=r"jvp: tangents must be a tuple .* got list"):
        cr.func.jvp(lambda a: a, (x,), [x])
    with pytest.raises(ValueError, match=r"jvp: tangents must have the structure of primals, "
                                         r"tuple\(tuple\(\*\)\), got tuple\(list\(\*\)\)"):
        cr.func.jvp(lambda p: p[0], ((x,),), ([x],))
    with pytest.raises(ValueError, match=r"jvp: primals must contain at least one Tensor"):
        cr.func.jvp(lambda: x, (), ())


def test_vmap_runs_value_dependent_functions_slice_by_slice():
    """PyTorch's vmap refuses these (docs/pytorch.md); chainrule's loop gives each slice's own
    answer, the same as calling the function on each row."""
    rows = np.random.default_rng(1).normal(size=(4, 3))
    x = cr.tensor(rows)
    fns = [lambda r: r * 2 if float(r.sum()) > 0 else -r,
           lambda r: cr.tensor(r.sum().item() + len(r.tolist())),
           lambda r: cr.unique(r > 5)]
    for fn in fns:
        got = cr.func.vmap(fn)(x)
        want = cr.stack([fn(cr.tensor(row)) for row in rows])
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_vmap_refuses_outputs_that_differ_between_slices():
    x = cr.tensor([[1.0, -1.0, 2.0], [1.0, 2.0, 3.0]], dtype=cr.float64)
    with pytest.raises(ValueError, match=r"vmap: the function returned int64\(2, 1\) for slice 0 "
                                         r"and int64\(3, 1\) for slice 1; .* nonzero"):
        cr.func.vmap(lambda r: cr.nonzero(r > 0))(x)
    with pytest.raises(ValueError, match=r"float64\(3,\) for slice 0 and int64\(3,\) for slice 1"):
        cr.func.vmap(lambda r: r if float(r.min()) < 0 else r.long())(x)
    with pytest.raises(ValueError, match=r"and NoneType for slice 1"):
        cr.func.vmap(lambda r: r if float(r.min()) < 0 else None)(x)


def test_vmap_refuses_dict_dims_with_the_keys_in_another_order():
    d = {"a": cr.zeros(3, 5), "b": cr.zeros(4, 3)}
    with pytest.raises(ValueError, match=r"in_dims\[0\] has structure \{'b': \*, 'a': \*\} but "
                                         r"argument 0 has structure \{'a': \*, 'b': \*\}"):
        cr.func.vmap(lambda d: d["a"].sum() + d["b"].sum(), in_dims=({"b": 1, "a": 0},))(d)
    with pytest.raises(ValueError, match=r"out_dims has structure"):
        cr.func.vmap(lambda p: {"a": p, "b": p}, out_dims={"b": 1, "a": 0})(cr.zeros(3, 4))


RANDOM = {
    "dropout": lambda L, a: L.nn.functional.dropout(a, 0.5),
    "randn": lambda L, a: a * L.randn(3, dtype=a.dtype),
    "rand_like": lambda L, a: a * L.rand_like(a),
}


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_jacfwd_and_hessian_refuse_random_draws_by_default(name):
    """PyTorch's jacfwd vmaps over the tangents with randomness='error' by default (hessian
    too); chainrule's drew once and returned a Jacobian. With 'same'/'different' both compute."""
    op = RANDOM[name]
    for mode, refused in (("error", True), ("same", False), ("different", False)):
        want = _run(torch, lambda L, x: L.func.jacfwd(lambda a: op(L, a), randomness=mode)(x))
        got = _run(cr, lambda L, x: L.func.jacfwd(lambda a: op(L, a), randomness=mode)(x))
        assert isinstance(want, Exception) == refused, (name, mode, want)
        assert isinstance(got, Exception) == refused, (name, mode, got)
        if not refused:
            assert tuple(got.shape) == tuple(want.shape) == (3, 3)
            off_diagonal = got.numpy()[~np.eye(3, dtype=bool)]
            assert not off_diagonal.any(), (name, mode)  # elementwise: a diagonal Jacobian
    with pytest.raises(RuntimeError, match=r"jacfwd: the function called a random operation "
                                           r"while randomness='error'"):
        cr.func.hessian(lambda a: op(cr, a).sum())(cr.tensor(X))
    assert isinstance(_run(torch, lambda L, x: L.func.hessian(lambda a: op(L, a).sum())(x)),
                      Exception)
