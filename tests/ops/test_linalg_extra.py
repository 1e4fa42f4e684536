"""pinv, lstsq, matrix_rank, cond, the matrix norms, cross, vecdot, multi_dot, triangular and
Cholesky solves, inv_ex/cholesky_ex and matrix_exp against torch (float64, forward and backward),
by gradcheck/gradgradcheck, and their errors."""

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid
from ._kernel_cases import once_unless

INF = float("inf")


def _tri(rng, shape, lower=True):
    m = rng.standard_normal(shape) + 4 * np.eye(shape[-1])
    return np.tril(m) if lower else np.triu(m)


CASES = {
    "pinv_tall": (lambda L, a: L.linalg.pinv(a), lambda r: [r.standard_normal((2, 5, 3))]),
    "pinv_wide": (lambda L, a: L.linalg.pinv(a), lambda r: [r.standard_normal((3, 5))]),
    "pinv_hermitian": (lambda L, a: L.linalg.pinv(a + a.mT, hermitian=True),
                       lambda r: [r.standard_normal((4, 4))]),
    "pinverse": (lambda L, a: L.pinverse(a) + a.pinverse(), lambda r: [r.standard_normal((4, 3))]),
    "lstsq": (lambda L, a, b: L.linalg.lstsq(a, b).solution,
              lambda r: [r.standard_normal((2, 5, 3)), r.standard_normal((2, 5, 2))]),
    "lstsq_vector": (lambda L, a, b: L.linalg.lstsq(a, b).solution,
                     lambda r: [r.standard_normal((5, 3)), r.standard_normal(5)]),
    "lstsq_residuals": (lambda L, a, b: L.linalg.lstsq(a, b, driver="gelsd").residuals,
                        lambda r: [r.standard_normal((5, 3)), r.standard_normal((5, 2))]),
    "lstsq_vector_residuals": (lambda L, a, b: L.linalg.lstsq(a, b, 0.1, driver="gelss").residuals,
                               lambda r: [r.standard_normal((2, 5, 3)), r.standard_normal((2, 5))]),
    "cond": (lambda L, a: L.linalg.cond(a) + L.linalg.cond(a, -2),
             lambda r: [r.standard_normal((2, 4, 3))]),
    "matrix_norms": (lambda L, a: sum(L.linalg.matrix_norm(a, p) for p in
                                      ("fro", "nuc", 2, -2, 1, -1, INF, -INF)),
                     lambda r: [r.standard_normal((2, 3, 4))]),
    "matrix_norm_dims": (lambda L, a: L.linalg.matrix_norm(a, "nuc", dim=(2, 0), keepdim=True),
                         lambda r: [r.standard_normal((3, 2, 4))]),
    "norm_of_a_matrix": (lambda L, a: L.linalg.norm(a, 2) + L.linalg.norm(a, 1)
                         + L.linalg.norm(a, -INF, dim=(1, 0)) + L.linalg.norm(a, 3, dim=0).sum(),
                         lambda r: [r.standard_normal((3, 4))]),
    "vecdot": (lambda L, x, y: L.linalg.vecdot(x, y, dim=0),
               lambda r: [r.standard_normal((3, 4)), r.standard_normal((3, 1))]),
    "cross": (lambda L, x, y: L.linalg.cross(x, y) + L.linalg.cross(y.mT, x.mT, dim=0).mT,
              lambda r: [r.standard_normal((4, 3)), r.standard_normal((1, 3))]),
    "multi_dot": (lambda L, a, b, c: L.linalg.multi_dot([a, b, c]),
                  lambda r: [r.standard_normal((6, 2)), r.standard_normal((2, 7)),
                             r.standard_normal((7, 5))]),
    "multi_dot_vectors": (lambda L, a, b, c: L.linalg.multi_dot((a, b, c)),
                          lambda r: [r.standard_normal(3), r.standard_normal((3, 4)),
                                     r.standard_normal(4)]),
    "solve_triangular": (lambda L, a, b: L.linalg.solve_triangular(a, b, upper=True)
                         + L.linalg.solve_triangular(a, b.mT, upper=False, left=False).mT
                         + L.linalg.solve_triangular(a, b, upper=False, unitriangular=True),
                         lambda r: [r.standard_normal((2, 4, 4)) + 4 * np.eye(4),
                                    r.standard_normal((4, 3))]),
    "matrix_exp": (lambda L, a: L.linalg.matrix_exp(a),
                   lambda r: [2 * r.standard_normal((2, 4, 4))]),
    "matrix_exp_method": (lambda L, a: a.matrix_exp(), lambda r: [0.3 * r.standard_normal((3, 3))]),
    "householder_product": (lambda L, a, tau: L.linalg.householder_product(a, tau),
                            lambda r: [r.standard_normal((2, 5, 3)), r.standard_normal((2, 2))]),
    "vander": (lambda L, x: L.linalg.vander(x) + L.linalg.vander(x, N=4)[..., :3],
               lambda r: [r.standard_normal((2, 3))]),
    "solve_ex": (lambda L, a, b: L.linalg.solve_ex(a, b).result
                 + L.linalg.solve_ex(a, b.mT, left=False).result.mT,
                 lambda r: [r.standard_normal((2, 3, 3)) + 3 * np.eye(3),
                            r.standard_normal((3, 3))]),
    "tensorinv": (lambda L, a: L.linalg.tensorinv(a, 1) + L.linalg.tensorinv(
        a.reshape(2, 3, 6), ind=2).reshape(2, 3, 6), lambda r: [r.standard_normal((6, 2, 3))
                                                                  + np.eye(6).reshape(6, 2, 3)]),
    "tensorsolve": (lambda L, a, b: L.linalg.tensorsolve(a, b)
                    + L.linalg.tensorsolve(a.permute(1, 0, 2), b, dims=(0,)).mT.reshape(2, 3),
                    lambda r: [r.standard_normal((6, 2, 3)) + np.eye(6).reshape(6, 2, 3),
                               r.standard_normal(6)]),
    "inv_ex": (lambda L, a: L.linalg.inv_ex(a).inverse,
               lambda r: [r.standard_normal((2, 3, 3)) + 3 * np.eye(3)]),
    "cholesky_ex": (lambda L, a: L.linalg.cholesky_ex(a @ a.mT + L.eye(3, dtype=L.float64),
                                                      upper=True).L,
                    lambda r: [r.standard_normal((3, 3))]),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    fn, make = CASES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
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


GRADGRADCHECK = ["pinv_tall", "pinv_wide", "pinv_hermitian", "lstsq", "cond", "matrix_norms",
                 "cross", "multi_dot", "solve_triangular", "matrix_exp_method",
                 "householder_product", "vander", "tensorsolve"]
# cases that call a kernel of chainrule.kernels.K: both kernel modes; the rest once
BOTH_MODES_GRADGRADCHECK = {"multi_dot", "pinv_hermitian", "pinv_wide", "tensorsolve"}


@pytest.mark.parametrize(("name", "kernel_mode"),
                         once_unless(GRADGRADCHECK, BOTH_MODES_GRADGRADCHECK),
                         indirect=["kernel_mode"])
def test_gradgradcheck(name):
    fn, make = CASES[name]
    rng = np.random.default_rng(3)
    arrays = [cr.tensor(a, requires_grad=True) for a in make(rng)]
    assert cr.gradcheck(lambda *xs: fn(cr, *xs), arrays)
    assert cr.gradgradcheck(lambda *xs: fn(cr, *xs), arrays)


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:torch.triangular_solve is deprecated")
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_and_triangular_solves_match_pytorch(upper):
    """Ours read only the factor's triangle, so only it gets a gradient; PyTorch also gives the
    other triangle one (of A = L L^T with a full L), which its forward never reads."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    l0, b0 = _tri(rng, (2, 4, 4), lower=not upper), rng.standard_normal((4, 3))
    calls = [lambda M, b, f: M.cholesky_solve(b, f, upper),
             lambda M, b, f: M.cholesky_inverse(f[0], upper) @ b,
             lambda M, b, f: b.cholesky_solve(f, upper) + f.cholesky_inverse(upper)[..., :3],
             lambda M, b, f: M.triangular_solve(b, f, upper, True).solution]
    keep = np.triu if upper else np.tril
    for call in calls:
        f, t = cr.tensor(l0, requires_grad=True), torch.tensor(l0, requires_grad=True)
        b, tb = cr.tensor(b0, requires_grad=True), torch.tensor(b0, requires_grad=True)
        y, u = call(cr, b, f), call(torch, tb, t)
        np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-10, atol=1e-12)
        w = rng.standard_normal(y.shape)
        (y * cr.tensor(w)).sum().backward()
        (u * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(f.grad.numpy(), keep(t.grad.numpy()), rtol=1e-9, atol=1e-10)
    solution, copy = cr.triangular_solve(cr.tensor(b0), cr.tensor(l0), upper)
    np.testing.assert_array_equal(copy.numpy(), l0)
    factor = cr.tensor(l0[0], requires_grad=True)
    assert cr.gradgradcheck(lambda f: cr.cholesky_solve(cr.tensor(b0), f, upper), [factor])


def _lstsq_fills_the_fields_pytorchs_driver_fills_case(driver, shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    a0, b0 = rng.standard_normal((2,) + shape), rng.standard_normal((2, shape[0], 2))
    ours = cr.linalg.lstsq(cr.tensor(a0), cr.tensor(b0), driver=driver)
    theirs = torch.linalg.lstsq(torch.tensor(a0), torch.tensor(b0), driver=driver)
    for name in ours._fields:
        x, t = getattr(ours, name).numpy(), getattr(theirs, name).numpy()
        assert (x.shape, x.dtype) == (t.shape, t.dtype), name
        np.testing.assert_allclose(x, t, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_lstsq_fills_the_fields_pytorchs_driver_fills():
    each_case(_lstsq_fills_the_fields_pytorchs_driver_fills_case, grid(
        ("shape", [(5, 3), (3, 3), (3, 5)]),
        ("driver", [None, "gels", "gelsy", "gelsd", "gelss"]),
    ))


@pytest.mark.kernel_free
@pytest.mark.torch
def test_rank_and_cut_offs_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    a0 = rng.standard_normal((3, 5, 4))
    a0[1, :, 3] = a0[1, :, 0] + a0[1, :, 1]  # rank 3
    a0[2] = np.outer(rng.standard_normal(5), rng.standard_normal(4))  # rank 1
    sym = a0[:, :4] @ np.swapaxes(a0[:, :4], -1, -2)
    for kw in ({}, {"atol": 1.0}, {"rtol": 0.2}, {"atol": 0.5, "rtol": 0.1}):
        for x, herm in ((a0, False), (sym, True)):
            ours = cr.linalg.matrix_rank(cr.tensor(x), hermitian=herm, **kw)
            theirs = torch.linalg.matrix_rank(torch.tensor(x), hermitian=herm, **kw)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
            np.testing.assert_allclose(cr.linalg.pinv(cr.tensor(x), hermitian=herm, **kw).numpy(),
                                       torch.linalg.pinv(torch.tensor(x), hermitian=herm,
                                                         **kw).numpy(), rtol=1e-9, atol=1e-11)
    atol = cr.tensor([0.0, 0.5, 100.0])
    np.testing.assert_array_equal(cr.linalg.matrix_rank(cr.tensor(a0), atol=atol).numpy(),
                                  torch.linalg.matrix_rank(torch.tensor(a0),
                                                           atol=torch.tensor(atol.numpy())))
    assert cr.linalg.matrix_rank(cr.tensor(a0)).dtype == cr.int64


@pytest.mark.torch
def test_pinv_of_empty_matrices_matches_pytorch():
    # hermitian=True of 0 x 0 matrices raised NumPy's "zero-size array to reduction operation"
    torch = pytest.importorskip("torch")
    for shape in ((0, 0), (2, 0, 0), (3, 0)):
        for herm in ((False, True) if shape[-1] == shape[-2] else (False,)):
            x = cr.tensor(np.zeros(shape), requires_grad=True)
            y = cr.linalg.pinv(x, hermitian=herm)
            assert y.shape == tuple(torch.linalg.pinv(torch.zeros(shape, dtype=torch.float64),
                                                      hermitian=herm).shape)
            y.sum().backward()
            assert x.grad.shape == shape


@pytest.mark.kernel_free
@pytest.mark.torch
def test_condition_numbers_of_other_orders_match_pytorch():
    torch = pytest.importorskip("torch")
    a0 = np.random.default_rng(8).standard_normal((2, 4, 4))
    for p in ("fro", "nuc", 1, -1, INF, -INF):
        np.testing.assert_allclose(cr.linalg.cond(cr.tensor(a0), p).numpy(),
                                   torch.linalg.cond(torch.tensor(a0), p).numpy(), rtol=1e-12)
    a = cr.tensor(a0, requires_grad=True)
    assert cr.gradcheck(lambda a: cr.linalg.cond(a, "nuc") + cr.linalg.cond(a, 1), [a])


@pytest.mark.kernel_free
def test_matrix_exp_matches_scipy():
    expm = pytest.importorskip("scipy.linalg").expm
    rng = np.random.default_rng(9)
    for scale in (1e-3, 0.5, 4.0, 40.0):
        a0 = scale * rng.standard_normal((2, 4, 4))
        want = np.stack([expm(m) for m in a0])
        got = cr.linalg.matrix_exp(cr.tensor(a0)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12 * max(1, scale), atol=1e-14)
    rot = np.array([[0.0, -np.pi / 2], [np.pi / 2, 0.0]])  # a quarter turn
    np.testing.assert_allclose(cr.linalg.matrix_exp(cr.tensor(rot)).numpy(),
                               [[0, -1], [1, 0]], atol=1e-15)
    single = cr.linalg.matrix_exp(cr.tensor(a0[0].astype(np.float32)))
    assert single.dtype == cr.float32
    np.testing.assert_allclose(single.numpy(), want[0], rtol=1e-5)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_ex_variants_report_failures_as_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    a0 = rng.standard_normal((3, 3, 3)) + 3 * np.eye(3)
    a0[1, 2] = a0[1, 0]  # singular
    a0[2] = 0
    inv, info = cr.linalg.inv_ex(cr.tensor(a0))
    np.testing.assert_array_equal(info.numpy(), torch.linalg.inv_ex(torch.tensor(a0)).info)
    assert info.dtype == cr.int32 and info.numpy()[0] == 0
    np.testing.assert_allclose(inv.numpy()[0], np.linalg.inv(a0[0]), rtol=1e-12)
    assert np.isnan(inv.numpy()[1:]).all()
    spd = a0 @ np.swapaxes(a0, -1, -2) + np.eye(3)
    spd[1, 1, 1] = -5.0  # the 2x2 leading minor is not positive-definite
    spd[2, 2, 2] = -5.0
    low, info = cr.linalg.cholesky_ex(cr.tensor(spd))
    np.testing.assert_array_equal(info.numpy(), torch.linalg.cholesky_ex(torch.tensor(spd)).info)
    np.testing.assert_allclose(low.numpy()[0], np.linalg.cholesky(spd[0]), rtol=1e-12)
    assert np.isnan(low.numpy()[1:]).all()
    with pytest.raises(ValueError, match="not positive-definite"):
        cr.linalg.cholesky_ex(cr.tensor(spd), check_errors=True)
    with pytest.raises(np.linalg.LinAlgError):
        cr.linalg.inv_ex(cr.tensor(a0), check_errors=True)
    a = cr.tensor(a0, requires_grad=True)
    cr.linalg.inv_ex(a).inverse[0].sum().backward()  # the failed matrices get no gradient
    assert np.all(a.grad.numpy()[1:] == 0) and np.all(np.isfinite(a.grad.numpy()))


def test_householder_product_of_geqrf_output_is_qrs_q():
    a0 = np.random.default_rng(12).standard_normal((6, 4))
    h, tau = np.linalg.qr(a0, mode="raw")  # LAPACK geqrf's reflections (h transposed)
    q = cr.linalg.householder_product(cr.tensor(h.T.copy()), cr.tensor(tau))
    np.testing.assert_allclose(q.numpy(), cr.linalg.qr(cr.tensor(a0)).Q.numpy(), atol=1e-14)
    with pytest.raises(ValueError, match=r"m >= n and tau \(\*, k\) with k <= n, got shapes "
                                         r"\(3, 4\) and \(2,\)"):
        cr.linalg.householder_product(cr.ones(3, 4), cr.ones(2))


@pytest.mark.kernel_free
@pytest.mark.torch
def test_solve_ex_reports_singular_systems_as_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    a0, b0 = rng.standard_normal((3, 3, 3)), rng.standard_normal((3, 2))
    a0[1, 2] = a0[1, 0]
    for b in (b0, b0[:, 0]):
        ours = cr.linalg.solve_ex(cr.tensor(a0), cr.tensor(b))
        theirs = torch.linalg.solve_ex(torch.tensor(a0), torch.tensor(b))
        np.testing.assert_array_equal(ours.info.numpy(), theirs.info.numpy())
        assert ours.result.shape == tuple(theirs.result.shape)
        np.testing.assert_allclose(ours.result.numpy()[[0, 2]], theirs.result.numpy()[[0, 2]],
                                   rtol=1e-10)
        assert np.isnan(ours.result.numpy()[1]).all()


@pytest.mark.kernel_free
def test_bad_input_is_refused_clearly():
    a = cr.tensor(np.random.default_rng(11).standard_normal((4, 3)))
    with pytest.raises(ValueError, match=r"b of shape \(3, 2\) does not fit input of shape "
                                         r"\(4, 3\)"):
        cr.linalg.lstsq(a, cr.ones(3, 2, dtype=cr.float64))
    with pytest.raises(ValueError, match="driver must be one of"):
        cr.linalg.lstsq(a, a, driver="gelsx")
    with pytest.raises(ValueError, match=r"hermitian=True needs square matrices, got shape"):
        cr.linalg.pinv(a, hermitian=True)
    with pytest.raises(TypeError, match="atol must be a float or a Tensor, got 'x'"):
        cr.linalg.pinv(a, atol="x")
    with pytest.raises(ValueError, match=r"cond: p='fro' needs square matrices"):
        cr.linalg.cond(a, "fro")
    with pytest.raises(ValueError, match="ord must be one of 'fro', 'nuc'.* got 3"):
        cr.linalg.matrix_norm(a, 3)
    with pytest.raises(ValueError, match=r"ord='nuc' is a matrix norm; dim=1 names one axis"):
        cr.linalg.norm(a, "nuc", dim=1)
    with pytest.raises(ValueError, match=r"x must be 1-D or 2-D, got shape \(2, 2, 2\)"):
        cr.linalg.norm(cr.ones(2, 2, 2), 2)
    with pytest.raises(ValueError, match=r"dim=-1 must have size 3 in both, got shapes"):
        cr.linalg.cross(cr.ones(4, 2), cr.ones(4, 2))
    with pytest.raises(ValueError, match=r"tensors\[0\] of shape \(4, 3\) and tensors\[1\] of"):
        cr.linalg.multi_dot([a, a])
    with pytest.raises(ValueError, match=r"tensors\[1\] must be 2-D .* got shape \(3,\)"):
        cr.linalg.multi_dot([a, cr.ones(3), a])
    with pytest.raises(ValueError, match=r"B of shape \(4, 3\) does not fit A of shape \(3, 3\)"):
        cr.linalg.solve_triangular(cr.eye(3), a, upper=True)
    with pytest.raises(ValueError, match=r"batch shapes of A \(2, 3, 3\) and B \(4, 3, 1\)"):
        cr.linalg.solve_triangular(cr.ones(2, 3, 3), cr.ones(4, 3, 1), upper=True)
    with pytest.raises(ValueError, match=r"the first 1 dimensions of shape \(6, 2, 2\) hold 6 "
                                         "entries and the rest 4"):
        cr.linalg.tensorinv(cr.ones(6, 2, 2), 1)
    with pytest.raises(ValueError, match=r"input of shape \(6, 2, 3\) must start with other's "
                                         r"shape \(5,\)"):
        cr.linalg.tensorsolve(cr.ones(6, 2, 3), cr.ones(5))
    with pytest.raises(ValueError, match="multi_dot: expected at least two Tensors, got 1"):
        cr.linalg.multi_dot([a])
    with pytest.raises(TypeError, match="vander: x must be a Tensor, got list"):
        cr.linalg.vander([1.0, 2.0])
    with pytest.raises(ValueError, match=r"matrix_exp: expected square matrices"):
        cr.linalg.matrix_exp(a)
