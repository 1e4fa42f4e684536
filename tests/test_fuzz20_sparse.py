"""Fuzz wave 20: sparse COO tensors against PyTorch's where waves 11 to 19 did not look: the
Python protocols (comparisons, bool, len, ``s[i]``, iteration), ``select`` along sparse and
dense axes, ``bmm``, hybrid ``softmax``, and empty tensors."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402

from ._case_loop import each_case, grid  # noqa: E402

# (0, 2, 1) and (1, 0, 1) listed twice: uncoalesced
IDX = np.array([[0, 1, 1, 0, 1], [2, 0, 0, 2, 1], [1, 1, 1, 1, 0]])
VALS = np.array([1.0, -2.0, 3.0, 0.5, 4.0])


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's sparse-invariant note
        yield


def _coo(lib, idx, vals, shape, **kw):
    return lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(vals, **kw), shape)


def _same(c, t, rtol=1e-15):
    """Same layout, dtype, shape, values, and for sparse results the same entries and flag
    (``rtol``: float32 sums of repeated entries, added in another order, differ in the last bit)."""
    assert getattr(c, "is_sparse", False) == t.is_sparse
    if t.is_sparse:
        assert (c.sparse_dim(), c.is_coalesced()) == (t.sparse_dim(), t.is_coalesced())
        np.testing.assert_array_equal(c._indices().numpy(), t._indices().numpy())
        c, t = c._values(), t._values()
    assert str(c.dtype) == str(t.dtype).replace("torch.", "")
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=0)


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_comparisons_raise_where_they_compared_identity(layout):
    # was: s == s.clone() False and s != s.clone() True (Python's identity test, a bool where
    # PyTorch gives an elementwise answer or raises), s == 0 False; PyTorch 2.13 raises for all
    s = _coo(cr, IDX[:2], VALS, (2, 3))
    if layout == "csr":
        s = s.to_dense().to_sparse_csr()
    for other in (s, s.clone() if layout == "coo" else s, 0, 1.5, cr.ones(2, 3)):
        for compare in (
            lambda a, b: a == b,
            lambda a, b: a != b,
            lambda a, b: a < b,
            lambda a, b: a >= b,
        ):
            with pytest.raises(TypeError, match="no elementwise comparison.*to_dense"):
                compare(s, other)
    assert (s == None) is False and (s != None) is True  # noqa: E711 - PyTorch's answers
    assert s in [s] and len({s, s}) == 1  # identity and hashing are kept


def test_bool_is_the_one_elements_truth_else_ambiguous():
    # was: bool(s) always True (an all-zero one-element tensor too)
    for vals in ([1.0, -1.0], [2.0], [0.0]):
        idx = np.zeros((1, len(vals)), np.int64)
        assert bool(_coo(cr, idx, vals, (1,))) is bool(_coo(torch, idx, vals, (1,)))
    for shape, n in (((2, 3), 6), ((0, 3), 0)):
        t = _coo(torch, IDX[:2, :0], VALS[:0], shape)
        with pytest.raises(RuntimeError):
            bool(t)
        with pytest.raises(RuntimeError, match=f"with {n} elements .* ambiguous"):
            bool(_coo(cr, IDX[:2, :0], VALS[:0], shape))


def _select_is_pytorchs_case(dim, index, hybrid):
    # was: AttributeError; entries kept in order, the axis dropped, coalesced flag when nnz <= 1
    if hybrid:  # (2, 3) sparse, one dense axis of 2
        idx, vals, shape = IDX[:2], np.stack([VALS, -VALS], 1), (2, 3, 2)
    else:
        idx, vals, shape = IDX, VALS, (2, 3, 2)
    for coalesce in (False, True):
        c, t = _coo(cr, idx, vals, shape), _coo(torch, idx, vals, shape)
        if coalesce:
            c, t = c.coalesce(), t.coalesce()
        _same(c.select(dim, index), t.select(dim, index))


def test_select_is_pytorchs():
    each_case(_select_is_pytorchs_case, grid(
        ("hybrid", [False, True]),
        ("index", [0, -1, 1]),
        ("dim", [0, 1, -1, 2]),
    ))


def test_getitem_len_and_iteration_are_pytorchs():
    # was: "not subscriptable", no len(), not iterable; past the last sparse axis: dense
    for idx, vals, shape in (
        (IDX[:2], VALS, (2, 3)),
        (IDX[:1], np.stack([VALS, VALS], 1), (2, 2)),
        (IDX[:1, :0], VALS[:0], (2,)),
    ):
        c, t = _coo(cr, idx, vals, shape), _coo(torch, idx, vals, shape)
        assert len(c) == len(t) == 2
        for key in (0, -1, (1, 0), (0, -1), cr.tensor(1)):
            tkey = torch.tensor(1) if isinstance(key, cr.Tensor) else key
            if isinstance(key, tuple) and len(key) > len(shape):
                continue
            _same(c[key], t[tkey])
        for ci, ti in zip(c, t, strict=True):
            _same(ci, ti)
    s = _coo(cr, IDX[:2], VALS, (2, 3))
    for key in (2, -3, (0, 0, 0)):
        with pytest.raises(IndexError):
            s[key]
    for key in (slice(0, 1), None, [0, 1], cr.tensor([0, 1]), True, 1.0, ...):
        with pytest.raises(IndexError, match="only integer indices"):
            s[key]
    with pytest.raises(TypeError, match="index must be an int, got True"):
        s.select(0, True)


def test_select_reaches_the_values_gradient():
    # PyTorch has no backward for select of a sparse tensor; chainrule's goes through the
    # values, checked by finite differences
    vals = cr.tensor(np.stack([VALS, VALS**2], 1), requires_grad=True)

    def fn(v):
        s = cr.sparse_coo_tensor(cr.tensor(IDX[:2]), v, (2, 3, 2))
        return s[1].to_dense() * 1.5 + s.select(2, 1).to_dense().sum() + s[0, 2]

    assert cr.gradcheck(fn, [vals])


def _batch(lib, dtype, requires_grad=False):
    vals = lib.tensor(VALS.astype(dtype), requires_grad=requires_grad)
    dense = np.arange(16.0).reshape(2, 4, 2).astype(dtype).transpose(0, 2, 1)  # strided
    return (
        vals,
        lib.sparse_coo_tensor(lib.tensor(IDX), vals, (2, 3, 2)),
        lib.tensor((dense - 7) / 5 if dtype != "int64" else dense, requires_grad=requires_grad),
    )


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_bmm_of_a_sparse_batch_is_pytorchs(dtype):
    # was: cr.bmm(s, d) refused a sparse input ("input must be a Tensor")
    grad = dtype != "int64"
    (cv, cs, cd), (tv, ts, td) = (_batch(lib, dtype, grad) for lib in (cr, torch))
    c, t = cr.bmm(cs, cd), torch.bmm(ts, td)
    rtol = 1e-6 if dtype == "float32" else 1e-15
    _same(c, t, rtol)
    _same(cs.bmm(cd), t, rtol)
    if grad:
        w = np.linspace(-1, 1, 24).reshape(2, 3, 4)
        (c * cr.tensor(w, dtype=dtype)).sum().backward()
        (t * torch.tensor(w, dtype=t.dtype)).sum().backward()
        for a, b in ((cv.grad, tv.grad), (cd.grad, td.grad)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=rtol)


def test_bmm_gradcheck_and_a_sparse_leafs_gradient():
    _, _, dense = _batch(cr, "float64", True)
    vals = cr.tensor(VALS, requires_grad=True)
    assert cr.gradcheck(
        lambda v, d: cr.bmm(cr.sparse_coo_tensor(cr.tensor(IDX), v, (2, 3, 2)), d), [vals, dense]
    )
    # a sparse leaf's gradient is PyTorch's (dense) one at its positions
    leaf = cr.sparse_coo_tensor(cr.tensor(IDX), cr.tensor(VALS), (2, 3, 2), requires_grad=True)
    tleaf = torch.sparse_coo_tensor(torch.tensor(IDX), torch.tensor(VALS), (2, 3, 2))
    tleaf.requires_grad_()
    cr.bmm(leaf, dense.detach()).pow(2).sum().backward()
    torch.bmm(tleaf, torch.tensor(dense.detach().numpy())).pow(2).sum().backward()
    g = leaf.grad.coalesce()
    want = tleaf.grad.to_dense().numpy()[tuple(g.indices().numpy())]
    np.testing.assert_allclose(g.values().numpy(), want, rtol=1e-13)


def test_bmm_refuses_what_pytorch_refuses():
    _, s, d = _batch(cr, "float64")
    _, ts, td = _batch(torch, "float64")
    hybrid = (IDX[:2], np.stack([VALS, VALS], 1), (2, 3, 2))
    cases = [
        (s, d.float(), ts, td.float(), TypeError, "dtype"),
        (s, d[:1], ts, td[:1], ValueError, "cannot be multiplied"),
        (s, d[:, :1], ts, td[:, :1], ValueError, "cannot be multiplied"),
        (s, d[0], ts, td[0], ValueError, "mat2 must be 3-D"),
        (s, s, ts, ts, TypeError, "mat2 must be a dense Tensor"),
        (_coo(cr, *hybrid), d, _coo(torch, *hybrid), td, ValueError, "three sparse axes"),
        (
            d.transpose(1, 2),
            s.transpose(1, 2),
            td.transpose(1, 2),
            ts.transpose(1, 2),
            TypeError,
            "mat2 must be a Tensor",
        ),
    ]
    for c_in, c_mat2, t_in, t_mat2, error, match in cases:
        with pytest.raises(RuntimeError):
            torch.bmm(t_in, t_mat2)
        with pytest.raises(error, match=match):
            cr.bmm(c_in, c_mat2)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_softmax_of_a_hybrid_tensor_is_pytorchs(name, dim):
    # was: NotImplementedError for every hybrid tensor; along a sparse axis each dense position
    # is its own group, along a dense axis each entry's values are a dense softmax
    idx, vals = IDX[:2], np.stack([VALS, VALS[::-1] * 2], 1)
    (cv, c), (tv, t) = (
        (v, lib.sparse_coo_tensor(lib.tensor(idx), v, (2, 3, 2)))
        for lib in (cr, torch)
        for v in [lib.tensor(vals, requires_grad=True)]
    )
    # PyTorch's backward with a negative dim is wrong (docs/sparse.md): its oracle takes dim % 3
    cout, tout = getattr(cr.sparse, name)(c, dim), getattr(torch.sparse, name)(t, dim % 3)
    _same(cout, tout, 1e-13)  # log_softmax's x - max - log(sum): a few ulps of the max
    w = np.linspace(-1, 2, 12).reshape(2, 3, 2)
    (cout.to_dense() * cr.tensor(w)).sum().backward()
    (tout.to_dense() * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(cv.grad.numpy(), tv.grad.numpy(), rtol=1e-12, atol=1e-15)
    fn = getattr(cr.sparse, name)
    assert cr.gradcheck(
        lambda v: fn(cr.sparse_coo_tensor(cr.tensor(idx), v, (2, 3, 2)), dim).to_dense(),
        [cr.tensor(vals, requires_grad=True)],
    )


@pytest.mark.parametrize("values", [[1, 2, 3, 4, 5], [True, False, True, True, False]])
def test_softmax_of_integer_values_is_refused_by_name(values):
    # was: "index_add: source must have input's dtype int64" or NumPy's boolean subtract error
    for dtype in (None, "int64"):
        with pytest.raises(NotImplementedError):
            torch.sparse.softmax(
                _coo(torch, IDX[:2], values, (2, 3)), 1, dtype=dtype and torch.int64
            )
        with pytest.raises(TypeError, match="values must be floating point.*pass dtype="):
            cr.sparse.log_softmax(_coo(cr, IDX[:2], values, (2, 3)), 1, dtype=dtype)
    got = cr.sparse.softmax(_coo(cr, IDX[:2], values, (2, 3)), 1, dtype="float64")
    _same(got, torch.sparse.softmax(_coo(torch, IDX[:2], values, (2, 3)), 1, dtype=torch.float64))


@pytest.mark.parametrize("shape", [(0, 3), (2, 0), (2, 0, 3)])
def test_to_sparse_of_an_empty_tensor_with_dense_axes(shape):
    # was: NumPy's "cannot reshape array of size 0 into shape (0,newaxis)"
    for sparse_dim in range(1, len(shape)):
        _same(cr.zeros(*shape).to_sparse(sparse_dim), torch.zeros(*shape).to_sparse(sparse_dim))


def test_to_sparse_of_a_sparse_tensor_and_t_of_a_vector_are_pytorchs():
    # was: s.to_sparse(1) of a sparse_dim-2 tensor returned it unchanged (sparse_dim 2), no
    # layout=, and t() of a 1-D sparse tensor raised
    c, t = _coo(cr, IDX[:2], VALS, (2, 3)), _coo(torch, IDX[:2], VALS, (2, 3))
    assert c.to_sparse(2) is c and c.to_sparse() is c
    with pytest.raises(RuntimeError):
        t.to_sparse(1)
    with pytest.raises(ValueError, match="sparse_dim 2 is not converted to sparse_dim 1"):
        c.to_sparse(1)
    for layout in ("sparse_csr", "sparse_csc"):
        got, want = (
            c.to_sparse(layout=getattr(cr, layout)),
            t.to_sparse(layout=getattr(torch, layout)),
        )
        assert got.layout is getattr(cr, layout)
        _same(got.to_dense(), want.to_dense())
    with pytest.raises(ValueError, match="layout must be"):
        c.to_sparse(layout=cr.strided)
    for layout in ("to_sparse_csr", "to_sparse_csc"):  # the same for a compressed matrix
        with pytest.raises(RuntimeError):
            getattr(t.to_dense(), layout)().to_sparse(1)
        with pytest.raises(ValueError, match="converts to sparse_dim 2 only"):
            getattr(c.to_dense(), layout)().to_sparse(1)
        _same(
            getattr(c.to_dense(), layout)().to_sparse(2),
            getattr(t.to_dense(), layout)().to_sparse(2),
        )
    vec = (IDX[:1], VALS, (2,))
    _same(_coo(cr, *vec).t(), _coo(torch, *vec).t())


@pytest.mark.parametrize("dim", [1, (0, 1), 2, (1, 2), -1])
def test_sum_keepdim_is_pytorchs(dim):
    # was: TypeError (no keepdim); a summed axis comes back with size 1: dense once every sparse
    # axis is summed, else an index row of zeros, flagged coalesced with one entry or none
    for idx, vals in ((IDX[:2], np.stack([VALS, -VALS], 1)), (IDX[:2, :1], VALS[:1, None])):
        shape = (2, 3, vals.shape[1])
        c, t = _coo(cr, idx, vals, shape), _coo(torch, idx, vals, shape)
        _same(c.sum(dim, keepdim=True), t.sum(dim, keepdim=True), 1e-15)
        _same(c.sum(dim, keepdim=False, dtype=cr.float32), t.sum(dim, dtype=torch.float32), 1e-7)
    with pytest.raises(TypeError, match="keepdim=True needs dim"):
        c.sum(keepdim=True)
    v = cr.tensor(np.stack([VALS, VALS**2], 1), requires_grad=True)
    assert cr.gradcheck(
        lambda v: (
            cr.sparse_coo_tensor(cr.tensor(IDX[:2]), v, (2, 3, 2)).sum(dim, True).to_dense() ** 2
        ),
        [v],
    )


def test_conversions_and_alpha_forms_are_pytorchs():
    # was: to() took a dtype only, cpu/half/long/int/bool and abs(s) were missing, and
    # add/sub had no alpha=
    c, t = _coo(cr, IDX[:2], VALS, (2, 3)), _coo(torch, IDX[:2], VALS, (2, 3))
    calls = [
        lambda s, lib: s.to("cpu", lib.float32),
        lambda s, lib: s.to(dtype=lib.float16),
        lambda s, lib: s.to(device="cpu"),
        lambda s, lib: s.cpu(),
        lambda s, lib: s.half(),
        lambda s, lib: s.long(),
        lambda s, lib: s.int(),
        lambda s, lib: s.bool(),
        lambda s, lib: abs(s),
        lambda s, lib: s.add(s * 0.5, alpha=3),
        lambda s, lib: s.sub(s.coalesce(), alpha=-2),
        lambda s, lib: s.sub(s),
    ]
    for call in calls:
        _same(call(c, cr), call(t, torch))
    assert c.to(cr.float64) is c and c.to("cpu") is c  # nothing to convert: itself, as PyTorch's
    v = cr.tensor(VALS, requires_grad=True)
    s = cr.sparse_coo_tensor(cr.tensor(IDX[:2]), v, (2, 3))
    s.to("cpu", cr.float32).sub(s, alpha=2).to_dense().sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), -np.ones(5))


def test_autograd_grad_of_a_sparse_leaf_is_its_sparse_gradient():
    # was: "grad: inputs[0] must be a Tensor, got SparseTensor"; PyTorch's is the sparse
    # gradient (chainrule's on the leaf's pattern, as its .grad), and create_graph keeps it in
    # the graph
    c = cr.sparse_coo_tensor(cr.tensor(IDX[:2]), cr.tensor(VALS), (2, 3), requires_grad=True)
    t = torch.sparse_coo_tensor(torch.tensor(IDX[:2]), torch.tensor(VALS), (2, 3))
    t.requires_grad_()
    d = np.linspace(-1, 1, 6).reshape(3, 2)
    (gt,) = torch.autograd.grad(torch.sparse.mm(t, torch.tensor(d)).pow(2).sum(), t)
    for inputs in (c, [c]):
        (gc,) = cr.autograd.grad(
            cr.sparse.mm(c, cr.tensor(d)).pow(2).sum(), inputs, create_graph=True
        )
        assert gc.is_sparse and c.grad is None
        g = gc.coalesce()
        want = gt.to_dense().numpy()[tuple(g.indices().numpy())]
        np.testing.assert_allclose(g.values().detach().numpy(), want, rtol=1e-14)
    (gg,) = cr.autograd.grad(gc.to_dense().sum(), c)  # d/dv of sum_j 2 (s d)_ij d_jk
    assert gg.is_sparse
    loss = torch.sparse.mm(t, torch.tensor(d)).pow(2).sum()
    (tg,) = torch.autograd.grad(loss, t, create_graph=True)
    (tgg,) = torch.autograd.grad(tg.to_dense().sum(), t)
    gg = gg.coalesce()
    want = tgg.to_dense().numpy()[tuple(gg.indices().numpy())]
    np.testing.assert_allclose(gg.values().numpy(), want, rtol=1e-14)


@pytest.mark.parametrize("hybrid", [False, True])
def test_unsqueeze_and_permute_are_pytorchs(hybrid):
    # was: AttributeError for both
    if hybrid:  # sparse (2, 3), one dense axis of 2
        idx, vals, perms = IDX[:2], np.stack([VALS, -VALS], 1), [(1, 0, 2), (-2, -3, -1)]
    else:
        idx, vals, perms = IDX, VALS, [(1, 0, 2), (2, 0, 1), (0, 1, 2)]
    for coalesce in (False, True):
        c, t = _coo(cr, idx, vals, (2, 3, 2)), _coo(torch, idx, vals, (2, 3, 2))
        if coalesce:
            c, t = c.coalesce(), t.coalesce()
        for dim in (0, 2, 3, -1, -4):
            _same(c.unsqueeze(dim), t.unsqueeze(dim))
        for dims in perms:
            _same(c.permute(*dims), t.permute(*dims))
    for dims in ((0, 0, 1), (0, 1)) + (((2, 0, 1),) if hybrid else ()):
        with pytest.raises(RuntimeError):
            t.permute(*dims)
        with pytest.raises(ValueError, match="SparseTensor.permute"):
            c.permute(*dims)
    with pytest.raises(ValueError, match="out of range"):
        c.unsqueeze(4)
    v = cr.tensor(vals, requires_grad=True)
    assert cr.gradcheck(
        lambda v: (
            cr.sparse_coo_tensor(cr.tensor(idx), v, (2, 3, 2))
            .permute(perms[0])
            .unsqueeze(-1)
            .to_dense()
            ** 2
        ),
        [v],
    )


def test_as_tensor_and_asarray_keep_a_sparse_tensor():
    # was: both wrapped the SparseTensor object as if it were an array (a broken Tensor that
    # failed later, in repr or any op); PyTorch's return the sparse tensor itself
    c, t = _coo(cr, IDX[:2], VALS, (2, 3)), _coo(torch, IDX[:2], VALS, (2, 3))
    assert cr.as_tensor(c) is c and torch.as_tensor(t) is t
    assert cr.asarray(c) is c and torch.asarray(t) is t
    _same(cr.as_tensor(c, dtype=cr.float32), torch.as_tensor(t, dtype=torch.float32))
    _same(cr.asarray(c, dtype=cr.float32), torch.asarray(t, dtype=torch.float32))
    copied = cr.asarray(c, copy=True)
    assert copied is not c and torch.asarray(t, copy=True) is not t
    _same(copied, torch.asarray(t, copy=True))
    csr = c.to_dense().to_sparse_csr()
    assert cr.as_tensor(csr) is csr
    copied = cr.asarray(csr, copy=True)  # was: AttributeError (no clone)
    assert copied is not csr and copied.layout is cr.sparse_csr
    copied.values().mul_(2)
    _same(csr.to_dense(), t.to_dense())  # its own values


def test_in_place_arithmetic_is_pytorchs():
    # was: AttributeError for mul_, div_, neg_, add_, sub_
    calls = [
        lambda s, lib: s.mul_(2),
        lambda s, lib: s.div_(4),
        lambda s, lib: s.neg_(),
        lambda s, lib: s.mul_(lib.arange(3.0, dtype=lib.float64)),
        lambda s, lib: s.add_(_coo(lib, IDX[:2, :2], VALS[:2], (2, 3)), alpha=3),
        lambda s, lib: s.sub_(s.coalesce()),
    ]
    for call in calls:
        c, t = _coo(cr, IDX[:2], VALS, (2, 3)), _coo(torch, IDX[:2], VALS, (2, 3))
        assert call(c, cr) is c and call(t, torch) is t
        _same(c, t)
    c, t = _coo(cr, IDX[:2], [1, 2, 3, 4, 5], (2, 3)), _coo(torch, IDX[:2], [1, 2, 3, 4, 5], (2, 3))
    with pytest.raises(RuntimeError, match="can't be cast"):
        t.div_(2)
    with pytest.raises(RuntimeError, match="can't be cast"):
        c.div_(2)  # an int64 tensor cannot hold the quotient: refused, not truncated
    leaf = cr.sparse_coo_tensor(cr.tensor(IDX[:2]), cr.tensor(VALS), (2, 3), requires_grad=True)
    for change in (lambda s: s.mul_(2), lambda s: s.add_(s)):
        with pytest.raises(RuntimeError, match="leaf"):
            change(leaf)
    with cr.no_grad():
        leaf.mul_(2)  # as an optimizer would: the leaf stays a leaf
    assert leaf.is_leaf and leaf.requires_grad
    np.testing.assert_array_equal(leaf._values().detach().numpy(), VALS * 2)
