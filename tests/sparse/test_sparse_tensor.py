"""Sparse COO tensors: making, inspecting and converting them as PyTorch does (float64), and the
errors for bad input."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import sparse

torch = pytest.importorskip("torch")
# PyTorch asks each program once to opt in or out of its sparse invariant checks
pytestmark = [pytest.mark.torch,
              pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")]

IDX = [[0, 2, 1, 0, 2], [1, 0, 3, 1, 2]]  # (0, 1) twice: uncoalesced
VALS = [1.5, -2.0, 3.0, 0.5, 4.0]


def _same_sparse(mine, theirs):
    """Same indices, values, shape, dtype, nnz and coalesced flag as PyTorch's tensor."""
    assert mine.is_sparse and mine.layout is cr.sparse_coo
    assert mine.shape == tuple(theirs.shape)
    assert str(mine.dtype) == str(theirs.dtype).replace("torch.", "")
    assert mine._nnz() == theirs._nnz()
    assert mine.is_coalesced() == theirs.is_coalesced()
    assert (mine.sparse_dim(), mine.dense_dim()) == (theirs.sparse_dim(), theirs.dense_dim())
    np.testing.assert_array_equal(mine._indices().numpy(), theirs._indices().numpy())
    np.testing.assert_allclose(mine._values().detach().numpy(),
                               theirs._values().detach().numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.kernel_free
def test_a_2d_tensor_its_dense_form_and_coalesced_form_are_pytorchs():
    s = cr.sparse_coo_tensor(IDX, VALS, (3, 4), dtype=cr.float64)
    t = torch.sparse_coo_tensor(IDX, VALS, (3, 4), dtype=torch.float64)
    _same_sparse(s, t)
    np.testing.assert_array_equal(s.to_dense().numpy(), t.to_dense().numpy())
    _same_sparse(s.coalesce(), t.coalesce())
    c = s.coalesce()
    np.testing.assert_array_equal(c.indices().numpy(), t.coalesce().indices().numpy())
    np.testing.assert_array_equal(c.values().numpy(), t.coalesce().values().numpy())
    assert (s.ndim, s.dim(), s.size(), s.size(1), s.numel()) == (2, 2, (3, 4), 4, 12)
    assert type(s.size()) is cr.Size
    np.testing.assert_allclose(s.sum().numpy(), t.sum().numpy())
    np.testing.assert_allclose(s.sum(0).to_dense().numpy(), t.sum(0).to_dense().numpy())
    for name in ("add", "sub"):
        np.testing.assert_allclose(getattr(s, name)(s).to_dense().numpy(),
                                   getattr(t, name)(t).to_dense().numpy())
    for name in ("mul", "div"):
        np.testing.assert_allclose(getattr(s, name)(2.0).to_dense().numpy(),
                                   getattr(t, name)(2.0).to_dense().numpy())


@pytest.mark.kernel_free
def test_a_hybrid_tensor_and_an_inferred_size_are_pytorchs():
    vals = np.arange(12.0).reshape(4, 3)
    s = cr.sparse_coo_tensor([[4, 1, 4, 0]], cr.tensor(vals))
    t = torch.sparse_coo_tensor([[4, 1, 4, 0]], torch.tensor(vals))
    _same_sparse(s, t)
    np.testing.assert_array_equal(s.to_dense().numpy(), t.to_dense().numpy())
    _same_sparse(s.coalesce(), t.coalesce())
    s2 = cr.sparse_coo_tensor(IDX, VALS)
    assert s2.shape == tuple(torch.sparse_coo_tensor(IDX, VALS).shape) == (3, 4)
    assert s2.dtype == cr.float32


@pytest.mark.kernel_free
@pytest.mark.parametrize("sparse_dim", [None, 1])
def test_to_sparse_keeps_the_nonzero_entries_as_pytorch(sparse_dim):
    a = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, -3.0]])
    args = () if sparse_dim is None else (sparse_dim,)
    _same_sparse(cr.tensor(a).to_sparse(*args), torch.tensor(a).to_sparse(*args))


