"""grad_fn.next_functions: the 60-minute blitz walks the graph with
``loss.grad_fn.next_functions[0][0]``; the structure (which node feeds which, AccumulateGrad at the
leaves, None for constants, the output index) is PyTorch's, the node names chainrule's own."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule.autograd.function import AccumulateGrad


def _shape(node):
    """The graph below ``node`` as nested tuples of the kinds PyTorch and chainrule share."""
    if node is None:
        return None
    if node.name().endswith("AccumulateGrad"):
        return ("leaf", tuple(node.variable.shape))
    return tuple((_shape(n), i) for n, i in node.next_functions)


def _graph(L):
    w = L.ones(3, dtype=L.float64, requires_grad=True)
    x = L.arange(3.0, dtype=L.float64)
    return (w * x).exp().sum().grad_fn, w


@pytest.mark.torch
def test_the_graph_is_walked_as_in_pytorch():
    torch = pytest.importorskip("torch")
    ours, w = _graph(cr)
    theirs, _ = _graph(torch)
    assert _shape(ours) == _shape(theirs) == ((((((("leaf", (3,)), 0), (None, 0)), 0),), 0),)
    mul = ours.next_functions[0][0].next_functions[0][0]
    leaf = mul.next_functions[0][0]
    assert isinstance(leaf, AccumulateGrad) and leaf.variable is w and leaf.next_functions == ()
    assert leaf == AccumulateGrad(w) and ours.name() == type(ours).__name__


def test_a_multi_output_node_is_named_with_the_output_index():
    x = cr.arange(4.0, dtype=cr.float64).view(2, 2).requires_grad_()
    a, b = x.split(1, dim=1)
    (left, i), (right, j) = (a * b).grad_fn.next_functions
    assert (i, j) == (a.output_nr, b.output_nr) == (0, 1) and left is right is a.grad_fn


def test_a_constant_input_is_none_and_a_released_node_has_none():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * cr.tensor([3.0, 4.0])).sum()
    (mul, _), = y.grad_fn.next_functions
    assert mul.next_functions[1] == (None, 0)
    y.backward()
    assert y.grad_fn.next_functions == ()
