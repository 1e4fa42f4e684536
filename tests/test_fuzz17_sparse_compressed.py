"""Fuzz wave 17: the CSR and CSC layouts (sparse/compressed.py) against PyTorch's: random
matrices made from dense, COO and index arrays, their index arrays and values, the conversions
between the three layouts, to_dense, products with a dense matrix or vector, and gradients to
the values and the dense operand."""

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's beta-layout note
        yield


def _np(x):
    return np.asarray(x.detach().numpy())


def _matrix(rng):
    n, m = (int(v) for v in rng.integers(1, 6, 2))
    return np.round(rng.standard_normal((n, m)) * (rng.random((n, m)) < 0.4), 3)


def _made(lib, dense, layout, how):
    d = lib.tensor(dense)
    if how == "dense":
        return d.to_sparse_csr() if layout == "csr" else d.to_sparse_csc()
    if how == "coo":
        coo = d.to_sparse()
        return coo.to_sparse_csr() if layout == "csr" else coo.to_sparse_csc()
    if how == "layout":
        return d.to_sparse(layout=getattr(lib, f"sparse_{layout}"))
    other = d.to_sparse_csc() if layout == "csr" else d.to_sparse_csr()  # the other one's
    return other.to_sparse_csr() if layout == "csr" else other.to_sparse_csc()


def _conversions_match_pytorch_case(seed, layout, how):
    dense = _matrix(np.random.default_rng(seed))
    c, t = _made(cr, dense, layout, how), _made(torch, dense, layout, how)
    names = ("crow_indices", "col_indices") if layout == "csr" else ("ccol_indices",
                                                                     "row_indices")
    for name in names:
        np.testing.assert_array_equal(_np(getattr(c, name)()), _np(getattr(t, name)()), name)
    np.testing.assert_array_equal(_np(c.values()), _np(t.values()))
    assert str(c.layout).rsplit(".", 1)[-1] == str(t.layout).rsplit(".", 1)[-1]
    assert (c.is_sparse, c.is_sparse_csr, c._nnz(), tuple(c.shape)) == \
        (t.is_sparse, t.is_sparse_csr, t._nnz(), tuple(t.shape))
    np.testing.assert_array_equal(_np(c.to_dense()), dense)
    back, t_back = c.to_sparse(), t.to_sparse()
    assert back.is_sparse and back.is_coalesced() == t_back.is_coalesced()  # CSC's: not
    np.testing.assert_array_equal(_np(back._indices()), _np(t_back._indices()))
    np.testing.assert_array_equal(_np(back._values()), _np(t_back._values()))


def test_conversions_match_pytorch():
    each_case(_conversions_match_pytorch_case, grid(
        ("how", ["dense", "coo", "layout", "other"]),
        ("layout", ["csr", "csc"]),
        ("seed", range(10)),
    ))


def _product(lib, layout, idx_a, idx_b, vals, right, vector):
    v = lib.tensor(vals, requires_grad=True)
    d = lib.tensor(right[:, 0] if vector else right, requires_grad=True)
    make = lib.sparse_csr_tensor if layout == "csr" else lib.sparse_csc_tensor
    s = make(lib.tensor(idx_a), lib.tensor(idx_b), v, (3, 4))
    y = s @ d if vector else lib.sparse.mm(s, d)
    (y * lib.tensor(np.arange(1.0, 1 + y.numel()).reshape(tuple(y.shape)))).sum().backward()
    return _np(y), _np(v.grad), _np(d.grad)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("vector", [False, True])
