"""Fuzz wave 19: sparse tensors against PyTorch's, where waves 11 and 17 did not look: division
by a number (zero included), sparse.addmm's beta=0 and broadcast input, and the regressions this
wave found."""

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")

IDX = np.array([[0, 1, 1, 0, 2], [2, 0, 0, 2, 1]])  # (0, 2) and (1, 0) listed twice


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's sparse-invariant note, NumPy's divide by zero
        yield


def _coo(lib, vals, shape=(3, 3), **kw):
    vals = vals if isinstance(vals, (cr.Tensor, torch.Tensor)) else lib.tensor(vals)
    return lib.sparse_coo_tensor(lib.tensor(IDX), vals, shape, **kw)


def _same(c, t):
    c = c.to_dense() if getattr(c, "is_sparse", False) or hasattr(c, "crow_indices") else c
    t = t.to_dense() if t.layout != torch.strided else t
    assert str(c.dtype) == str(t.dtype).replace("torch.", "")
    np.testing.assert_allclose(
        c.detach().numpy(), t.detach().numpy(), rtol=1e-15, atol=0, equal_nan=True
    )


def _division_by_a_number_zero_included_is_pytorchs_case(divisor, dtype):
    # was: s / 0 raised ZeroDivisionError (it multiplied by 1.0 / 0); PyTorch gives inf and nan
    vals = np.array([1.0, -2.0, 0.0, 4.0, 5.0])
    vals = vals != 0 if dtype == "bool" else vals.astype(dtype)
    _same(_coo(cr, vals) / divisor, _coo(torch, vals) / divisor)
    _same(_coo(cr, vals) / cr.tensor(divisor), _coo(torch, vals) / torch.tensor(divisor))


def test_division_by_a_number_zero_included_is_pytorchs():
    each_case(_division_by_a_number_zero_included_is_pytorchs_case, grid(
        ("dtype", ["float64", "float32", "int64", "bool"]),
        ("divisor", [0, 0.0, 3, 2.5, -0.0]),
    ))


@pytest.mark.parametrize("layout", ["to_sparse_csr", "to_sparse_csc"])
def test_compressed_division_by_a_number_zero_included_is_the_dense_quotient(layout):
    # was: ZeroDivisionError, and a Tensor divisor multiplied; PyTorch 2.13 has no CSR division
    # (its "unsupported tensor layout: SparseCsr"), so the oracle is the COO quotient
    dense = np.array([[0.0, 2.0], [-3.0, 0.0]])
    for divisor in (0, 4.0, -0.0):
        got = getattr(cr.tensor(dense), layout)() / divisor
        assert got.layout is getattr(cr, layout[3:])
        _same(got, torch.tensor(dense).to_sparse() / divisor)
    with pytest.raises(TypeError, match="other must be a number, got a Tensor"):
        getattr(cr.tensor(dense), layout)() / cr.tensor(2.0)


def test_division_gradient_reaches_the_values_and_the_dense_divisor():
    vals, d = np.array([1.0, -2.0, 3.0, 4.0, 5.0]), np.array([2.0, -4.0, 8.0])
    grads = []
    for lib in (cr, torch):
        v, w = lib.tensor(vals, requires_grad=True), lib.tensor(1.5, requires_grad=True)
        (_coo(lib, v) / w).to_dense().pow(2).sum().backward()
        grads.append((v.grad.numpy(), w.grad.numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-15)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-15)
    # a dense divisor broadcast to the sparse shape (PyTorch takes 0-d ones only): s * (1 / d)
    v = cr.tensor(vals, requires_grad=True)
    out = (_coo(cr, v) / cr.tensor(d)).to_dense()
    np.testing.assert_allclose(
        out.detach().numpy(), (_coo(cr, vals).to_dense() / cr.tensor(d)).numpy(), rtol=1e-15
    )
    assert cr.autograd.gradcheck(
        lambda x: (_coo(cr, x) / cr.tensor(d)).to_dense(), (cr.tensor(vals, requires_grad=True),)
    )


