"""Fuzz wave 25: ``chainrule.index_select`` of a sparse COO tensor, and a NumPy scalar times one.

Before this wave ``cr.index_select(s, dim, index)`` (PyTorch's ``torch.index_select`` form of
``s.index_select``) failed with AttributeError: 'SparseTensor' object has no attribute
'_data' from inside the dense op. It now gives the sparse tensor's own ``index_select``, as
PyTorch's; anything else that is not a Tensor is a TypeError naming it.
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

IDX, VALS = [[0, 1, 1, 0], [2, 0, 0, 2]], [1.0, 2.0, 3.0, 4.0]


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")
@pytest.mark.parametrize("dim, index", [(-1, [2, 0, 2]), (0, [1, 1, 0]), (1, [1])])
def test_index_select_function_of_a_sparse_tensor(dim, index):
    ours = cr.index_select(cr.sparse_coo_tensor(IDX, VALS, (2, 3)), dim, cr.tensor(index))
    theirs = torch.index_select(torch.sparse_coo_tensor(IDX, VALS, (2, 3)), dim,
                                torch.tensor(index))
    assert ours.is_sparse and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.to_dense().numpy(), theirs.to_dense().numpy())


def test_index_select_function_gradient_reaches_the_values():
    v = cr.tensor(VALS, dtype="float64", requires_grad=True)
    s = cr.sparse_coo_tensor(IDX, v, (2, 3))
    out = cr.index_select(s, 1, cr.tensor([2, 2, 0])).to_dense()
    weights = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype="float64")
    (g,) = cr.grad((out * weights).sum(), v)
    # entries at (0, 2) are picked twice (columns 0 and 1 of the result), (1, 0) once (column 2)
    assert g.tolist() == [3.0, 6.0, 6.0, 3.0]


def test_index_select_refuses_a_list():
    with pytest.raises(TypeError, match="index_select: input must be a Tensor.*list"):
        cr.index_select([[1.0]], 0, cr.tensor([0]))


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")
@pytest.mark.parametrize("number", [np.float64(2.5), np.float32(2.0), np.int64(3)])
def test_numpy_scalar_times_sparse(number):
    # was: TypeError from NumPy trying to make the sparse tensor an array; now s * number
    ours = number * cr.sparse_coo_tensor(IDX, VALS, (2, 3))
    theirs = number * torch.sparse_coo_tensor(IDX, VALS, (2, 3))
    assert ours.is_sparse and str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.to_dense().numpy(), theirs.to_dense().numpy())
