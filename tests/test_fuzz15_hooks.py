"""Fuzz wave 15, hooks on the autograd graph: grad_fn.register_prehook / register_hook on random
chains of nodes (returning replacements, None entries, removed again) beside tensor hooks and
retain_grad, AccumulateGrad's hooks (y.grad_fn.next_functions[i][0]) beside post-accumulate
hooks, Node.metadata and Node.name(), register_multi_grad_hook in both modes, each run in
chainrule and PyTorch 2.13 and compared: the hooks' calls (order and arguments), gradients and
errors. The leaves' hooks are compared in their own order: PyTorch runs a leaf's as soon as its
gradient is complete, chainrule's after the other nodes; and no hook drops a whole gradient
(PyTorch then still runs the nodes below, with None, chainrule does not; docs/pytorch.md)."""

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

ERRORS = (RuntimeError, TypeError, ValueError)


def _plain(o):
    if isinstance(o, (tuple, list)):
        return [_plain(x) for x in o]
    if hasattr(o, "detach"):
        return ("T", str(o.dtype).replace("torch.", ""), tuple(o.shape),
                o.detach().numpy().copy())
    return o


def _same(a, b, where=""):
    if isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{where}: {len(a)} items, torch's {len(b)}: {a} {b}"
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, tuple) and a[:1] == ("T",) and isinstance(b, tuple):
        assert a[1:3] == b[1:3], f"{where}: chainrule {a[1:3]}, torch {b[1:3]}"
        np.testing.assert_allclose(a[3], b[3], rtol=1e-12, atol=1e-12, err_msg=where)
    else:
        assert a == b, f"{where}: chainrule {a!r}, torch {b!r}"


def both(program, label=""):
    """``program(lib)`` in chainrule and PyTorch: both raise, or both give the same."""
    got = []
    for lib in (cr, torch):
        try:
            got.append((True, _plain(program(lib))))
        except ERRORS as e:
            got.append((False, e))
    (c_ok, c), (t_ok, t) = got
    assert c_ok == t_ok, f"{label}: chainrule {'computed' if c_ok else repr(c)}, torch " \
                         f"{'computed' if t_ok else repr(t)}"
    if c_ok:
        _same(c, t, label)


def _t(lib, values, requires_grad=True):
    return lib.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# ops whose nodes have the same inputs in both libraries: (name, uses a new leaf, function)
_OPS = [("mul", True, lambda h, w: h * w), ("add", True, lambda h, w: h + w),
        ("sub", True, lambda h, w: w - h), ("div", True, lambda h, w: h / (w * w + 1)),
        ("exp", False, lambda h, w: h.exp()), ("tanh", False, lambda h, w: h.tanh()),
        ("sin", False, lambda h, w: h.sin()), ("scale", False, lambda h, w: h * 2.5),
        ("flip", False, lambda h, w: h.flip(0))]


def _gs(gs):
    """Copies: PyTorch adds to a .grad held elsewhere out of place, chainrule in place."""
    return [None if g is None else g.detach().clone() for g in gs]


