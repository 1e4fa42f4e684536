"""Ops whose backward reads their output only (exp, tanh, sigmoid, relu, sqrt, rsqrt, reciprocal,
expm1, exp2, tan, softmax, log_softmax), compared with PyTorch, which saves their result and not
their input: a change of the input in place after the op ran leaves the gradient alone
(``z[3:6] = z[0:3].exp()``, ``h[i] = h[i - 1].tanh() + h[i]``), an unrecorded change of the output
is refused, and saved_tensors_hooks pack the output. Values and float64 gradients are compared, and
whether each side raises."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")

OPS = {
    "exp": lambda t: t.exp(),
    "tanh": lambda t: t.tanh(),
    "sigmoid": lambda t: t.sigmoid(),
    "relu": lambda t: t.relu(),
    "sqrt": lambda t: t.sqrt(),
    "rsqrt": lambda t: t.rsqrt(),
    "reciprocal": lambda t: t.reciprocal(),
    "expm1": lambda t: t.expm1(),
    "exp2": lambda t: t.exp2(),
    "tan": lambda t: t.tan(),
    "softmax": lambda t: t.softmax(-1),
    "log_softmax": lambda t: t.log_softmax(-1),
}
POSITIVE = {"sqrt", "rsqrt", "reciprocal"}  # kept away from 0 and from the negatives


def _input(name, seed=0, shape=(4, 3)):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.2, 1.2, shape)
    if name not in POSITIVE:  # away from relu's kink at 0
        x *= rng.choice([-1.0, 1.0], shape)
    return x


def _both(fn, x):
    """``fn(lib, leaf)`` in both libraries, then backward of sum(out * w): the value and the
    gradient, or the error either raised (forward or backward)."""
    w = np.random.default_rng(1).standard_normal(np.shape(fn(cr, cr.tensor(x)).detach().numpy()))
    results = []
    for lib in (cr, torch):
        leaf = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        try:
            out = fn(lib, leaf)
            (out * lib.tensor(w)).sum().backward()
        except RuntimeError as e:
            results.append(e)
            continue
        results.append((out.detach().numpy().copy(), leaf.grad.numpy().copy()))
    return results


def _same(fn, x, label):
    ours, theirs = _both(fn, x)
    assert not isinstance(theirs, Exception), f"{label}: torch raised {theirs}"
    assert not isinstance(ours, Exception), f"{label}: torch computed, chainrule raised {ours}"
    for a, b, what in zip(ours, theirs, ("value", "gradient")):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13, err_msg=f"{label} {what}")


def _both_refuse(fn, x, label):
    ours, theirs = _both(fn, x)
    assert isinstance(theirs, Exception), label
    assert isinstance(ours, Exception), f"{label}: torch refused, chainrule computed"
    assert "modified by an inplace operation" in str(ours)


def _write_into_view(f):
    def fn(lib, x):
        z = x.clone()
        z[2:4] = f(z[0:2])  # the write changes the memory f read from: not what it saved
        return z
    return fn


def _recurrence(f):
    def fn(lib, x):
        h = x.clone()
        for i in range(1, h.shape[0]):
            h[i] = f(h[i - 1]) + h[i]
        return h
    return fn


def _input_changed_recorded(f):
    def fn(lib, x):
        u = x * 1.5
        y = f(u)
        u.mul_(2)  # recorded
        return y + u
    return fn


def _input_changed_unrecorded(f):
    def fn(lib, x):
        y = f(x)
        with lib.no_grad():  # a step of the leaf's values, as an optimizer makes
            x.add_(0.25)
        return y
    return fn


PATTERNS = {"write into a view": _write_into_view, "recurrence": _recurrence,
            "input changed, recorded": _input_changed_recorded,
            "input changed, unrecorded": _input_changed_unrecorded}


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
@pytest.mark.parametrize("name", sorted(OPS))
def test_a_change_of_the_input_after_the_op_keeps_pytorchs_gradient(name, pattern):
    for seed in range(2):
        _same(PATTERNS[pattern](OPS[name]), _input(name, seed), f"{name}, {pattern}")


@pytest.mark.parametrize("name", sorted(OPS))
def test_the_patterns_pass_gradcheck(name):
    f = OPS[name]
    for pattern in (_write_into_view, _recurrence):
        x = cr.tensor(_input(name, 3, (4, 2)) * 0.5, dtype=cr.float64, requires_grad=True)
        assert gradcheck(lambda t, p=pattern: p(f)(cr, t), (x,))


def _no_grad_add(lib, y):
    with lib.no_grad():
        y.add_(1)


UNRECORDED = {
    "no_grad add_": _no_grad_add,
    "through detach()": lambda lib, y: y.detach().mul_(2),
    "a view under no_grad": lambda lib, y: _no_grad_add(lib, y[1:]),
}


def _an_unrecorded_change_of_the_output_is_refused_as_pytorch_case(name, change):
    def fn(lib, x):
        y = OPS[name](x * 1)
        UNRECORDED[change](lib, y)
        return y
    _both_refuse(fn, _input(name), f"{name}, {change}")


def test_an_unrecorded_change_of_the_output_is_refused_as_pytorch():
    each_case(_an_unrecorded_change_of_the_output_is_refused_as_pytorch_case, grid(
        ("name", sorted(OPS)),
        ("change", sorted(UNRECORDED)),
    ))


@pytest.mark.parametrize("name", ["exp", "tanh", "softmax", "relu"])
def test_a_recorded_change_of_the_output_keeps_the_gradient_more_permissive_than_pytorch(name):
    # PyTorch refuses y.add_(1) after y = f(x); chainrule's recorded change keeps a copy of y's
    # earlier values for f's backward (docs/autograd.md), so the gradient is f'(x).
    def changed(lib, x):
        y = OPS[name](x * 1)
        y.add_(1)
        return y

    def plain(lib, x):
        return OPS[name](x * 1) + 1

    x = _input(name)
    ours, theirs = _both(changed, x)
    assert isinstance(theirs, Exception)
    expected, _ = _both(plain, x)
    for a, b in zip(ours, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def _packs(lib, build):
    packed, unpacked = [], []

    def pack(t):
        packed.append(t)
        return t

    def unpack(t):
        unpacked.append(tuple(t.shape))
        return t

    a = lib.tensor(_input("sqrt", 4, (2, 3)), dtype=lib.float64, requires_grad=True)
    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        y, loss = build(lib, a)
    kinds = sorted(("input" if p is a else "output" if p is y else "other", tuple(p.shape))
                   for p in packed)
    loss.backward()
    return kinds, sorted(unpacked), a.grad.numpy()


BUILDS = {
    "summed": lambda lib, a, f: (y := f(a), y.sum()),
    "times a weight": lambda lib, a, f: (y := f(a), (y * lib.ones(2, 3, dtype=lib.float64)).sum()),
    "squared": lambda lib, a, f: (y := f(a), (y * y).sum()),
}


def _saved_tensors_hooks_pack_the_output_as_pytorch_case(name, build):
    def fn(lib, a):
        return BUILDS[build](lib, a, OPS[name])
    ours, theirs = _packs(cr, fn), _packs(torch, fn)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)


def test_saved_tensors_hooks_pack_the_output_as_pytorch():
    each_case(_saved_tensors_hooks_pack_the_output_as_pytorch_case, grid(
        ("name", sorted(OPS)),
        ("build", sorted(BUILDS)),
    ))


def _a_packed_output_is_read_as_unpacked_after_a_change_as_pytorch_case(name, hooks):
    # What the hooks keep is theirs: no refusal; a copy keeps the earlier values, the tensor
    # itself shows the change, a hook's scaling reaches the gradient.
    pack = {"copy": lambda t: t.detach().clone(), "identity": lambda t: t,
            "doubled": lambda t: t * 2}[hooks]

    def grad(lib):
        a = lib.tensor(_input(name, 5), dtype=lib.float64, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            y = OPS[name](a)
        with lib.no_grad():
            y.mul_(3)
        y.sum().backward()
        return a.grad.numpy()

    np.testing.assert_allclose(grad(cr), grad(torch), rtol=1e-12, atol=1e-13)


def test_a_packed_output_is_read_as_unpacked_after_a_change_as_pytorch():
    each_case(_a_packed_output_is_read_as_unpacked_after_a_change_as_pytorch_case, grid(
        ("name", ["exp", "tanh", "sigmoid", "sqrt", "softmax", "relu"]),
        ("hooks", ["copy", "identity", "doubled"]),
    ))


@pytest.mark.parametrize("hooks", [None, "copy"])
@pytest.mark.parametrize("name", sorted(OPS))
def test_second_order_through_the_output_after_the_input_changed(name, hooks):
    def hess(lib):
        x = lib.tensor(_input(name, 6, (2, 3)), dtype=lib.float64, requires_grad=True)
        ctx = (lib.autograd.graph.saved_tensors_hooks(lambda t: t.detach().clone(), lambda t: t)
               if hooks else lib.enable_grad())
        with ctx:
            u = x * 1.5
            y = OPS[name](u)
            u.mul_(2)
            loss = (y * y).sum() + u.sum()
            (g,) = lib.autograd.grad(loss, x, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), x)
        return g.detach().numpy(), h.numpy()

    for a, b in zip(hess(cr), hess(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _ng(lib, change):
    with lib.no_grad():
        change()


UNRECORDED_INPUT = {
    "clone, exp": lambda lib, x: (u := x.clone(), y := u.exp(), _ng(lib, lambda: u.add_(1)), y),
    "matmul, tanh": lambda lib, x: (u := x @ x.T, y := u.tanh(), _ng(lib, lambda: u.mul_(2)), y),
    "product, exp": lambda lib, x: (u := x * 1.5, y := u.exp(), _ng(lib, lambda: u.add_(1)), y),
    "then a recorded change": lambda lib, x: (u := x.clone(), y := u.sigmoid(),
                                              _ng(lib, lambda: u.add_(1)), u.mul_(x), y + u),
    "then read again": lambda lib, x: (u := x.clone(), y := u.relu(),
                                       _ng(lib, lambda: u.add_(1)), y + u * u),
    "through a view": lambda lib, x: (u := x.clone(), y := u[0].softmax(-1),
                                      _ng(lib, lambda: u[0].add_(1)), y),
}


@pytest.mark.parametrize("case", sorted(UNRECORDED_INPUT))
def test_an_op_output_changed_outside_the_graph_after_a_node_that_does_not_read_it(case):
    # The op's node takes the unrecorded change as its own (inplace.mark_changed); a node that
    # read the output before it and does not read its values stays connected to that node.
    _same(lambda lib, x: UNRECORDED_INPUT[case](lib, x)[-1], _input("exp", 7), case)


UNRECORDED_READ = {
    "clone, squared": lambda lib, x: (u := x.clone(), y := u * u, _ng(lib, lambda: u.add_(1)), y),
    "product, times x": lambda lib, x: (u := x * 1.5, y := u * x,
                                        _ng(lib, lambda: u.add_(1)), y),
    "matmul, sin": lambda lib, x: (u := x @ x.T, y := u.sin(), _ng(lib, lambda: u.mul_(2)), y),
}


@pytest.mark.parametrize("case", sorted(UNRECORDED_READ))
def test_a_changed_output_that_a_node_reads_is_still_refused(case):
    _both_refuse(lambda lib, x: UNRECORDED_READ[case](lib, x)[-1], _input("exp", 8), case)
