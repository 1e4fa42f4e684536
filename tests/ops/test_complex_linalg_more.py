"""Complex matrices through the rest of ``torch.linalg``: ``qr`` (all modes; the gradient of
'reduced' and of square 'complete'), ``pinv``/``pinverse``, ``lstsq`` (every driver's fields),
``matrix_rank``, ``cond``, ``solve_triangular``, the Cholesky family (``cholesky_ex``,
``cholesky_solve``, ``cholesky_inverse``), ``lu_factor``/``lu``/``lu_solve`` (LAPACK's complex
pivots: the largest |Re| + |Im|), ``geqrf``/``householder_product``/``ormqr`` and
``triangular_solve``, and ``svd``'s U and Vh (losses independent of their phases).
Each is checked in complex128 against PyTorch's values and conjugate gradients (z.grad = dL/dx
+ i dL/dy) and by gradcheck; QR's R has LAPACK's real diagonal, which fixes Q's phases, so a
loss of Q and R is gauge-invariant there."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck

from ._kernel_cases import once_unless

torch = pytest.importorskip("torch")


def _c(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _hpd(L, a):  # a Hermitian positive-definite matrix made of a
    return a @ a.mH + L.eye(a.shape[-1], dtype=L.float64)


def _chol(L, a):  # a lower Cholesky factor: tril with a positive real diagonal
    n = a.shape[-1]
    return L.tril(a, -1) + L.diag_embed(a.diagonal(0, -2, -1).abs() + 1.0) * L.eye(n)


def _cond(L, a, p):
    if L is cr:
        return cr.linalg.cond(a, p)
    # PyTorch's complex cond(p) backward fails (its inv_ex output is written in place), so its
    # gradient is read from cond's definition ||A||_p ||A^-1||_p; the values are cond's own
    with torch.no_grad():
        value = torch.linalg.cond(a, p)
    norms = L.linalg.matrix_norm(a, p) * L.linalg.matrix_norm(L.linalg.inv(a), p)
    assert torch.allclose(norms.detach(), value, rtol=1e-12)
    return norms


def _qr_sum(q, r):
    return (q * 1.5).sum() + r[..., :2, :].sum()


# name: (call on a library module `L` and its inputs, shapes of the complex inputs, gradgrad)
CASES = {
    "qr_tall": (lambda L, a: L.linalg.qr(a).Q * 2 + L.linalg.qr(a).R.sum(), [(2, 4, 3)], True),
    "qr_square_complete": (lambda L, a: _qr_sum(*L.linalg.qr(a, mode="complete")), [(3, 3)],
                           True),
    "qr_wide": (lambda L, a: L.linalg.qr(a).R + L.linalg.qr(a).Q.sum(), [(3, 5)], True),
    "qr_method": (lambda L, a: a.qr().Q.abs() + a.qr(some=False).R.sum(), [(3, 3)], False),
    "pinv_tall": (lambda L, a: L.linalg.pinv(a), [(2, 4, 3)], True),
    "pinv_wide": (lambda L, a: L.linalg.pinv(a) + a.pinverse(), [(2, 4)], True),
    "pinv_hermitian": (lambda L, a: L.linalg.pinv(a + a.mH, hermitian=True), [(3, 3)], True),
    "lstsq": (lambda L, a, b: L.linalg.lstsq(a, b).solution, [(2, 5, 3), (2, 5, 2)], True),
    "lstsq_gelsd_vector": (lambda L, a, b: L.linalg.lstsq(a, b, driver="gelsd").solution
                           + L.linalg.lstsq(a, b, driver="gels").residuals,
                           [(5, 3), (5,)], True),
    "lstsq_residuals": (lambda L, a, b: L.linalg.lstsq(a, b, driver="gelss").residuals,
                        [(4, 2), (4, 3)], True),
    "lstsq_wide": (lambda L, a, b: L.linalg.lstsq(a, b, driver="gelsy").solution,
                   [(2, 4), (2, 2)], True),
    "cond": (lambda L, a: L.linalg.cond(a) + L.linalg.cond(a, -2), [(2, 3, 4)], False),
    "cond_square": (lambda L, a: _cond(L, a, "fro") + _cond(L, a, "nuc") + _cond(L, a, 1)
                    + _cond(L, a, float("-inf")) + L.linalg.cond(a, 2), [(2, 3, 3)], False),
    "cholesky_ex": (lambda L, a: L.linalg.cholesky_ex(_hpd(L, a)).L
                    + L.linalg.cholesky_ex(_hpd(L, a), upper=True).L, [(2, 3, 3)], True),
    "cholesky_solve": (lambda L, a, b: L.cholesky_solve(b, _chol(L, a))
                       + L.cholesky_solve(b, _chol(L, a).mH, upper=True),
                       [(2, 3, 3), (2, 3, 2)], True),
    "cholesky_inverse": (lambda L, a: L.cholesky_inverse(_chol(L, a))
                         + _chol(L, a).mH.cholesky_inverse(upper=True), [(3, 3)], True),
    "solve_triangular": (lambda L, a, b: L.linalg.solve_triangular(a, b, upper=True)
                         + L.linalg.solve_triangular(a, b.mT, upper=False, left=False).mT,
                         [(3, 3), (3, 2)], True),
    "triangular_solve": (lambda L, b, a: L.triangular_solve(b, a, upper=False).solution
                         + L.triangular_solve(b, a, transpose=True).solution,
                         [(3, 2), (3, 3)], True),
    "lu_factor_solve": (lambda L, a, b: _lu_all(L, a, b), [(2, 4, 4), (2, 4, 2)], True),
    "svd_vectors": (lambda L, a: _svd_gauge_free(L, a), [(2, 4, 3)], False),
    "svd_vectors_wide": (lambda L, a: _svd_gauge_free(L, a), [(3, 5)], False),
    "svd_old_vectors": (lambda L, a: L.svd(a).U.abs() ** 2 + L.svd(a).V.abs().sum(), [(3, 3)],
                        False),
    "vecdot": (lambda L, a, b: L.linalg.vecdot(a, b) + L.linalg.vecdot(b, a, dim=0).sum(),
               [(3, 4), (3, 4)], True),
    "inv_ex_solve_ex": (lambda L, a, b: L.linalg.inv_ex(a).inverse
                        + L.linalg.solve_ex(a, b).result, [(2, 3, 3), (2, 3, 3)], True),
    "householder_product": (lambda L, a, tau: L.linalg.householder_product(a, tau),
                            [(4, 3), (2,)], True),
    "ormqr": (lambda L, a, tau, c: L.ormqr(a, tau, c) + L.ormqr(a, tau, c, transpose=True)
              + L.ormqr(a, tau, c.mT, left=False).mT
              + L.ormqr(a, tau, c.mT, left=False, transpose=True).mT,
              [(4, 3), (3,), (4, 4)], True),
}


def _svd_gauge_free(L, a):  # losses of U and Vh that do not depend on their phases
    u, s, vh = L.linalg.svd(a, full_matrices=False)
    return u[..., :1] @ vh[..., :1, :] + (u.abs() ** 2).sum() + (u @ u.mH).sum() * s[..., :1, None]


def _lu_all(L, a, b):
    lu, piv = L.linalg.lu_factor(a)
    _, low, up = L.linalg.lu(a)
    solves = [L.linalg.lu_solve(lu, piv, b), L.linalg.lu_solve(lu, piv, b, adjoint=True),
              L.linalg.lu_solve(lu, piv, b.mT, left=False).mT,
              L.linalg.lu_solve(lu, piv, b.mT, left=False, adjoint=True).mT]
    return lu * 2 + low + up + sum(solves).sum()


def _inputs(module, arrays):
    if module is cr:
        return [cr.tensor(a, requires_grad=True) for a in arrays]
    return [torch.tensor(a, requires_grad=True) for a in arrays]


def _arrays(name, seed):
    rng = np.random.default_rng(seed)
    arrays = [_c(rng, shape) for shape in CASES[name][1]]
    if "triangular" in name:  # well conditioned triangles
        arrays[name == "triangular_solve"] += 3 * np.eye(3)
    return rng, arrays


@pytest.mark.filterwarnings("ignore:torch\\.(qr|triangular_solve) is deprecated")
@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_pytorch(name):
    fn = CASES[name][0]
    rng, arrays = _arrays(name, len(name))
    ours, theirs = _inputs(cr, arrays), _inputs(torch, arrays)
    y, t = fn(cr, *ours), fn(torch, *theirs)
    assert str(y.dtype) == str(t.dtype).replace("torch.", "")
    np.testing.assert_allclose(y.numpy(), t.detach().resolve_conj().numpy(), rtol=1e-10,
                               atol=1e-12)
    u = rng.standard_normal(t.shape)
    if t.is_complex():
        u = u + 1j * rng.standard_normal(t.shape)
    y.backward(cr.tensor(u))
    t.backward(torch.tensor(u))
    for a, b in zip(ours, theirs, strict=True):
        assert a.grad.dtype == a.dtype
        np.testing.assert_allclose(a.grad.numpy(), b.grad.resolve_conj().numpy(), rtol=1e-9,
                                   atol=1e-11)


# cases that call a kernel of chainrule.kernels.K: both kernel modes; the rest once
BOTH_MODES_GRADCHECK = {
    "cholesky_inverse", "householder_product", "lstsq_gelsd_vector", "lstsq_residuals",
    "lstsq_wide", "ormqr", "pinv_hermitian", "pinv_wide", "qr_method", "qr_square_complete",
    "qr_wide", "solve_triangular", "svd_old_vectors", "svd_vectors_wide", "triangular_solve",
    "vecdot",
}


@pytest.mark.parametrize(("name", "kernel_mode"), once_unless(sorted(CASES), BOTH_MODES_GRADCHECK),
                         indirect=["kernel_mode"])
def test_gradcheck(name):
    fn, _, second = CASES[name]
    xs = _inputs(cr, _arrays(name, len(name) + 1)[1])
    assert gradcheck(lambda *a: fn(cr, *a), xs)
    if second:
        assert gradgradcheck(lambda *a: fn(cr, *a), xs)


@pytest.mark.kernel_free
def test_qr_r_mode_and_lstsq_fields_as_pytorch():
    rng = np.random.default_rng(3)
    a, b = _c(rng, (2, 5, 3)), _c(rng, (2, 5, 2))
    ta, tb = torch.tensor(a), torch.tensor(b)
    q, r = cr.linalg.qr(cr.tensor(a), mode="r")
    tq, tr = torch.linalg.qr(ta, mode="r")
    assert q.shape == tuple(tq.shape)
    np.testing.assert_allclose(r.numpy(), tr.numpy(), rtol=1e-12, atol=1e-13)
    for x, y in zip(cr.geqrf(cr.tensor(a)), torch.geqrf(ta), strict=True):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(cr.linalg.lu_factor(cr.tensor(a[:, :3])).pivots.numpy(),
                                  torch.linalg.lu_factor(ta[:, :3]).pivots.numpy())
    unpacked = cr.lu_unpack(*cr.linalg.lu_factor(cr.tensor(a[:, :3])))
    for x, y in zip(unpacked, torch.lu_unpack(*torch.linalg.lu_factor(ta[:, :3])), strict=True):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-12, atol=1e-13)
    for x, y in zip(cr.svd(cr.tensor(a)), torch.svd(ta), strict=True):  # V = Vh^H
        np.testing.assert_allclose(x.numpy(), y.resolve_conj().numpy(), rtol=1e-10, atol=1e-12)
    singular = a[:, :3].copy()
    singular[1] = 0
    ours = cr.linalg.inv_ex(cr.tensor(singular))
    theirs = torch.linalg.inv_ex(torch.tensor(singular))
    np.testing.assert_array_equal(ours.info.numpy(), theirs.info.numpy())
    np.testing.assert_allclose(ours.inverse.numpy()[0], theirs.inverse.numpy()[0], rtol=1e-12)
    for driver in ("gels", "gelsy", "gelsd", "gelss"):
        ours = cr.linalg.lstsq(cr.tensor(a), cr.tensor(b), driver=driver)
        theirs = torch.linalg.lstsq(ta, tb, driver=driver)
        for x, y in zip(ours, theirs, strict=True):
            assert str(x.dtype) == str(y.dtype).replace("torch.", ""), driver
            np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-10, atol=1e-12)
    low = cr.tensor(np.array([[[4, 1j], [-1j, 2]], [[1, 2], [2, 1]]], complex))
    ours, theirs = cr.linalg.cholesky_ex(low), torch.linalg.cholesky_ex(torch.tensor(low.numpy()))
    np.testing.assert_array_equal(ours.info.numpy(), theirs.info.numpy())
    np.testing.assert_allclose(ours.L.numpy()[0], theirs.L.numpy()[0], rtol=1e-12)
    assert np.isnan(ours.L.numpy()[1]).all()  # NaN where it failed (PyTorch: a partial factor)
    rank = cr.linalg.matrix_rank(cr.tensor(a @ np.diag([1, 1, 0]) @ _c(rng, (3, 3))))
    np.testing.assert_array_equal(rank.numpy(), [2, 2])


@pytest.mark.kernel_free
def test_complex_gradients_refused_where_not_defined():
    a = cr.tensor(_c(np.random.default_rng(4), (4, 3)), requires_grad=True)
    with pytest.raises(ValueError, match="mode='r'"):
        cr.linalg.qr(a, mode="r").R.abs().sum().backward()
    with pytest.raises(ValueError, match="mode='complete' of a tall matrix"):
        cr.linalg.qr(a, mode="complete").R.abs().sum().backward()


@pytest.mark.kernel_free
@pytest.mark.parametrize("hermitian", [False, True])
def test_complex_ldl_as_pytorch(hermitian):
    rng = np.random.default_rng(5)
    a = _c(rng, (6, 4, 4))
    a = a + (np.conj if hermitian else np.asarray)(np.swapaxes(a, -1, -2))
    a[::2, range(4), range(4)] *= 0.01  # small diagonals: 2x2 blocks of D
    b = _c(rng, (6, 4, 2))
    ld, piv = cr.linalg.ldl_factor(cr.tensor(a), hermitian=hermitian)
    tld, tpiv = torch.linalg.ldl_factor(torch.tensor(a), hermitian=hermitian)
    assert (tpiv.numpy() < 0).any()
    np.testing.assert_array_equal(piv.numpy(), tpiv.numpy())
    np.testing.assert_allclose(ld.numpy(), tld.numpy(), rtol=1e-12, atol=1e-12)
    x = cr.linalg.ldl_solve(ld, piv, cr.tensor(b), hermitian=hermitian)
    t = torch.linalg.ldl_solve(tld, tpiv, torch.tensor(b), hermitian=hermitian)
    np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a @ x.numpy(), b, rtol=1e-9, atol=1e-10)


def _cofactors(m):
    n = m.shape[0]
    return np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(m, i, 0), j, 1))
                      for j in range(n)] for i in range(n)])


@pytest.mark.kernel_free
@pytest.mark.parametrize("rank", [1, 2])
def test_det_gradient_at_a_singular_complex_matrix_is_the_conjugate_cofactors(rank):
    rng = np.random.default_rng(rank)
    a = _c(rng, (3, rank)) @ _c(rng, (rank, 3))
    x = cr.tensor(a, requires_grad=True)
    (cr.linalg.det(x) * (1 + 2j)).real.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.conj(_cofactors(a)) * (1 - 2j), atol=1e-12)
    assert gradcheck(cr.linalg.det, [cr.tensor(a, requires_grad=True)])
    with pytest.raises(ValueError, match="second derivative at a singular"):
        gradgradcheck(cr.linalg.det, [cr.tensor(a, requires_grad=True)])