def test_csr_products_and_gradients_match_pytorch(seed, vector):
    rng = np.random.default_rng(seed)
    dense = np.round(rng.standard_normal((3, 4)) * (rng.random((3, 4)) < 0.5), 3)
    t = torch.tensor(dense).to_sparse_csr()
    args = (t.crow_indices().numpy(), t.col_indices().numpy(), t.values().numpy() + 0.5,
            rng.standard_normal((4, 2)), vector)
    for c_part, t_part in zip(_product(cr, "csr", *args), _product(torch, "csr", *args)):
        np.testing.assert_allclose(c_part, t_part, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout", ["csr", "csc"])
def test_gradcheck_through_the_compressed_layouts(layout):
    make = cr.sparse_csr_tensor if layout == "csr" else cr.sparse_csc_tensor
    outer = [0, 1, 3, 4] if layout == "csr" else [0, 1, 1, 3, 4]
    inner = [1, 0, 3, 2] if layout == "csr" else [2, 0, 1, 1]
    vals = cr.tensor([1.0, -2.0, 0.5, 3.0], dtype=cr.float64, requires_grad=True)
    right = cr.tensor(np.random.default_rng(0).standard_normal((4, 2)), requires_grad=True)

    def fn(v, d):
        s = make(outer, inner, v, (3, 4))
        return cr.sparse.mm(s * 2.0, d) + (s.to_sparse_csc() if layout == "csr" else
                                           s.to_sparse_csr()).to_dense().sum()

    assert cr.gradcheck(fn, [vals, right])


def test_dense_gradient_reaches_the_stored_positions():
    # through to_sparse_csr, as through to_sparse (PyTorch's reaches every position here)
    d = cr.tensor([[0.0, 2.0, 0.0], [3.0, 0.0, 4.0]], dtype=cr.float64, requires_grad=True)
    (d.to_sparse_csr() @ cr.ones(3, 2, dtype=cr.float64)).sum().backward()
    np.testing.assert_array_equal(d.grad.numpy(), [[0.0, 2.0, 0.0], [2.0, 0.0, 2.0]])


@pytest.mark.parametrize("bad", [
    ([0, 1, 2], [1, 5], "col_indices must lie in"),     # a column out of range
    ([0, 2, 1], [1, 0], "never decrease"),              # crow decreasing
    ([1, 1, 2], [1, 0], "start at 0"),
    ([0, 1, 3], [1, 0], "end at nnz"),
])
def test_sparse_csr_tensor_checks_its_invariants(bad):
    crow, col, message = bad
    with pytest.raises(RuntimeError):
        torch.sparse_csr_tensor(torch.tensor(crow), torch.tensor(col),
                                torch.ones(len(col)), (2, 3), check_invariants=True)
    with pytest.raises(ValueError, match=message):
        cr.sparse_csr_tensor(crow, col, np.ones(len(col), np.float32), (2, 3))


def test_compressed_refusals():
    c = cr.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse_csr()
    with pytest.raises(RuntimeError, match="ccol_indices: expected a CSC tensor"):
        c.ccol_indices()
    with pytest.raises(ValueError, match="only 2-D matrices"):
        cr.zeros(2, 3, 4).to_sparse_csr()
    with pytest.raises(TypeError, match="other must be a number"):
        c * cr.ones(2, 2)
    inferred = cr.sparse_csr_tensor([0, 1, 2], [1, 0], [1.0, 2.0])
    assert tuple(inferred.shape) == tuple(torch.sparse_csr_tensor(
        torch.tensor([0, 1, 2]), torch.tensor([1, 0]), torch.tensor([1.0, 2.0])).shape)


@pytest.mark.parametrize("layout", ["to_sparse_csr", "to_sparse_csc", "to_sparse"])
def test_torch_mm_and_addmm_take_every_sparse_layout(layout):
    # was: mm(csr, d) and addmm(d, csr, m) refused a compressed matrix ("must be a Tensor")
    dense, right = np.array([[0.0, 2.0, 0.0], [3.0, 0.0, 4.0]]), np.arange(6.0).reshape(3, 2)
    for fn in (lambda L, s, d: L.mm(s, d),
               lambda L, s, d: L.addmm(L.ones(2, 2, dtype=L.float64), s, d, beta=0.5, alpha=2),
               lambda L, s, d: L.ones(2, 2, dtype=L.float64).addmm(s, d)):
        c = fn(cr, getattr(cr.tensor(dense), layout)(), cr.tensor(right))
        t = fn(torch, getattr(torch.tensor(dense), layout)(), torch.tensor(right))
        np.testing.assert_allclose(_np(c), _np(t), rtol=1e-15)
