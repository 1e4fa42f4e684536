"""Fuzz wave 12: advanced indexing (read and write, ``x[idx] += v``), index_put/index_add/
index_copy/index_fill/index_select, scatter/scatter_add/scatter_reduce, gather, take,
take_along_dim, masked_fill/masked_scatter/masked_select, put_ and where, against PyTorch: values,
dtypes, shapes, float64 gradients and error versus no error.

Before this wave ``t[1] += v`` on a tensor in a graph (a single element by ints) raised "modified
by an inplace operation" at backward. A 0-d integer Tensor in an index selected a copy, where
PyTorch's indexes like an int (a view): ``t[cr.tensor(1)]`` did not show later changes of ``t``,
and ``t[cr.tensor([0]), cr.tensor(0)] += 7`` wrote into a temporary copy and left ``t`` unchanged.
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def test_augmented_write_of_one_element_backward():
    for lib in (torch, cr):
        x = lib.tensor(np.arange(4.0), requires_grad=True)
        t = x.clone()
        t[1] += 5.0
        t[-1, ...] *= 2.0
        (t * t).sum().backward()
        assert x.grad.tolist() == [0.0, 12.0, 4.0, 24.0]


def test_zero_d_integer_index_is_an_int():
    for lib in (torch, cr):
        t = lib.tensor(np.arange(6.0).reshape(2, 3))
        t[lib.tensor(1)].mul_(10)
        t[:, lib.tensor(2)].add_(100)
        t[lib.tensor([0]), lib.tensor(0)] += 7
        t[lib.tensor(0), lib.tensor([1])] = -1
        assert t.tolist() == [[7.0, -1.0, 102.0], [30.0, 40.0, 150.0]], lib.__name__