def test_addmm_with_beta_zero_does_not_read_a_nan_input():
    # was: beta * input spread input's nan (nan * 0); PyTorch's addmm does not read input there
    inp = np.array([[np.nan, 1.0], [2.0, np.inf], [3.0, 4.0]])
    m = np.arange(6.0).reshape(3, 2)
    outs = []
    for lib in (cr, torch):
        v = lib.tensor(np.array([1.0, -2.0, 3.0, 4.0, 5.0]), requires_grad=True)
        out = lib.sparse.addmm(lib.tensor(inp), _coo(lib, v), lib.tensor(m), beta=0, alpha=2.0)
        out.sum().backward()
        outs.append((out.detach().numpy(), v.grad.numpy()))
    assert np.isfinite(outs[0][0]).all()
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-15)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-15)


@pytest.mark.parametrize("shape", [(2,), (1, 2), (3, 1)])
def test_addmm_input_broadcasts_to_the_products_shape_as_pytorch(shape):
    # was: refused unless input had the product's shape exactly
    rng = np.random.default_rng(len(shape) + shape[0])
    inp, m = rng.standard_normal(shape), rng.standard_normal((3, 2))
    res = []
    for lib in (cr, torch):
        b = lib.tensor(inp, requires_grad=True)
        out = lib.sparse.addmm(b, _coo(lib, np.arange(5.0)), lib.tensor(m), beta=0.5, alpha=-1.5)
        (out * lib.tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
        res.append((out.detach().numpy(), b.grad.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-14)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-14)
    with pytest.raises(ValueError, match=r"sparse.addmm: input of shape \(4,\) cannot be "):
        cr.sparse.addmm(cr.ones(4, dtype=cr.float64), _coo(cr, np.arange(5.0)), cr.tensor(m))


def _dense_ops_refuse_a_sparse_tensor_rather_than_wrap_it_in_an_object_array_case(call, layout):
    # PyTorch computes some of these on a sparse tensor and refuses the others; chainrule's dense
    # ops take none (docs/sparse.md): NumPy made the sparse tensor an object array, so some gave
    # a silent wrong result. The conversion is refused, naming the way out.
    s = _coo(cr, np.arange(1.0, 6.0))
    s = s if layout == "coo" else s.to_sparse_csr()
    with pytest.raises(TypeError, match=r"is not converted to a dense array implicitly.*to_dense"):
        call(s, cr.ones(3, 3, dtype=cr.float64))
    # what still works beside a dense tensor: the sums (dense) and the product with a sparse mat1
    d = torch.ones(3, 3, dtype=torch.float64)
    t = _coo(torch, np.arange(1.0, 6.0))
    _same(cr.ones(3, 3, dtype=cr.float64) + _coo(cr, np.arange(1.0, 6.0)), d + t)
    _same(cr.mm(s, cr.ones(3, 3, dtype=cr.float64)), torch.mm(t, d))


def test_dense_ops_refuse_a_sparse_tensor_rather_than_wrap_it_in_an_object_array():
    each_case(_dense_ops_refuse_a_sparse_tensor_rather_than_wrap_it_in_an_object_array_case, grid(
        ("layout", ["coo", "csr"]),
        ("call", [
                     lambda s, d: cr.eq(d, s),  # was: all False
                     lambda s, d: cr.isin(d, s),  # was: all False
                     lambda s, d: cr.clone(s),  # was: a 0-d object tensor holding s
                     lambda s, d: cr.tensor(s),  # was: the same
                     lambda s, d: cr.logical_or(d, s),  # was: an object array
                     lambda s, d: cr.cumsum(s, 0),  # was: an object array
                     lambda s, d: np.asarray(s),
                     lambda s, d: cr.sum(s),  # was: NumPy's AxisError
                 ]),
    ))


DENSE_TIMES_SPARSE = {
    "sparse.mm": lambda lib, d, s: lib.sparse.mm(d, s),
    "mm": lambda lib, d, s: lib.mm(d, s),
    "matmul": lambda lib, d, s: lib.matmul(d, s),
    "@": lambda lib, d, s: d @ s,
}


@pytest.mark.parametrize("layout", ["coo", "to_sparse_csr", "to_sparse_csc"])
@pytest.mark.parametrize("call", sorted(DENSE_TIMES_SPARSE))
def test_dense_times_sparse_and_its_gradients_are_pytorchs(call, layout):
    # was: sparse.mm and mm refused a dense mat1 (TypeError), and d @ s failed in NumPy's
    # matmul ("Input operand 1 does not have enough dimensions")
    rng = np.random.default_rng(7)
    vals, dense = rng.standard_normal(5), rng.standard_normal((2, 3))
    res = []
    for lib in (cr, torch):  # PyTorch's backward of a CSR/CSC product fails: its COO is the oracle
        v, d = lib.tensor(vals, requires_grad=True), lib.tensor(dense, requires_grad=True)
        s = _coo(lib, v, (3, 4))
        s = s if layout == "coo" or lib is torch else getattr(s, layout)()
        out = DENSE_TIMES_SPARSE[call](lib, d, s)
        assert out.layout == lib.strided
        (out * lib.tensor(np.arange(8.0).reshape(2, 4))).sum().backward()
        res.append([out.detach().numpy(), d.grad.numpy(), v.grad.numpy()])
    for c, t in zip(*res):
        np.testing.assert_allclose(c, t, rtol=1e-14, atol=1e-15)
    if layout != "coo":  # and PyTorch's forward of the compressed layout
        t = getattr(_coo(torch, vals, (3, 4)), layout)()
        np.testing.assert_allclose(
            res[0][0], DENSE_TIMES_SPARSE[call](torch, torch.tensor(dense), t).numpy(), rtol=1e-14
        )


def test_a_sparse_leafs_gradient_from_dense_times_sparse_is_on_its_pattern():
    # as torch.sparse.mm's; PyTorch's mm/matmul/@ give that leaf a dense gradient (the values at
    # the pattern are the same), documented in docs/sparse.md
    rng = np.random.default_rng(8)
    vals, dense = rng.standard_normal(5), rng.standard_normal((2, 3))
    t = _coo(torch, vals, (3, 4), requires_grad=True)
    (torch.sparse.mm(torch.tensor(dense), t) ** 2).sum().backward()
    for call in DENSE_TIMES_SPARSE.values():
        s = _coo(cr, vals, (3, 4), requires_grad=True)
        (call(cr, cr.tensor(dense), s) ** 2).sum().backward()
        assert s.grad.is_sparse
        _same(s.grad, t.grad)
    assert cr.autograd.gradcheck(
        lambda v, d: d @ _coo(cr, v, (3, 4)),
        (cr.tensor(vals, requires_grad=True), cr.tensor(dense, requires_grad=True)),
    )


def test_a_vector_or_a_batch_times_sparse_with_matmul():
    # PyTorch's matmul takes a vector (and refuses a batch: "expand is unsupported"); chainrule's
    # takes both, each row times the matrix
    rng = np.random.default_rng(9)
    vals, batch = rng.standard_normal(5), rng.standard_normal((2, 2, 3))
    s, dense = _coo(cr, vals, (3, 4)), _coo(cr, vals, (3, 4)).to_dense()
    np.testing.assert_allclose(
        (cr.tensor(batch) @ s).numpy(), (cr.tensor(batch) @ dense).numpy(), rtol=1e-14
    )
    _same(cr.tensor(batch[0, 0]) @ s, torch.tensor(batch[0, 0]) @ _coo(torch, vals, (3, 4)))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda s: cr.sparse.mm(cr.ones(2, 4, dtype=cr.float64), s), r"sparse.mm: mat1 of shape "),
        (lambda s: cr.ones(2, 4, dtype=cr.float64) @ s, r"matmul: mat1 of shape \(2, 4\) and mat2"),
        (lambda s: cr.mm(cr.ones(3, dtype=cr.float64), s), r"mm: input must be 2-D"),
        (lambda s: cr.ones(2, 3) @ s, r"mat1 has dtype float32 but mat2 has dtype float64"),
    ],
)
def test_dense_times_sparse_refuses_bad_operands_naming_them(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call(_coo(cr, np.arange(5.0), (3, 4)))


def _entries(x, order=True):
    """Shape, coalesced flag and entries (in their order, or coalesced: PyTorch's order of an
    index_select's entries depends on the sizes)."""
    y = x if order else x.coalesce()
    return (
        tuple(x.shape),
        x.is_coalesced(),
        y._indices().numpy().tolist(),
        y._values().detach().numpy().tolist(),
    )


@pytest.mark.parametrize("seed", range(4))
def test_index_select_and_narrow_copy_give_pytorchs_entries(seed):
    # were: AttributeError ('SparseTensor' object has no attribute 'index_select')
    rng = np.random.default_rng(seed)
    nnz = int(rng.integers(0, 7))
    idx = np.stack([rng.integers(0, 4, nnz), rng.integers(0, 3, nnz)])
    vals = rng.standard_normal((nnz, 2))
    pick = rng.integers(0, 4, int(rng.integers(0, 5)))
    for hybrid in (False, True):
        v = vals if hybrid else vals[:, 0]
        shape = (4, 3, 2) if hybrid else (4, 3)
        for coalesce in (False, True):
            c, t = (
                lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(v), shape) for lib in (cr, torch)
            )
            c, t = (c.coalesce(), t.coalesce()) if coalesce else (c, t)
            calls = [("index_select", (0, pick)), ("index_select", (1, pick % 3))]
            calls += [("narrow_copy", (0, 1, 2)), ("narrow_copy", (1, 0, 1))]
            if hybrid:
                calls += [("index_select", (2, pick % 2)), ("narrow_copy", (2, 1, 1))]
            for name, args in calls:
                cargs = [cr.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
                targs = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
                order = name == "narrow_copy"
                assert _entries(getattr(c, name)(*cargs), order) == _entries(
                    getattr(t, name)(*targs), order
                )


def test_index_select_and_narrow_copy_gradients_and_refusals():
    idx, vals = cr.tensor(IDX), np.arange(1.0, 6.0)
    pick = cr.tensor([2, 0, 0])
    assert cr.autograd.gradcheck(
        lambda v: cr.sparse_coo_tensor(idx, v, (3, 3)).index_select(0, pick).to_dense(),
        (cr.tensor(vals, requires_grad=True),),
    )
    assert cr.autograd.gradcheck(
        lambda v: cr.sparse_coo_tensor(idx, v, (3, 3)).narrow_copy(1, 1, 2).to_dense(),
        (cr.tensor(vals, requires_grad=True),),
    )
    s, t = _coo(cr, vals), _coo(torch, vals)
    _same(s.index_select(0, cr.tensor([-1, 0])), t.index_select(0, torch.tensor([-1, 0])))
    for bad in ([3], [-4], [[0]], [0.0]):  # PyTorch's IndexError
        with pytest.raises(IndexError):
            t.index_select(0, torch.tensor(bad))
        with pytest.raises(IndexError, match="SparseTensor.index_select: index"):
            s.index_select(0, cr.tensor(bad))
    for start, length in ((2, 2), (-1, 1)):
        with pytest.raises(RuntimeError):
            t.narrow_copy(0, start, length)
        with pytest.raises(RuntimeError, match=r"SparseTensor.narrow_copy: the range"):
            s.narrow_copy(0, start, length)


def test_indices_without_rows_are_refused_naming_the_shape():
    # was: NumPy's "zero-size array to reduction operation minimum" (PyTorch makes a 0-d tensor)
    with pytest.raises(ValueError, match=r"indices must have at least one row.*\(0, 1\)"):
        cr.sparse_coo_tensor(cr.tensor(np.zeros((0, 1), np.int64)), cr.tensor([3.0]), ())
