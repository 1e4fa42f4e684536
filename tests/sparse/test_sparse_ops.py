"""The sparse ops against PyTorch in float64 (values and gradients: to the dense operand, to a
sparse leaf and to a ``values`` tensor), finite-difference gradchecks with respect to the dense
operands and the values, and the errors for bad operands."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import sparse

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch,
              pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")]

IDX = [[0, 2, 1, 0, 2, 3], [1, 0, 3, 1, 2, 3]]  # (0, 1) twice: uncoalesced
VALS = [1.5, -2.0, 3.0, 0.5, 4.0, -1.0]
SHAPE = (4, 5)


def _pair(rng, *, leaf=True):
    """The same sparse matrix in both libraries; a sparse leaf, or values that require grad."""
    vals = np.array(VALS)
    if leaf:
        return (cr.sparse_coo_tensor(IDX, vals, SHAPE, requires_grad=True),
                torch.sparse_coo_tensor(IDX, vals, SHAPE, requires_grad=True), None, None)
    v, tv = cr.tensor(vals, requires_grad=True), torch.tensor(vals, requires_grad=True)
    return cr.sparse_coo_tensor(IDX, v, SHAPE), torch.sparse_coo_tensor(IDX, tv, SHAPE), v, tv


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-13)


def _same_grad(s, t):
    assert s.grad.shape == tuple(t.grad.shape)
    np.testing.assert_array_equal(s.grad._indices().numpy(), t.grad._indices().numpy())
    _close(s.grad._values().numpy(), t.grad._values().numpy())


@pytest.mark.parametrize("call", ["sparse.mm", "spmm", "mm", "matmul", "@"])
@pytest.mark.parametrize("leaf", [True, False])
def test_mm_and_its_gradients_are_pytorchs(call, leaf, rng):
    s, t, v, tv = _pair(rng, leaf=leaf)
    d = rng.standard_normal((5, 3))
    dd, td = cr.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
    w = rng.standard_normal((4, 3))
    ours = {"sparse.mm": sparse.mm, "spmm": cr.spmm, "mm": cr.mm, "matmul": cr.matmul,
            "@": lambda a, b: a @ b}[call](s, dd)
    theirs = torch.sparse.mm(t, td)
    _close(ours.detach().numpy(), theirs.detach().numpy())
    (ours * cr.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    _close(dd.grad.numpy(), td.grad.numpy())
    if leaf:
        _same_grad(s, t)
    else:
        _close(v.grad.numpy(), tv.grad.numpy())


@pytest.mark.kernel_free
def test_mm_by_a_vector_is_pytorchs(rng):
    s, t, _, _ = _pair(rng)
    x = rng.standard_normal(5)
    _close((s @ cr.tensor(x)).detach().numpy(), (t @ torch.tensor(x)).detach().numpy())


@pytest.mark.kernel_free
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_sparse_sum_and_its_gradient_are_pytorchs(dim, rng):
    s, t, _, _ = _pair(rng)
    args = () if dim is None else (dim,)
    ours, theirs = sparse.sum(s, *args), torch.sparse.sum(t, *args)
    if theirs.is_sparse:
        assert ours.is_sparse and ours.is_coalesced()
        np.testing.assert_array_equal(ours.indices().numpy(), theirs._indices().numpy())
        ours, theirs = ours.to_dense(), theirs.to_dense()
    _close(ours.detach().numpy(), theirs.detach().numpy())
    w = rng.standard_normal(ours.shape)
    (ours * cr.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    _same_grad(s, t)


def test_sparse_sum_over_a_hybrid_tensors_dense_axis_is_pytorchs():
    vals = np.arange(12.0).reshape(4, 3)
    s = cr.sparse_coo_tensor([[4, 1, 4, 0]], vals, (6, 3))
    t = torch.sparse_coo_tensor([[4, 1, 4, 0]], torch.tensor(vals), (6, 3))
    for dim in (1, 0):
        ours, theirs = sparse.sum(s, dim), torch.sparse.sum(t, dim)
        ours = ours.to_dense() if ours.is_sparse else ours
        theirs = theirs.to_dense() if theirs.is_sparse else theirs
        _close(ours.numpy(), theirs.numpy())


@pytest.mark.kernel_free
def test_adding_sparse_tensors_merges_their_entries_as_pytorch(rng):
    s, t, _, _ = _pair(rng)
    s2 = cr.sparse_coo_tensor([[3, 0], [4, 1]], [2.0, 5.0], SHAPE, dtype=cr.float64)
    t2 = torch.sparse_coo_tensor([[3, 0], [4, 1]], [2.0, 5.0], SHAPE, dtype=torch.float64)
    ours, theirs = s + s2, t + t2
    assert ours._nnz() == theirs._nnz() == 8 and not ours.is_coalesced()
    np.testing.assert_array_equal(ours._indices().numpy(), theirs._indices().numpy())
    _close(ours._values().detach().numpy(), theirs._values().detach().numpy())
    both = s.detach() + s.detach()  # PyTorch's merge: entries at one position that meet add up
    np.testing.assert_array_equal(both._indices().numpy(), (t.detach() + t.detach())._indices())
    _close(both._values().numpy(), (t.detach() + t.detach())._values())
    _close(ours.to_dense().detach().numpy(), theirs.to_dense().detach().numpy())
    dense = rng.standard_normal(SHAPE)
    _close((s + cr.tensor(dense)).detach().numpy(), (torch.tensor(dense) + t).detach().numpy())
    _close(sparse.add(cr.tensor(dense), s).detach().numpy(),
           torch.add(torch.tensor(dense), t).detach().numpy())
    scaled = [(s * 2.5, t * 2.5), (3.0 * s, 3.0 * t), (s / 4, t / 4), (-s, -t), (s - s2, t - t2)]
    for a, b in scaled:
        _close(a.to_dense().detach().numpy(), b.to_dense().detach().numpy())
    w = rng.standard_normal(SHAPE)
    (ours * 2.0).to_dense().mul(cr.tensor(w)).sum().backward()
    (theirs * 2.0).to_dense().mul(torch.tensor(w)).sum().backward()
    # PyTorch's gradient of s also holds s2's positions (the sum's pattern); ours is on s's own
    mask = s.detach().to_dense().numpy() != 0
    _close(s.grad.to_dense().numpy(), t.grad.to_dense().numpy() * mask)


@pytest.mark.parametrize("dim", [0, 1])
def test_sparse_softmax_and_its_gradient_are_pytorchs(dim, rng):
    s, t, _, _ = _pair(rng)
    ours, theirs = sparse.softmax(s, dim), torch.sparse.softmax(t, dim)
    np.testing.assert_array_equal(ours.indices().numpy(), theirs.coalesce().indices().numpy())
    _close(ours.values().detach().numpy(), theirs.coalesce().values().detach().numpy())
    w = rng.standard_normal(SHAPE)
    (ours.to_dense() * cr.tensor(w)).sum().backward()
    (theirs.to_dense() * torch.tensor(w)).sum().backward()
    _same_grad(s, t)


@pytest.mark.parametrize("dim", [0, 1])
def test_sparse_log_softmax_and_its_gradient_are_pytorchs(dim, rng):
    s, t, _, _ = _pair(rng)
    ours, theirs = sparse.log_softmax(s, dim), torch.sparse.log_softmax(t, dim)
    np.testing.assert_array_equal(ours.indices().numpy(), theirs.coalesce().indices().numpy())
    _close(ours.values().detach().numpy(), theirs.coalesce().values().detach().numpy())
    w = rng.standard_normal(SHAPE)
    (ours.to_dense() * cr.tensor(w)).sum().backward()
    (theirs.to_dense() * torch.tensor(w)).sum().backward()
    _same_grad(s, t)


def test_sparse_addmm_and_its_gradients_are_pytorchs(rng):
    s, t, _, _ = _pair(rng)
    bias, d = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    b, tb = cr.tensor(bias, requires_grad=True), torch.tensor(bias, requires_grad=True)
    dd, td = cr.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
    ours = sparse.addmm(b, s, dd, beta=0.5, alpha=2.0)
    theirs = torch.sparse.addmm(tb, t, td, beta=0.5, alpha=2.0)
    _close(ours.detach().numpy(), theirs.detach().numpy())
    ours.sin().sum().backward()
    theirs.sin().sum().backward()
    _close(b.grad.numpy(), tb.grad.numpy())
    _close(dd.grad.numpy(), td.grad.numpy())
    _same_grad(s, t)
    with pytest.raises(ValueError, match=r"input of shape \(2, 3\) cannot be broadcast to the "
                                         r"product's shape \(4, 3\)"):
        sparse.addmm(cr.ones(2, 3, dtype=cr.float64), s, dd)


def test_sparse_softmax_over_the_last_axis_is_over_axis_1(rng):
    """PyTorch 2.13's backward of ``sparse.softmax(t, -1)`` differs from that of ``dim=1`` (its
    gradients in a row do not sum to zero, as a softmax's must); ours is the same for both."""
    s, _, _, _ = _pair(rng)
    a, b = sparse.softmax(s, -1), sparse.softmax(s, 1)
    _close(a.values().detach().numpy(), b.values().detach().numpy())
    w = cr.tensor(rng.standard_normal(SHAPE))
    ga = cr.autograd.grad((a.to_dense() * w).sum(), s._values())[0]
    gb = cr.autograd.grad((b.to_dense() * w).sum(), s._values())[0]
    _close(ga.numpy(), gb.numpy())