def _chain_program(seed):
    rng = np.random.default_rng(seed)
    steps = [int(rng.integers(len(_OPS))) for _ in range(int(rng.integers(2, 6)))]
    plans = [(int(rng.integers(0, 8)), int(rng.integers(0, 4)), float(rng.uniform(0.5, 2)),
              bool(rng.random() < 0.3)) for _ in steps]
    values = rng.uniform(-1, 1, (len(steps) + 1, 4))
    weights = rng.standard_normal(4)
    second = bool(rng.integers(2))

    def program(lib):
        log, leaf_log, handles, leaves = [], [], [], [_t(lib, values[0])]
        h = leaves[0]
        for k, (step, (kind, act, scale, drop)) in enumerate(zip(steps, plans)):
            name, new_leaf, op = _OPS[step]
            if new_leaf:
                leaves.append(_t(lib, values[k + 1]))
            h = op(h, leaves[-1])
            node = h.grad_fn
            log.append(("node", k, name, len(node.next_functions)))
            if kind in (0, 1, 6):
                def pre(go, k=k, act=act, scale=scale):
                    log.append(("pre", k, _gs(go)))
                    if act == 1:
                        return tuple(None if g is None else g * scale for g in go)
                    return tuple(go) if act == 2 else None
                handles.append(node.register_prehook(pre))
            if kind in (2, 3, 6):
                def post(gi, go, k=k, act=act, scale=scale):
                    log.append(("post", k, _gs(gi), _gs(go)))
                    if act == 1:
                        return tuple(None if g is None else g * scale for g in gi)
                    return tuple(gi) if act == 3 else None
                handles.append(node.register_hook(post))
            if kind == 4:
                h.register_hook(lambda g, k=k: log.append(("tensor", k, g)) or g * 0.5)
            if kind == 5:
                h.retain_grad()
            accs = [f for f, _ in node.next_functions
                    if f is not None and f.name().endswith("AccumulateGrad")]
            if kind == 7 and accs:
                acc, j = accs[-1], len(leaves) - 1
                acc.register_prehook(lambda go, j=j: leaf_log.append(("acc pre", j, _gs(go))))
                acc.register_hook(lambda gi, go, j=j: leaf_log.append(("acc", j, gi, _gs(go))))
            if drop and handles:
                handles.pop().remove()
        loss = (h * lib.tensor(weights)).sum()
        loss.backward(retain_graph=second)
        out = [[leaf.grad for leaf in leaves], log, leaf_log]
        if second:
            log, leaf_log = [], []
            for handle in handles[::2]:
                handle.remove()
            out.append(lib.autograd.grad(loss, leaves, allow_unused=True))
            out.append(log)
        return out

    return program, f"seed {seed} steps {[_OPS[s][0] for s in steps]} plans {plans}"


@pytest.mark.parametrize("seed", range(60))
def test_random_node_hooks_match_pytorch(seed):
    program, label = _chain_program(seed)
    both(program, label)


def test_node_hooks_run_after_tensor_hooks_and_retain_grad_as_pytorch():
    def program(lib):
        x = _t(lib, [1.0, 2.0])
        y = x * 3
        z = y.exp()
        log = []
        y.register_hook(lambda g: log.append(("tensor", g)) or g * 2)
        y.retain_grad()
        y.grad_fn.register_prehook(lambda go: log.append(("pre", list(go))) or (go[0] * 10,))
        y.grad_fn.register_hook(lambda gi, go: log.append(("post", list(gi), list(go))))
        y.grad_fn.register_prehook(lambda go: log.append(("pre 2", list(go))))
        z.sum().backward()
        return log, y.grad, x.grad, y.grad_fn.name() == type(y.grad_fn).__name__
    both(program)


def _bad_node_hook_results_are_refused_as_pytorch_case(case):
    results = [lambda go, gi: (go[0], go[0]), lambda go, gi: [go[0] * 2], lambda go, gi: go[0],
               lambda go, gi: (go[0][:1],), lambda go, gi: (go[0].float(),),
               lambda go, gi: (None,)]

    def program(lib):
        x = _t(lib, [1.0, 2.0, 3.0, 4.0])
        y = x * 2
        make = results[case % 6]
        if case < 6:
            y.grad_fn.register_prehook(lambda go: make(go, None))
        else:
            y.grad_fn.register_hook(lambda gi, go: make(gi, go))
        y.sum().backward()
        return x.grad
    both(program, f"case {case}")


def test_bad_node_hook_results_are_refused_as_pytorch():
    each_case(_bad_node_hook_results_are_refused_as_pytorch_case, grid(("case", range(12))))


def test_a_post_hook_cannot_give_a_gradient_where_there_was_none_as_pytorch():
    def program(lib):
        x = _t(lib, [1.0, 2.0])
        y = x * _t(lib, [3.0, 4.0], requires_grad=False)
        y.grad_fn.register_hook(lambda gi, go: (gi[0], lib.ones(2, dtype=lib.float64)))
        y.sum().backward()
        return x.grad
    both(program)


def test_multi_output_node_hooks_see_none_for_unused_outputs_as_pytorch():
    def program(lib):
        x = _t(lib, [1.0, 2.0, 3.0, 4.0])
        a, b = x.split(2)
        log = []
        a.grad_fn.register_prehook(lambda go: log.append(("pre", list(go))))
        a.grad_fn.register_hook(lambda gi, go: log.append(("post", list(gi), list(go))))
        b.register_hook(lambda g: log.append("never: b gets no gradient"))
        (a * 2).sum().backward()
        return log, x.grad
    both(program)


