"""``dense + sparse`` (and ``-``, ``add``/``sub`` with ``alpha``, ``+=``, ``-=``) is a dense tensor
whose gradients reach the dense operand and the sparse operand's values, as PyTorch's; before, a
dense tensor first was a TypeError. Also ``sparse + dense``, ``sparse * number`` and
``dense.addmm(sparse, dense)`` against PyTorch (float64)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch,
              pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")]

IDX = [[0, 2, 1, 0, 2], [1, 0, 3, 1, 2]]  # (0, 1) twice: uncoalesced
VALS = [1.5, -2.0, 3.0, 0.5, 4.0]
SHAPE = (3, 4)

SUMS = {
    "d + s": lambda L, d, s: d + s,
    "d - s": lambda L, d, s: d - s,
    "d.add(s)": lambda L, d, s: d.add(s),
    "d.sub(s)": lambda L, d, s: d.sub(s),
    "add(d, s)": lambda L, d, s: L.add(d, s),
    "add(d, s, alpha)": lambda L, d, s: L.add(d, s, alpha=2.5),
    "sub(d, s, alpha)": lambda L, d, s: L.sub(d, s, alpha=-0.5),
    "d.add(s, alpha)": lambda L, d, s: d.add(s, alpha=3.0),
}


def _operands(L, rng_seed=0):
    """A dense operand and a sparse one whose values require grad, in library ``L``."""
    dense = np.random.default_rng(rng_seed).standard_normal(SHAPE)
    d = L.tensor(dense, requires_grad=True)
    v = L.tensor(np.array(VALS), requires_grad=True)
    return d, v, L.sparse_coo_tensor(IDX, v, SHAPE)


def _run(L, fn, weights):
    d, v, s = _operands(L)
    out = fn(L, d, s)
    (out * L.tensor(weights)).sum().backward()
    return out.detach().numpy(), d.grad.numpy(), v.grad.numpy()


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", SUMS)
def test_dense_and_sparse_sum_and_gradients_are_pytorchs(name):
    weights = np.random.default_rng(1).standard_normal(SHAPE)
    ours, theirs = _run(cr, SUMS[name], weights), _run(torch, SUMS[name], weights)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


@pytest.mark.kernel_free
@pytest.mark.parametrize("op", ["+=", "-="])
def test_in_place_dense_and_sparse_sum_is_pytorchs(op):
    results = []
    for L in (cr, torch):
        _, v, s = _operands(L)
        base = L.tensor(np.arange(12.0).reshape(SHAPE))
        out = base * 1.0
        if op == "+=":
            out += s
        else:
            out -= s
        (out * L.tensor(np.arange(12.0).reshape(SHAPE) - 5)).sum().backward()
        results.append((out.detach().numpy(), v.grad.numpy()))
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
    unrecorded = cr.ones(*SHAPE)  # float32 += a float64 sparse tensor stays float32, as PyTorch
    unrecorded += cr.sparse_coo_tensor(IDX, VALS, SHAPE, dtype=cr.float64)
    unrecorded.add_(cr.sparse_coo_tensor(IDX, VALS, SHAPE), alpha=-1)
    assert unrecorded.dtype == cr.float32
    np.testing.assert_array_equal(unrecorded.numpy(), np.ones(SHAPE, np.float32))


@pytest.mark.kernel_free
@pytest.mark.parametrize("dense, values", [("float32", "float64"), ("float64", "float32"),
                                           ("int64", "float32")])
def test_dense_and_sparse_sum_promotes_as_pytorch(dense, values):
    ours = cr.ones(*SHAPE, dtype=getattr(cr, dense)) + cr.sparse_coo_tensor(
        IDX, VALS, SHAPE, dtype=getattr(cr, values))
    theirs = torch.ones(SHAPE, dtype=getattr(torch, dense)) + torch.sparse_coo_tensor(
        IDX, VALS, SHAPE, dtype=getattr(torch, values))
    assert ours.dtype == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.kernel_free
def test_a_sparse_leafs_gradient_is_pytorchs_on_its_positions():
    """PyTorch gives a sparse leaf of ``d + s`` a dense gradient; chainrule's is always on the
    leaf's own positions (docs/sparse.md): there the two agree."""
    weights = np.random.default_rng(2).standard_normal(SHAPE)
    s = cr.sparse_coo_tensor(IDX, VALS, SHAPE, dtype=cr.float64, requires_grad=True)
    t = torch.sparse_coo_tensor(IDX, VALS, SHAPE, dtype=torch.float64, requires_grad=True)
    ((cr.zeros(*SHAPE, dtype=cr.float64) - s) * cr.tensor(weights)).sum().backward()
    ((torch.zeros(SHAPE, dtype=torch.float64) - t) * torch.tensor(weights)).sum().backward()
    on_pattern = t.grad * (t.detach().coalesce().to_dense() != 0)
    np.testing.assert_allclose(s.grad.to_dense().numpy(), on_pattern.numpy(), rtol=1e-15)


