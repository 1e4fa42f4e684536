"""addmm, addmv, addr, addbmm, baddbmm, vdot, chain_matmul, kron, cross, block_diag,
cartesian_prod and combinations (ops/products.py): forward and backward against PyTorch (float64),
gradcheck and gradgradcheck, edges and clear errors."""

import warnings

import numpy as np
import pytest

import chainrule as cr


def _chain_matmul(L, *ms):
    if L is cr:
        return cr.chain_matmul(*ms)
    with warnings.catch_warnings():  # PyTorch's deprecation of the name
        warnings.simplefilter("ignore", UserWarning)
        return L.chain_matmul(*ms)


# name: (call on a library module `L` and its inputs, the inputs' shapes)
CASES = {
    "addmm": (lambda L, i, a, b: L.addmm(i, a, b), [(3, 5), (3, 4), (4, 5)]),
    "addmm_scaled_bcast": (lambda L, i, a, b: L.addmm(i, a, b, beta=0.5, alpha=-2.0),
                           [(5,), (3, 4), (4, 5)]),
    "addmm_method": (lambda L, i, a, b: i.addmm(a, b, alpha=3), [(1, 5), (3, 4), (4, 5)]),
    "addmv": (lambda L, i, m, v: L.addmv(i, m, v, beta=2.0), [(3,), (3, 4), (4,)]),
    "addr": (lambda L, i, u, v: L.addr(i, u, v, alpha=0.5), [(3, 4), (3,), (4,)]),
    "addbmm": (lambda L, i, a, b: L.addbmm(i, a, b, beta=0.3, alpha=1.5), [(3, 5), (2, 3, 4),
                                                                           (2, 4, 5)]),
    "baddbmm": (lambda L, i, a, b: L.baddbmm(i, a, b, beta=-1, alpha=2), [(2, 3, 5), (2, 3, 4),
                                                                          (2, 4, 5)]),
    "baddbmm_method": (lambda L, i, a, b: i.baddbmm(a, b), [(3, 1), (2, 3, 4), (2, 4, 1)]),
    "vdot": (lambda L, a, b: L.vdot(a, b), [(5,), (5,)]),
    "chain_matmul": (_chain_matmul, [(2, 3), (3, 4), (4, 2)]),
    "kron": (lambda L, a, b: L.kron(a, b), [(2, 3), (4, 2)]),
    "kron_ndim": (lambda L, a, b: a.kron(b), [(3,), (2, 2, 2)]),
    "cross": (lambda L, a, b: L.cross(a, b, dim=1), [(4, 3), (4, 3)]),
    "cross_bcast": (lambda L, a, b: L.cross(a, b, 0), [(3, 1), (3, 4)]),
    "block_diag": (lambda L, a, b, c: L.block_diag(a, b, c), [(), (3,), (2, 2)]),
    "cartesian_prod": (lambda L, a, b, c: L.cartesian_prod(a, b, c), [(2,), (3,), (2,)]),
    "combinations": (lambda L, a: L.combinations(a, 3), [(5,)]),
    "combinations_rep": (lambda L, a: L.combinations(a, with_replacement=True), [(4,)]),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch_forward_and_backward(name):
    torch = pytest.importorskip("torch")
    fn, shapes = CASES[name]
    rng = np.random.default_rng(len(name))
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, u = fn(cr, *ours), fn(torch, *theirs)
    assert y.shape == tuple(u.shape)
    np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-12, atol=1e-13)
    w = rng.standard_normal(y.shape)
    (y * cr.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("name", ["addmm_scaled_bcast", "addbmm", "baddbmm", "kron",
                                  "cross_bcast", "block_diag", "cartesian_prod",
                                  "combinations_rep", "chain_matmul"])
def test_gradcheck_and_gradgradcheck(name):
    fn, shapes = CASES[name]
    rng = np.random.default_rng(5)
    xs = [cr.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert cr.gradcheck(lambda *t: fn(cr, *t), xs)
    assert cr.gradgradcheck(lambda *t: fn(cr, *t), xs)


@pytest.mark.torch
def test_edges_match_pytorch():
    torch = pytest.importorskip("torch")
    nan = np.array([[np.nan]])
    a = np.arange(6.0).reshape(2, 3)
    ours = cr.addmm(cr.tensor(nan), cr.tensor(a), cr.tensor(a.T), beta=0)
    theirs = torch.addmm(torch.tensor(nan), torch.tensor(a), torch.tensor(a.T), beta=0)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())  # beta=0 ignores the nan
    v = np.array([1.0, 2.0, 3.0])
    for r in (0, 1, 4):
        np.testing.assert_array_equal(cr.combinations(cr.tensor(v), r).numpy(),
                                      torch.combinations(torch.tensor(v), r).numpy())
    assert cr.cartesian_prod(cr.tensor(v)).tolist() == v.tolist()
    assert cr.block_diag().shape == tuple(torch.block_diag().shape) == (1, 0)
    mixed = cr.block_diag(cr.tensor([1, 2]), cr.tensor([[0.5]], dtype=cr.float64))
    want = torch.block_diag(torch.tensor([1, 2]), torch.tensor([[0.5]], dtype=torch.float64))
    assert mixed.dtype == np.float64
    np.testing.assert_array_equal(mixed.numpy(), want.numpy())
    np.testing.assert_array_equal(cr.chain_matmul(cr.tensor(a)).numpy(), a)
    b = np.arange(9.0).reshape(3, 3) - 2
    with pytest.warns(UserWarning, match="cross without specifying the dim"):
        ours = cr.cross(cr.tensor(b), cr.tensor(b[::-1].copy()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.cross(torch.tensor(b), torch.tensor(b[::-1].copy()))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())  # the first dim of size 3: 0


def test_bad_arguments_are_refused_clearly():
    m = cr.ones(2, 3)
    with pytest.raises(ValueError, match=r"addmm: mat1 and mat2 shapes cannot be multiplied "
                                         r"\(\(2, 3\) and \(2, 3\)\)"):
        cr.addmm(cr.ones(2, 3), m, m)
    with pytest.raises(ValueError, match=r"addmm: input of shape \(3,\) cannot be broadcast to "
                                         r"the product's shape \(2, 2\)"):
        cr.addmm(cr.ones(3), m, m.T)
    with pytest.raises(ValueError, match=r"addmv: vec must be 1-D, got shape \(3, 1\)"):
        cr.addmv(cr.ones(2), m, cr.ones(3, 1))
    with pytest.raises(ValueError, match="baddbmm: batch1 of shape .* cannot be multiplied"):
        cr.baddbmm(cr.ones(1), cr.ones(2, 2, 3), cr.ones(3, 3, 2))
    with pytest.raises(ValueError, match=r"vdot: input and other must have the same length"):
        cr.vdot(cr.ones(2), cr.ones(3))
    with pytest.raises(ValueError, match=r"cross: dim=0 must have size 3 in both"):
        cr.cross(m, m, dim=0)
    with pytest.raises(ValueError, match=r"cross: no dimension of size 3"):
        cr.cross(cr.ones(2, 2), cr.ones(2, 2))
    with pytest.raises(ValueError, match=r"block_diag: tensors\[0\] must have 2 or fewer"):
        cr.block_diag(cr.ones(1, 1, 1))
    with pytest.raises(ValueError, match=r"cartesian_prod: tensors\[1\] must be 1-D"):
        cr.cartesian_prod(cr.ones(2), m)
    with pytest.raises(ValueError, match="combinations: r must be a non-negative int, got -1"):
        cr.combinations(cr.ones(3), -1)
    with pytest.raises(ValueError, match=r"chain_matmul: matrices\[1\] must be 2-D"):
        cr.chain_matmul(m, cr.ones(3))
    with pytest.raises(TypeError, match="kron: other must be a Tensor, got list"):
        cr.kron(m, [1.0])
