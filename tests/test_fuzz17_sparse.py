"""Fuzz wave 17: sparse COO tensors against PyTorch's, beyond wave 11 (tests/test_fuzz11_sparse.py):
sparse.sum over named axes and its gradients to the values and to a sparse leaf, addmm's
gradients with beta and alpha, to_dense's gradients, size inference, invariant checks, and the
regressions this wave found."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's sparse-invariant note
        yield


def _coo(lib, idx, vals, shape, **kw):
    return lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(vals), shape, **kw)


@pytest.mark.parametrize("dim", [2, -3, (0, 2), (0, 0), (1, -1)])
def test_sparse_sum_refuses_an_axis_out_of_range_or_repeated(dim):
    # was: the axis taken modulo ndim (sum over axis 2 of a 2-D tensor summed axis 0), and a
    # repeated axis counted once; PyTorch raises IndexError / RuntimeError
    idx, vals = np.array([[0, 1], [1, 2]]), np.array([1.0, 2.0])
    with pytest.raises((IndexError, RuntimeError)):
        torch.sparse.sum(_coo(torch, idx, vals, (2, 3)), dim)
    with pytest.raises(ValueError, match="sparse.sum: (axis|repeated)"):
        cr.sparse.sum(_coo(cr, idx, vals, (2, 3)), dim)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [2, -3])
def test_sparse_softmax_refuses_an_axis_out_of_range(name, dim):
    # was: the axis taken modulo ndim (softmax over axis 2 of a 2-D tensor was over axis 0)
    idx, vals = np.array([[0, 1], [1, 2]]), np.array([1.0, 2.0])
    with pytest.raises(IndexError):
        getattr(torch.sparse, name)(_coo(torch, idx, vals, (2, 3)), dim)
    with pytest.raises(ValueError, match=f"sparse.{name}: axis {dim} is out of range"):
        getattr(cr.sparse, name)(_coo(cr, idx, vals, (2, 3)), dim)