def test_accumulate_grad_hooks_order_and_replacement_as_pytorch():
    def program(lib):
        x = _t(lib, [1.0, 2.0])
        log = []
        acc = (x * 1).grad_fn.next_functions[0][0]
        acc.register_hook(lambda gi, go: log.append(("acc post", gi, _gs(go), _gs([x.grad]))))
        acc.register_prehook(lambda go: log.append(("acc pre", _gs(go), _gs([x.grad]))))
        x.register_post_accumulate_grad_hook(lambda t: log.append(("post acc", _gs([t.grad]))))
        x.register_hook(lambda g: log.append(("tensor", _gs([g]))))
        (x * 2).sum().backward()
        acc.register_prehook(lambda go: (go[0] * 100,))
        (x * 2).sum().backward()
        lib.autograd.grad((x * 2).sum(), x)  # grad() runs the tensor hook only
        acc.metadata["key"] = 1
        return log, x.grad, acc.name().endswith("AccumulateGrad"), acc.metadata
    both(program)


def test_an_accumulate_grad_hook_must_return_nothing_as_pytorch():
    def program(lib):
        x = _t(lib, [1.0, 2.0])
        acc = (x * 1).grad_fn.next_functions[0][0]  # PyTorch's hooks live as long as it
        acc.register_hook(lambda gi, go: (go[0],))
        (x * 2).sum().backward()
        return x.grad
    both(program)


def test_node_metadata_is_one_dict_per_node():
    x = cr.tensor([1.0], requires_grad=True)
    y = x * 2
    y.grad_fn.metadata["step"] = 3
    assert y.grad_fn.metadata == {"step": 3}
    assert (x * 2).grad_fn.metadata == {}
    assert isinstance(y.grad_fn, cr.autograd.graph.Node)
    assert isinstance(y.grad_fn.next_functions[0][0], cr.autograd.graph.Node)
    assert not isinstance(x, cr.autograd.graph.Node)
    with pytest.raises(TypeError, match="register_prehook: hook must be callable, got int"):
        y.grad_fn.register_prehook(3)


def test_ddp_style_gradient_ready_hooks_as_pytorch():
    """The pattern of apex's and Horovod's data-parallel wrappers: a hook on each parameter's
    AccumulateGrad reached through p.expand_as(p), called once its gradient is in .grad."""
    def program(lib):
        net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2)).double()
        for p, v in zip(net.parameters(), np.random.default_rng(0).standard_normal(26).cumsum()):
            with lib.no_grad():
                p.fill_(float(v) / 10)
        ready, accs = [], []
        for name, p in net.named_parameters():
            acc = p.expand_as(p).grad_fn.next_functions[0][0]
            acc.register_hook(lambda *_, n=name, p=p: ready.append((n, p.grad.sum().item())))
            accs.append(acc)
        net(_t(lib, np.ones((5, 3)), False)).pow(2).sum().backward()
        return sorted(ready)
    both(program)


def test_multi_grad_hook_as_pytorchs_docstring_example():
    def program(lib):
        rng = np.random.default_rng(1)
        a, b = _t(lib, rng.standard_normal((2, 3))), _t(lib, rng.standard_normal((2, 3)))
        c, d = a * b, a * b
        log = []
        handle = lib.autograd.graph.register_multi_grad_hook(
            (a, b, c, d), lambda grads: log.append(("all", _gs(grads))))
        c.sum().backward(retain_graph=True)
        c.sum().backward(inputs=(a,), retain_graph=True)
        (c + d).sum().backward(retain_graph=True)
        handle.remove()
        (c + d).sum().backward(retain_graph=True)
        e = c.exp()
        x = _t(lib, [2.0])
        lib.autograd.graph.register_multi_grad_hook(
            (e, x, c), lambda grads: log.append(("all3", _gs(grads))))
        (e.sum() * x).sum().backward(retain_graph=True)
        e.sum().backward(retain_graph=True)
        lib.autograd.graph.register_multi_grad_hook(
            (c, d, c * 1), lambda grads: log.append(("grad()", _gs(grads))))
        lib.autograd.grad(c.sum(), (b,), retain_graph=True)
        lib.autograd.grad(c.sum(), (c,), retain_graph=True)
        lib.autograd.grad((c + d).sum(), (a,), retain_graph=True)
        lib.autograd.grad((c + d).sum(), (d,), retain_graph=True)
        return log, a.grad, b.grad
    both(program)


