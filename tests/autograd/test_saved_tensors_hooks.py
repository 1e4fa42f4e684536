"""torch.autograd.graph.saved_tensors_hooks / disable_saved_tensors_hooks / save_on_cpu:
pack at record time, unpack in backward, compared with PyTorch on a small MLP."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.graph import (
    disable_saved_tensors_hooks,
    save_on_cpu,
    saved_tensors_hooks,
)

torch = pytest.importorskip("torch")


def _mlp(lib, w1, b1, w2, b2):
    net = lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.ReLU(), lib.nn.Linear(5, 3)).double()
    with lib.no_grad():
        for p, v in zip(net.parameters(), (w1, b1, w2, b2)):
            p.copy_(lib.tensor(v))
    return net


def _weights():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s) for s in ((5, 4), (5,), (3, 5), (3,))], \
        rng.standard_normal((6, 4)), rng.standard_normal((6, 3))


def _grads(lib, hooks, create_graph=False):
    weights, x, y = _weights()
    net = _mlp(lib, *weights)
    if hooks is None:
        loss = lib.nn.functional.mse_loss(net(lib.tensor(x)), lib.tensor(y))
    else:
        with lib.autograd.graph.saved_tensors_hooks(*hooks):
            loss = lib.nn.functional.mse_loss(net(lib.tensor(x)), lib.tensor(y))
    loss.backward()
    return [p.grad.detach().numpy().copy() for p in net.parameters()]


@pytest.mark.parametrize("hooks", [
    (lambda t: t, lambda t: t),  # identity
    (lambda t: t.detach().clone(), lambda t: t),  # a copy, as offloading makes
    (lambda t: ("boxed", t), lambda p: p[1]),  # any object can be the packed form
])
def test_gradients_through_value_preserving_hooks_equal_pytorchs_and_the_plain_ones(hooks):
    plain = _grads(cr, None)
    ours, theirs = _grads(cr, hooks), _grads(torch, hooks)
    for a, b, c in zip(ours, theirs, plain):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-14)


def test_a_hook_that_scales_what_is_saved_changes_the_gradients_as_pytorchs_does():
    # Every saved tensor doubled: the weights' gradients of the MLP scale by 8, 4, 4, 2 in
    # PyTorch (the input, the hidden activation and the second weight, the loss's input and
    # target are saved); the same here.
    hooks = (lambda t: t * 2, lambda t: t)
    plain = _grads(cr, None)
    ours, theirs = _grads(cr, hooks), _grads(torch, hooks)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert [float(np.mean(a / p)) for a, p in zip(ours, plain)] == pytest.approx([8, 4, 4, 2])


def test_a_cast_in_the_hooks_matches_pytorchs_gradients():
    hooks = (lambda t: t.float(), lambda t: t.double())  # compress to float32 and back
    ours, theirs = _grads(cr, hooks), _grads(torch, hooks)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def _count(lib, build):
    calls = []

    def pack(t):
        calls.append(("pack", tuple(t.shape)))
        return t

    def unpack(t):
        calls.append(("unpack", tuple(t.shape)))
        return t

    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        out = build(lib)
    packed = list(calls)
    out.backward()
    return packed, calls[len(packed):]


@pytest.mark.parametrize("name, build", [
    ("product", lambda lib: (lib.ones(3, dtype=lib.float64, requires_grad=True)
                             * lib.ones(3, dtype=lib.float64, requires_grad=True)).sum()),
    ("times a tensor that needs no gradient", lambda lib: (lib.ones(3, requires_grad=True)
                                                           * lib.full((3,), 2.0)).mean()),
    ("sum and reshape", lambda lib: (lib.ones(2, 3, requires_grad=True)
                                     + lib.ones(2, 3)).reshape(6).sum()),
    ("quotient", lambda lib: (lib.ones(3, requires_grad=True) / lib.full((3,), 2.0)).sum()),
])
def test_what_elementary_ops_pack_is_what_pytorch_packs(name, build):
    ours, theirs = _count(cr, build), _count(torch, build)
    assert sorted(ours[0]) == sorted(theirs[0])
    assert sorted(ours[1]) == sorted(theirs[1])


def test_pack_runs_at_record_time_and_unpack_in_each_backward():
    ours = _count(cr, lambda lib: lib.nn.functional.mse_loss(
        _mlp(lib, *_weights()[0])(lib.tensor(_weights()[1])), lib.tensor(_weights()[2])))
    theirs = _count(torch, lambda lib: lib.nn.functional.mse_loss(
        _mlp(lib, *_weights()[0])(lib.tensor(_weights()[1])), lib.tensor(_weights()[2])))
    # PyTorch packs 6 tensors for this MLP; chainrule's Linear keeps its weight and bias too
    # (what its backward may read), so the counts differ, but each packed tensor is unpacked
    # once, and what PyTorch packs is packed here too (PyTorch's addmm saves the transposed
    # weight: shapes are compared as sets of sizes).
    shapes = [[tuple(sorted(s)) for _, s in calls] for calls in ours + theirs]
    assert len(shapes[0]) == len(shapes[1]) >= len(shapes[2])
    assert sorted(shapes[0]) == sorted(shapes[1])
    assert all(shapes[2].count(s) <= shapes[0].count(s) for s in set(shapes[2]))
    calls = []
    with saved_tensors_hooks(lambda t: calls.append("pack") or t,
                             lambda t: calls.append("unpack") or t):
        a = cr.ones(3, requires_grad=True)
        y = (a * a).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert calls == ["pack"] * 2 + ["unpack"] * 4  # PyTorch's too


def test_the_innermost_hooks_win():
    seen = []
    with saved_tensors_hooks(lambda t: ("outer", t), lambda p: seen.append(p[0]) or p[1]):
        with saved_tensors_hooks(lambda t: ("inner", t), lambda p: seen.append(p[0]) or p[1]):
            a = cr.ones(3, requires_grad=True)
            y = (a * a).sum()
        b = cr.ones(3, requires_grad=True)
        z = (b * b).sum()
    y.backward()
    z.backward()
    assert seen == ["inner", "inner", "outer", "outer"]


def test_no_hooks_outside_the_block():
    calls = []
    with saved_tensors_hooks(lambda t: calls.append(1) or t, lambda t: t):
        pass
    a = cr.ones(3, requires_grad=True)
    (a * a).sum().backward()
    assert calls == [] and np.allclose(a.grad.numpy(), 2.0)


def test_disable_saved_tensors_hooks_refuses_hooks_as_pytorch():
    for lib in (cr, torch):
        graph = lib.autograd.graph
        with graph.disable_saved_tensors_hooks("no hooks for this feature"):
            with pytest.raises(RuntimeError, match="no hooks for this feature"):
                with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                    pass
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            with pytest.raises(RuntimeError, match="not while hooks are on"):
                with graph.disable_saved_tensors_hooks("not while hooks are on"):
                    pass
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):  # usable again
            pass


def test_an_unpack_hook_must_give_a_tensor():
    for lib in (cr, torch):
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: 3):
            a = lib.ones(3, requires_grad=True)
            y = (a * a).sum()
        with pytest.raises(TypeError, match="unpack_hook expected to be a Tensor"):
            y.backward()
    with pytest.raises(TypeError, match="pack_hook must be callable, got int"):
        saved_tensors_hooks(3, lambda t: t)


def test_custom_functions_pack_what_they_save_for_backward():
    class Cube(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g

    calls = []
    with saved_tensors_hooks(lambda t: calls.append("pack") or t * 2,
                             lambda t: calls.append("unpack") or t):
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        y = Cube.apply(x).sum()
    assert calls == ["pack"]
    y.backward()
    assert calls == ["pack", "unpack"]
    np.testing.assert_allclose(x.grad.numpy(), 3 * (2 * np.array([1.0, 2.0])) ** 2)


def test_second_order_gradients_through_identity_hooks():
    def hessian_diag(lib):
        x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t.detach().clone(), lambda t: t):
            y = (x * x * x).sum()
            (g,) = lib.autograd.grad(y, x, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), x)
        return h.detach().numpy()

    np.testing.assert_allclose(hessian_diag(cr), hessian_diag(torch), rtol=1e-12)


def test_save_on_cpu_keeps_the_gradients():
    plain = _grads(cr, None)
    weights, x, y = _weights()
    net = _mlp(cr, *weights)
    with save_on_cpu(pin_memory=False):
        loss = cr.nn.functional.mse_loss(net(cr.tensor(x)), cr.tensor(y))
    loss.backward()
    for p, g in zip(net.parameters(), plain):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-12)
    assert disable_saved_tensors_hooks("x").error_message == "x"


@pytest.mark.parametrize("pack, expected", [(lambda t: t.detach().clone(), 1.0),
                                            (lambda t: t, 2.0)])
def test_a_packed_input_changed_in_place_is_read_as_unpacked_as_pytorch(pack, expected):
    for lib in (cr, torch):
        with lib.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            a = lib.ones(3, requires_grad=True)
            b = lib.ones(3) * 1.0
            y = (a * b).sum()
        b.add_(1)
        y.backward()
        np.testing.assert_allclose(a.grad.numpy(), expected)


def test_nothing_is_packed_when_nothing_is_recorded():
    calls = []
    with saved_tensors_hooks(lambda t: calls.append(1) or t, lambda t: t):
        with cr.no_grad():
            a = cr.ones(3, requires_grad=True)
            (a * a).sum()
        (cr.ones(3) * cr.ones(3)).sum()
    assert calls == []
