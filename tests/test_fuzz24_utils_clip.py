"""Fuzz wave 24, gradient clipping against PyTorch 2.13: the gradients change in place.

What this wave found (fixed): ``clip_grad_norm_``, ``clip_grad_value_`` and
``clip_grads_with_norm_`` gave each parameter a new ``.grad`` Tensor, so a gradient held before
the call (``g = p.grad``, a list of them kept for logging, accumulation or a second optimizer)
kept the unclipped values, silently; and a gradient with a graph (``backward(create_graph=True)``)
lost it. PyTorch scales the same Tensors in place. Now the same Tensor holds the clipped values
(a new array: one array may be shared by two gradients, which must not be scaled twice).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

CALLS = {
    "norm": lambda lib, ps: lib.nn.utils.clip_grad_norm_(ps, 0.5),
    "norm inf": lambda lib, ps: lib.nn.utils.clip_grad_norm_(ps, 0.5, norm_type="inf"),
    "value": lambda lib, ps: lib.nn.utils.clip_grad_value_(ps, 0.3),
    "with norm": lambda lib, ps: lib.nn.utils.clip_grads_with_norm_(ps, 0.5, lib.tensor(4.0)),
}


@pytest.mark.torch
@pytest.mark.parametrize("call", list(CALLS))
def test_a_gradient_held_before_clipping_sees_the_clipped_values(call):
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (cr, torch):
        w = lib.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
        b = lib.tensor([1.0, -2.0], requires_grad=True)
        ((w @ b + b) ** 2).sum().backward()  # w's and b's gradients from one backward
        held = [w.grad, b.grad]
        CALLS[call](lib, [w, b, b])  # b listed twice: scaled twice, as PyTorch does
        assert w.grad is held[0] and b.grad is held[1]
        seen.append([g.numpy().copy() for g in held])
    for ours, theirs in zip(*seen, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_one_array_shared_by_two_gradients_is_scaled_once_for_each():
    shared = cr.tensor([3.0, 4.0])
    p, q = cr.zeros(2, requires_grad=True), cr.zeros(2, requires_grad=True)
    p.grad, q.grad = shared, cr.Tensor(shared._data)  # two Tensors, one array
    cr.nn.utils.clip_grad_norm_([p, q], 1.0)
    expected = np.array([3.0, 4.0]) / (np.sqrt(50.0) + 1e-6)
    np.testing.assert_allclose(p.grad.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(q.grad.numpy(), expected, rtol=1e-6)
    assert p.grad is shared and p.grad._version == 1


@pytest.mark.torch
def test_a_gradient_with_a_graph_keeps_it_as_pytorchs():
    torch = pytest.importorskip("torch")
    for lib in (cr, torch):
        x = lib.ones(3, requires_grad=True)
        (g,) = lib.autograd.grad((x * x).sum(), x, create_graph=True)
        x.grad = g
        lib.nn.utils.clip_grad_norm_([x], 0.1)
        assert x.grad is g and g.requires_grad
        np.testing.assert_allclose(g.detach().numpy(), np.full(3, 0.1 / 3**0.5), rtol=1e-5)
