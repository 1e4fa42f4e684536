"""kernels.scatter: the sorted, segmented scatter-add against np.add.at, and through the ops."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.kernels import PAIRS, K, scatter


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ids_shape, rows, tail", [
    ((6400,), 72, (64,)),        # 1-D ids, many repeats
    ((64, 100), 72, (64,)),      # 2-D ids (a batch of sequences), as an embedding's
    ((3, 4), 5, (2, 3)),         # rows of more than one axis
    ((7,), 1000, ()),            # a vector: scalar rows, few repeats
    ((5, 1), 3, (4,)),
])
def test_scatter_add_equals_the_reference(rng, dtype, ids_shape, rows, tail):
    ids = rng.integers(0, rows, ids_shape)
    g = rng.standard_normal(ids_shape + tail).astype(dtype)
    shape = (rows, *tail)
    out, ref = scatter.scatter_add(g, ids, shape), scatter.scatter_add_reference(g, ids, shape)
    assert out.dtype == ref.dtype == dtype and out.shape == ref.shape == shape
    # Equal sums, added in another order: equal to rounding, against exact (float64) sums too.
    exact = np.zeros(shape)
    np.add.at(exact, ids, g.astype(np.float64))
    tol = 2e-6 if dtype == np.float32 else 1e-13
    bound = tol * 4 * np.sqrt(np.maximum(np.bincount(ids.ravel(), minlength=rows), 1)).reshape(
        (rows,) + (1,) * len(tail))  # rounding grows with the terms summed per row
    assert np.all(np.abs(out - ref) <= bound) and np.all(np.abs(out - exact) <= bound)
    assert np.array_equal(out == 0, ref == 0)  # rows no id selects stay exactly zero
    # Integer-valued gradients: every order gives exact sums, so the two agree bit for bit.
    gi = rng.integers(-8, 9, g.shape).astype(dtype)
    np.testing.assert_array_equal(scatter.scatter_add(gi, ids, shape),
                                  scatter.scatter_add_reference(gi, ids, shape))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scatter_add_repeats_negative_unsigned_and_empty(dtype):
    g = np.arange(1, 13, dtype=dtype).reshape(4, 3)
    ids = np.array([2, 0, 2, 2])
    expected = np.array([[4, 5, 6], [0, 0, 0], [1 + 7 + 10, 2 + 8 + 11, 3 + 9 + 12]], dtype)
    np.testing.assert_array_equal(scatter.scatter_add(g, ids, (3, 3)), expected)
    np.testing.assert_array_equal(scatter.scatter_add(g, np.array([-1, 0, 2, -1]), (3, 3)),
                                  expected)  # -1 is the last row, as in NumPy
    np.testing.assert_array_equal(scatter.scatter_add(g, ids.astype(np.uint8), (3, 3)), expected)
    for ids, g, shape in ((np.zeros(0, np.int64), np.zeros((0, 3), dtype), (3, 3)),
                          (np.zeros((2, 0), np.int64), np.zeros((2, 0, 3), dtype), (4, 3)),
                          (np.array([1, 1]), np.zeros((2, 0), dtype), (3, 0))):
        out = scatter.scatter_add(g, ids, shape)
        assert out.shape == shape and out.dtype == dtype and not out.any()
    # Any other index goes to the reference: a tuple of arrays, a boolean mask.
    a = np.arange(6, dtype=dtype)
    np.testing.assert_array_equal(
        scatter.scatter_add(a, (np.array([0, 0, 1, 1, 2, 2]), np.array([1, 1, 0, 0, 2, 2])),
                            (3, 3)),
        [[0, 1, 0], [5, 0, 0], [0, 0, 9]])


def test_the_ops_call_it_through_the_kernel_table(rng, monkeypatch):
    assert PAIRS["scatter_add"] == (scatter.scatter_add, scatter.scatter_add_reference)
    assert K.scatter_add is scatter.scatter_add
    with cr.reference_mode():
        assert K.scatter_add is scatter.scatter_add_reference
    calls = []
    monkeypatch.setattr(K, "scatter_add", lambda *a: calls.append(a) or scatter.scatter_add(*a))
    emb = cr.nn.Embedding(10, 4)
    ids = cr.tensor(np.array([[1, 2, 1], [9, 1, 0]]))
    emb(ids).sum().backward()
    assert len(calls) == 1
    np.testing.assert_array_equal(emb.weight.grad.numpy()[:, 0], [1, 3, 1, 0, 0, 0, 0, 0, 0, 1])


def test_getitem_gradients_with_repeats_pass_gradcheck(rng):
    x = cr.tensor(rng.standard_normal((6, 3)), requires_grad=True)
    ids = np.array([[0, 5, 0], [-1, 2, 0]])
    assert cr.gradcheck(lambda t: (t[ids] ** 2).sum(), (x,))
    assert cr.gradcheck(lambda t: (t[[4, 4, -2]] * 3.0).sum(), (x,))
