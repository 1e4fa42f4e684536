"""Function.composite: an op whose backward works on arrays gets its higher derivatives from its
forward's formula, rebuilt with recorded ops (autograd/graph.py, ``_through_composite``)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.function import Function


class CubeAndSquare(Function):
    """(x^3, x * y): a backward on raw arrays, which alone could not be differentiated again."""

    calls = {"backward": 0, "composite": 0}

    def forward(self, x, y):
        return x ** 3, x * y

    def backward(self, g3, gxy):
        CubeAndSquare.calls["backward"] += 1
        x, y = (t._data for t in self.inputs)
        gx = 3 * x * x * g3._data + y * gxy._data
        return cr.Tensor(gx), cr.Tensor(x * gxy._data)

    def composite(self, x, y):
        CubeAndSquare.calls["composite"] += 1
        return x * x * x, x * y


def _op(x, y):
    return CubeAndSquare.apply(x, y)


@pytest.fixture(autouse=True)
def _reset_calls():
    CubeAndSquare.calls.update(backward=0, composite=0)


def test_first_order_uses_the_array_backward():
    x = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = cr.tensor([3.0, -1.0], dtype="float64", requires_grad=True)
    a, b = _op(x, y)
    (a.sum() + 2 * b.sum()).backward()
    assert CubeAndSquare.calls == {"backward": 1, "composite": 0}
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.array([1.0, 4.0]) + 2 * np.array([3.0, -1.0]))
    np.testing.assert_allclose(y.grad.numpy(), 2 * np.array([1.0, 2.0]))


def test_create_graph_differentiates_the_composite():
    x = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = cr.tensor([3.0, -1.0], dtype="float64", requires_grad=True)
    a, b = _op(x, y)
    (gx,) = cr.grad(a.sum() + b.sum(), [x], create_graph=True)
    assert CubeAndSquare.calls["composite"] == 1 and CubeAndSquare.calls["backward"] == 0
    assert gx.requires_grad
    np.testing.assert_allclose(gx.numpy(), 3 * np.array([1.0, 4.0]) + np.array([3.0, -1.0]))
    gx.sum().backward()  # d/dx of (3x^2 + y) summed: 6x; d/dy: 1
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(y.grad.numpy(), [1.0, 1.0])


def test_gradgradcheck_through_the_composite(rng):
    x = cr.tensor(rng.standard_normal(4), dtype="float64", requires_grad=True)
    y = cr.tensor(rng.standard_normal(4), dtype="float64", requires_grad=True)
    assert cr.gradcheck(_op, [x, y])
    assert cr.gradgradcheck(_op, [x, y])


def test_an_input_given_twice_gets_its_gradient_once():
    x = cr.tensor([1.5, -2.0], dtype="float64", requires_grad=True)
    a, b = _op(x, x)  # (x^3, x^2)
    (g,) = cr.grad(a.sum() + b.sum(), [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2 + 2 * x.numpy())
    (gg,) = cr.grad(g.sum(), [x])
    np.testing.assert_allclose(gg.numpy(), 6 * x.numpy() + 2)