@pytest.mark.kernel_free
def test_gradcheck_of_dense_and_sparse_sums():
    d = cr.tensor(np.random.default_rng(3).standard_normal(SHAPE), requires_grad=True)
    v = cr.tensor(np.array(VALS), requires_grad=True)
    assert cr.gradcheck(lambda a, b: a - cr.sparse_coo_tensor(IDX, b, SHAPE) * 2.0, [d, v])
    assert cr.gradcheck(lambda a, b: cr.add(a, cr.sparse_coo_tensor(IDX, b, SHAPE), alpha=0.5),
                        [d, v])
    assert cr.gradgradcheck(lambda a, b: (a + cr.sparse_coo_tensor(IDX, b, SHAPE)) ** 2, [d, v])


@pytest.mark.kernel_free
def test_sparse_first_and_sparse_times_a_number():
    """PyTorch 2.13 refuses ``sparse + dense`` ("Use add(dense, sparse) instead"); chainrule
    gives the dense sum, equal to PyTorch's ``dense + sparse``. ``s * 2.5`` stays sparse."""
    ours, theirs = _run(cr, lambda L, d, s: s + d, np.ones(SHAPE)), _run(
        torch, lambda L, d, s: d + s, np.ones(SHAPE))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13)
    with pytest.raises(RuntimeError, match="add\\(sparse, dense\\) is not supported"):
        torch.sparse_coo_tensor(IDX, VALS, SHAPE) + torch.ones(SHAPE)
    for scale in (lambda s: s * 2.5, lambda s: 2.5 * s, lambda s: s / 4):
        results = []
        for L in (cr, torch):
            _, v, s = _operands(L)
            out = scale(s)
            assert out.is_sparse
            (out.to_dense() * L.tensor(np.arange(12.0).reshape(SHAPE))).sum().backward()
            results.append((out.to_dense().detach().numpy(), v.grad.numpy()))
        for a, b in zip(*results, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-13)


@pytest.mark.parametrize("beta, alpha", [(1, 1), (0.5, -2.0), (0, 3.0)])
def test_dense_addmm_of_a_sparse_matrix_is_pytorchs(beta, alpha):
    rng = np.random.default_rng(4)
    bias, mat = rng.standard_normal((3, 2)), rng.standard_normal((4, 2))
    results = []
    for L in (cr, torch):
        d, v, s = _operands(L)
        b, m = L.tensor(bias, requires_grad=True), L.tensor(mat, requires_grad=True)
        out = b.addmm(s, m, beta=beta, alpha=alpha)
        (out * L.tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
        grads = [t.grad if t.grad is not None else L.zeros(t.shape, dtype=L.float64)
                 for t in (b, m, v)]
        results.append([out.detach().numpy()] + [g.numpy() for g in grads])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)


@pytest.mark.kernel_free
def test_a_dense_and_a_sparse_tensor_of_other_shapes_are_refused():
    s = cr.sparse_coo_tensor(IDX, VALS, SHAPE)
    for call in (lambda: cr.ones(1, 4) + s, lambda: cr.ones(4) - s,
                 lambda: cr.ones(3, 1).add(s, alpha=2)):
        with pytest.raises(ValueError, match=r"same shape .*\(3, 4\)"):
            call()
    x = cr.ones(3, 5)
    with pytest.raises(ValueError, match=r"add_: a dense and a sparse tensor .*\(3, 5\)"):
        x += s
    with pytest.raises(TypeError, match="mul: .*SparseTensor"):
        cr.ones(*SHAPE) * s