@pytest.mark.kernel_free
def test_indices_and_values_need_a_coalesced_tensor_as_pytorch():
    s = cr.sparse_coo_tensor(IDX, VALS, (3, 4))
    for name in ("indices", "values"):
        with pytest.raises(RuntimeError, match=f"Cannot get {name} on an uncoalesced tensor"):
            getattr(s, name)()
        with pytest.raises(RuntimeError, match=f"Cannot get {name} on an uncoalesced tensor"):
            getattr(torch.sparse_coo_tensor(IDX, VALS, (3, 4)), name)()


@pytest.mark.kernel_free
def test_legacy_typed_constructors_and_conversions():
    with pytest.warns(UserWarning, match=r"sparse.FloatTensor\(indices, values, shape\) is "
                      "deprecated"):
        s = sparse.FloatTensor(cr.tensor(IDX), cr.tensor(VALS), (3, 4))
    with warnings.catch_warnings():  # PyTorch's deprecation warning, given once a process
        warnings.simplefilter("ignore")
        t = torch.sparse.FloatTensor(torch.tensor(IDX), torch.tensor(VALS), torch.Size((3, 4)))
    _same_sparse(s, t)
    _same_sparse(s.double(), t.double())
    with pytest.warns(UserWarning, match="DoubleTensor"):
        assert sparse.DoubleTensor(IDX, VALS, (3, 4)).dtype == cr.float64
    assert not cr.ones(2).is_sparse and cr.ones(2).layout is cr.strided


@pytest.mark.kernel_free
def test_a_leaf_that_requires_grad_gets_a_coalesced_gradient_on_its_pattern():
    w = np.arange(12.0).reshape(3, 4)
    s = cr.sparse_coo_tensor(IDX, VALS, (3, 4), dtype=cr.float64, requires_grad=True)
    t = torch.sparse_coo_tensor(IDX, VALS, (3, 4), dtype=torch.float64, requires_grad=True)
    assert s.requires_grad and s.is_leaf and s.grad is None
    (s.to_dense() * cr.tensor(w)).sum().backward()
    (t.to_dense() * torch.tensor(w)).sum().backward()
    _same_sparse(s.grad, t.grad)
    s.grad = None
    assert s.grad is None


@pytest.mark.kernel_free
def test_repr_shows_indices_values_size_and_layout():
    text = repr(cr.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0], (2, 2), requires_grad=True))
    for part in ("indices=tensor([[0, 1],", "values=tensor([1., 2.]", "size=(2, 2)", "nnz=2",
                 "layout=chainrule.sparse_coo", "requires_grad=True"):
        assert part in text, text


@pytest.mark.kernel_free
@pytest.mark.parametrize(("indices", "values", "size", "match"), [
    ([[0, 3], [1, 0]], [1.0, 2.0], (3, 2), r"indices\[0\] holds 3, out of range for size 3"),
    ([[0, 1], [1, 2]], [1.0, 2.0], (3, 2), r"indices\[1\] holds 2, out of range for size 2"),
    ([[0, -1], [1, 0]], [1.0, 2.0], (3, 2), "indices must be non-negative, got -1"),
    ([[0, 1], [1, 0]], [1.0, 2.0, 3.0], (3, 2), r"values must have shape \(nnz, \*dense_shape\) "
                                                r"with nnz = 2.*got shape \(3,\)"),
    ([0, 1], [1.0, 2.0], (3, 2), r"indices must be a 2-D integer tensor .*got shape \(2,\)"),
    ([[0.5, 1.0]], [1.0, 2.0], (3,), "indices must be a 2-D integer tensor .*dtype float64"),
    ([[0, 1], [1, 0]], [1.0, 2.0], (3, 2, 2), r"size \(3, 2, 2\) does not fit indices with "
                                              "sparse_dim 2"),
])
def test_bad_input_is_refused_naming_the_argument_and_value(indices, values, size, match):
    with pytest.raises(ValueError, match=match):
        cr.sparse_coo_tensor(indices, values, size)


@pytest.mark.kernel_free
def test_integer_values_cannot_require_grad():
    with pytest.raises(TypeError, match="only floating-point values can require gradients"):
        cr.sparse_coo_tensor([[0]], [1], (2,), requires_grad=True)


@pytest.mark.kernel_free
def test_a_dense_tensor_is_its_own_dense_form_as_in_pytorch():
    x = cr.ones(2, 3)
    assert x.to_dense() is x
    assert x.to_dense(cr.float64).dtype == np.float64
    assert x.to_sparse().to_dense().tolist() == x.tolist()
