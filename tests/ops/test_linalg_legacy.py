"""PyTorch's top-level linear algebra beside torch.linalg (logdet, matrix_power, cholesky,
geqrf/orgqr/ormqr, lu_unpack, diagflat, dist) against torch, float64, forward and backward."""

import numpy as np
import pytest

import chainrule as cr

INF = float("inf")

CASES = {
    "logdet": (lambda M, a: M.logdet(a @ a.mT + M.eye(3, dtype=M.float64)) + a.logdet() * 0,
               lambda r: [r.standard_normal((2, 3, 3)) + 3 * np.eye(3)]),
    "matrix_power": (lambda M, a: M.matrix_power(a, 3) + a.matrix_power(-1),
                     lambda r: [r.standard_normal((2, 3, 3)) + 3 * np.eye(3)]),
    "cholesky": (lambda M, a: M.cholesky(a @ a.mT + M.eye(3, dtype=M.float64), True),
                 lambda r: [r.standard_normal((3, 3))]),
    "orgqr": (lambda M, a, tau: M.orgqr(a, tau) + a.orgqr(tau),
              lambda r: [r.standard_normal((5, 3)), r.standard_normal(3)]),
    "diagflat": (lambda M, x: M.diagflat(x, 1) + x.diagflat(1),
                 lambda r: [r.standard_normal((2, 2))]),
    "dist": (lambda M, x, y: M.dist(x, y) + M.dist(x, y, 1) + x.dist(y, INF) + M.dist(x, y, 3),
             lambda r: [r.standard_normal((3, 4)), r.standard_normal(4)]),
}


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:torch.cholesky is deprecated")
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    fn, make = CASES[name]
    rng = np.random.default_rng(len(name))
    arrays = make(rng)
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, u = fn(cr, *ours), fn(torch, *theirs)
    np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = rng.standard_normal(y.shape)
    (y * cr.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    for x, t in zip(ours, theirs):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("transpose", [False, True])
def test_geqrf_and_ormqr_match_pytorch(left, transpose):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a0, c0 = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 5, 4) if left else (2, 4, 5))
    (h, tau), (th, ttau) = cr.geqrf(cr.tensor(a0)), torch.geqrf(torch.tensor(a0))
    np.testing.assert_allclose(h.numpy(), th.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tau.numpy(), ttau.numpy(), rtol=1e-12, atol=1e-14)
    assert not h.requires_grad
    hh, tt = cr.tensor(h.numpy(), requires_grad=True), torch.tensor(th.numpy(), requires_grad=True)
    c, tc = cr.tensor(c0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    y = cr.ormqr(hh, tau, c, left, transpose)
    u = torch.ormqr(tt, ttau, tc, left, transpose)
    np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = rng.standard_normal(y.shape)
    (y * cr.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(hh.grad.numpy(), tt.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(c.grad.numpy(), tc.grad.numpy(), rtol=1e-9, atol=1e-11)
    q = cr.linalg.qr(cr.tensor(a0), mode="complete").Q.numpy()
    qc = (np.swapaxes(q, -1, -2) if transpose else q)
    want = qc @ c0 if left else c0 @ qc
    np.testing.assert_allclose(y.numpy(), want, atol=1e-12)


def test_ormqr_gradgradcheck():
    rng = np.random.default_rng(2)
    h, tau = cr.geqrf(cr.tensor(rng.standard_normal((4, 3))))
    h = cr.tensor(h.numpy(), requires_grad=True)
    c = cr.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    assert cr.gradgradcheck(lambda h, c: cr.ormqr(h, tau, c, True, True), [h, c])


@pytest.mark.kernel_free
@pytest.mark.torch
def test_lu_unpack_and_logdet_edges_match_pytorch():
    torch = pytest.importorskip("torch")
    a0 = np.random.default_rng(3).standard_normal((2, 4, 3))
    lu, piv = cr.linalg.lu_factor(cr.tensor(a0))
    tlu, tpiv = torch.linalg.lu_factor(torch.tensor(a0))
    for flags in ((True, True), (True, False), (False, True)):
        for x, t in zip(cr.lu_unpack(lu, piv, *flags), torch.lu_unpack(tlu, tpiv, *flags)):
            assert x.shape == tuple(t.shape)
            np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-12, atol=1e-14)
    m = np.stack([-np.eye(3), np.zeros((3, 3)), 2 * np.eye(3)])
    a = cr.tensor(m, requires_grad=True)
    t = torch.tensor(m, requires_grad=True)
    y, u = cr.logdet(a), torch.logdet(t)
    np.testing.assert_array_equal(y.numpy(), u.detach().numpy())  # nan, -inf, 3 log 2
    a, t = cr.tensor(m[::2], requires_grad=True), torch.tensor(m[::2], requires_grad=True)
    cr.logdet(a).sum().backward()  # the negative determinant's matrix gets 0, as in PyTorch
    torch.logdet(t).sum().backward()
    assert np.all(a.grad.numpy()[0] == 0)
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-14)


@pytest.mark.kernel_free
def test_bad_input_is_refused_clearly():
    with pytest.raises(TypeError, match="matrix_power: n must be an int, got 1.5"):
        cr.matrix_power(cr.eye(2), 1.5)
    with pytest.raises(ValueError, match=r"expected square matrices \(\*, n, n\), got shape"):
        cr.linalg.matrix_power(cr.ones(2, 3), 2)
    with pytest.raises(ValueError, match=r"ormqr: input of shape \(5, 3\), tau of shape \(3,\) "
                                         r"and other of shape \(4, 2\) do not fit \(left=True\)"):
        cr.ormqr(cr.ones(5, 3), cr.ones(3), cr.ones(4, 2))
    with pytest.raises(TypeError, match="diagflat: expected a Tensor, got list"):
        cr.diagflat([1.0])