def test_multi_grad_hook_any_mode_calls_once_per_backward_as_pytorch():
    def program(lib):
        a = _t(lib, [1.0, 2.0])
        c = (a * 3).exp()
        log = []
        lib.autograd.graph.register_multi_grad_hook(
            (a, c, lib.tensor([1.0])), lambda g: log.append(_gs([g])), mode="any")
        c.sum().backward(retain_graph=True)
        (c * 2).sum().backward(retain_graph=True)
        (a * 5).sum().backward()
        return log
    both(program)


@pytest.mark.parametrize("mode", ["some", "all"])
def test_multi_grad_hook_bad_arguments_are_refused_as_pytorch(mode):
    def program(lib):
        a = _t(lib, [1.0, 2.0])
        lib.autograd.graph.register_multi_grad_hook((a * 2, lib.ones(2)), print, mode=mode)
    with pytest.raises((ValueError, RuntimeError)):
        program(cr)
    with pytest.raises((ValueError, RuntimeError, AssertionError)):  # PyTorch: an assert
        program(torch)


@pytest.mark.parametrize("sizes", [2, [1, 1, 2], [3, 1]])
def test_hooks_of_a_split_output_without_gradient_get_none_as_pytorch(sizes):
    def program(lib):
        x = _t(lib, [1.0, 2.0, 3.0, 4.0])
        parts = x.split(sizes)
        log = []
        for i, p in enumerate(parts):
            p.register_hook(lambda g, i=i: log.append((i, _gs([g]) if g is not None else None)))
            p.retain_grad()
        (parts[0] * 2).sum().backward(retain_graph=True)
        (gx,) = lib.autograd.grad(parts[-1].sum(), x)
        return log, x.grad, gx, [p.grad for p in parts]
    both(program)


def test_a_hook_may_not_give_a_gradient_to_an_output_that_got_none_as_pytorch():
    def program(lib):
        x = _t(lib, [1.0, 2.0, 3.0, 4.0])
        a, b = x.split(2)
        b.register_hook(lambda g: lib.ones(2, dtype=lib.float64))
        (a * 2).sum().backward()
        return x.grad
    both(program)


@pytest.mark.parametrize("call", ["expand_as", "expand", "expand -1"])
def test_expand_to_its_own_shape_is_a_new_tensor_with_a_node_as_pytorch(call):
    def program(lib):
        x = _t(lib, [[1.0, 2.0], [3.0, 4.0]])
        y = {"expand_as": lambda: x.expand_as(x), "expand": lambda: x.expand(2, 2),
             "expand -1": lambda: x.expand(-1, 2)}[call]()
        (y * y).sum().backward()
        plain = _t(lib, [1.0], requires_grad=False)
        return (y is x, y.is_leaf, y.grad_fn is None, x.grad, plain.expand_as(plain) is plain,
                y.detach().numpy().tolist())
    both(program)


def test_hooks_around_in_place_changes_and_changed_during_backward_as_pytorch():
    def program(lib):
        x, log = _t(lib, [1.0, 2.0]), []
        h = x * 3
        h.register_hook(lambda g: log.append(("before", _gs([g]))))
        h.grad_fn.register_prehook(lambda go: log.append(("node", _gs(go))))
        h.mul_(5)  # hooks registered before see the gradient of the value before the change
        h.register_hook(lambda g: log.append(("after", _gs([g]))))
        (h * h).sum().backward()
        k, handles = (x * 2).exp(), []

        def first(g):
            log.append("first")
            handles[1].remove()  # removed while backward runs: the running list still has it
        handles.append(k.register_hook(first))
        handles.append(k.register_hook(lambda g: log.append("second")))
        k.grad_fn.register_prehook(
            lambda go: (log.append("pre"), k.register_hook(lambda g: log.append("late")), None)[2])
        k.sum().backward(retain_graph=True)
        k.sum().backward()
        return log, x.grad
    both(program)