def _values_and_dense(rng):
    return (cr.tensor(rng.standard_normal(len(VALS)), requires_grad=True),
            cr.tensor(rng.standard_normal((5, 3)), requires_grad=True))


def test_gradcheck_mm_with_respect_to_the_values_and_the_dense_operand(rng):
    v, d = _values_and_dense(rng)
    assert cr.gradcheck(lambda v, d: sparse.mm(cr.sparse_coo_tensor(IDX, v, SHAPE), d), [v, d])
    assert cr.gradgradcheck(lambda v, d: sparse.mm(cr.sparse_coo_tensor(IDX, v, SHAPE), d),
                            [v, d])


def test_gradcheck_to_dense_coalesce_sum_and_softmax_with_respect_to_the_values(rng):
    v, _ = _values_and_dense(rng)
    make = lambda v: cr.sparse_coo_tensor(IDX, v, SHAPE)  # noqa: E731
    assert cr.gradcheck(lambda v: make(v).to_dense(), [v])
    assert cr.gradcheck(lambda v: make(v).coalesce()._values(), [v])
    assert cr.gradcheck(lambda v: sparse.sum(make(v), 1).to_dense(), [v])
    assert cr.gradcheck(lambda v: sparse.softmax(make(v), 1)._values(), [v])
    assert cr.gradcheck(lambda v: sparse.log_softmax(make(v), 0)._values(), [v])
    assert cr.gradcheck(lambda v: (make(v) * 3.0 + make(v)).to_dense(), [v])


def test_bad_operands_are_refused_with_their_shapes():
    s = cr.sparse_coo_tensor(IDX, VALS, SHAPE)
    with pytest.raises(ValueError, match=r"mat1 of shape \(4, 5\) and mat2 of shape \(4, 2\) "
                                         "cannot be multiplied"):
        sparse.mm(s, cr.ones(4, 2))
    with pytest.raises(TypeError, match="mat1 has dtype float32 but mat2 has dtype float64"):
        sparse.mm(s, cr.ones(5, 2, dtype=cr.float64))
    with pytest.raises(TypeError, match=r"mat1 must be a sparse COO tensor, got a Tensor of "
                                        r"shape \(4, 5\)"):
        sparse.mm(cr.ones(4, 5), cr.ones(5, 2))
    product = sparse.mm(s, s.t())  # two sparse operands: a sparse product (fuzz wave 17)
    np.testing.assert_allclose(product.to_dense().numpy(),
                               (s.to_dense() @ s.to_dense().t()).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"sparse tensors of shapes \(4, 5\).*and \(5, 4\)"):
        s + s.t()
    with pytest.raises(TypeError, match="other must be a number, a Tensor or a SparseTensor, "
                                        "got str"):
        s * "2"
