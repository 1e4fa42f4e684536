"""Fuzz wave 25: ``Tensor.sparse_mask(mask)``, PyTorch's way to take a dense tensor's entries
at a sparse tensor's positions (a masked gradient, a GNN's edge scores). It was missing
(AttributeError: 'Tensor' object has no attribute 'sparse_mask')."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")


@pytest.mark.parametrize("coalesce", [True, False])
def test_sparse_mask_values_and_gradient_as_torch(coalesce):
    results = []
    for t in (cr, torch):
        d = t.tensor(np.arange(6.0).reshape(2, 3) - 2, dtype=t.float64, requires_grad=True)
        mask = t.sparse_coo_tensor([[0, 1, 1, 0], [2, 0, 0, 2]], [9.0, 9.0, 9.0, 9.0], (2, 3))
        out = d.sparse_mask(mask.coalesce() if coalesce else mask)
        weights = t.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=t.float64)
        (g,) = t.autograd.grad((out.to_dense() * weights).sum(), d)
        results.append((out.to_dense().tolist(), out.is_coalesced(), out._nnz(), g.tolist(),
                        str(out.dtype).removeprefix("torch.")))
    assert results[0] == results[1]


def test_sparse_mask_hybrid_and_gradcheck():
    d = cr.tensor(np.arange(12.0).reshape(3, 2, 2), dtype="float64", requires_grad=True)
    mask = cr.sparse_coo_tensor([[2, 0]], cr.ones(2, 2, 2), (3, 2, 2))
    out = d.sparse_mask(mask)
    assert out.to_dense()[1].tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert out.to_dense()[2].tolist() == [[8.0, 9.0], [10.0, 11.0]]
    assert cr.gradcheck(lambda x: (x.sparse_mask(mask).to_dense() ** 2).sum(), (d,))


def test_sparse_mask_refuses_other_shapes_and_a_dense_mask():
    mask = cr.sparse_coo_tensor([[0], [1]], [1.0], (2, 3))
    with pytest.raises(ValueError, match=r"shape \(3, 3\).*\(2, 3\)"):
        cr.zeros(3, 3).sparse_mask(mask)
    with pytest.raises(TypeError, match="mask must be a sparse COO tensor"):
        cr.zeros(2, 3).sparse_mask(cr.ones(2, 3))
