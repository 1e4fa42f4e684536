"""Fuzz wave 25: torch.linalg corners against PyTorch 2.13 (lstsq's drivers)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _lstsq_pair(a, b, **kw):
    t = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), **kw)
    c = cr.linalg.lstsq(cr.tensor(a), cr.tensor(b), **kw)
    return t, c


def test_lstsq_gels_ignores_rcond_and_gives_residuals():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    t, c = _lstsq_pair(a, b, rcond=0.5, driver="gels")  # gels is a QR: rcond plays no part
    np.testing.assert_allclose(c.solution.numpy(), t.solution.numpy(), rtol=1e-10)
    np.testing.assert_allclose(c.residuals.numpy(), t.residuals.numpy(), rtol=1e-10)
    assert tuple(c.rank.shape) == tuple(t.rank.shape) == (0,)
    a[:, 2] = a[:, 0]  # rank-deficient: gels still reports residuals
    t, c = _lstsq_pair(a, b, driver="gels")
    assert tuple(c.residuals.shape) == tuple(t.residuals.shape) == (2,)
    error = a @ c.solution.numpy() - b  # PyTorch's solution there is LAPACK's garbage
    np.testing.assert_allclose(c.residuals.numpy(), (error ** 2).sum(0), rtol=1e-10)


def test_matrix_exp_float16_is_computed_in_float32():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 3)).astype(np.float16)
    w = rng.standard_normal((2, 3, 3))
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    expected = torch.linalg.matrix_exp(ta)  # PyTorch's own float16 one overflows to inf/NaN
    (g64,) = torch.autograd.grad((expected * torch.tensor(w)).sum(), ta)
    ca = cr.tensor(a, requires_grad=True)
    got = cr.linalg.matrix_exp(ca)
    (g16,) = cr.grad((got * cr.tensor(w.astype(np.float16))).sum(), ca)
    assert got.dtype == g16.dtype == np.float16
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(g16.numpy(), g64.numpy(), rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("dt", ["float64", "complex128", "float32"])
def test_nan_matrices_give_nan_in_det_slogdet_inv_solve(dt):
    # NumPy called the first singular (det 0, inv raised) and warned at the second; PyTorch: NaN
    first = np.array([[np.nan, 2.0], [2.0, 4.0]])
    second = np.eye(2) * 2 + 0.1
    second[1, 0] = np.nan
    a = np.stack([first, second, np.diag([2.0, 4.0])]).astype(dt)
    ta, ca = torch.tensor(a), cr.tensor(a)
    b = np.ones((3, 2, 1), dt)
    pairs = [(torch.linalg.det(ta), cr.linalg.det(ca)),
             (torch.linalg.inv(ta), cr.linalg.inv(ca)),
             (torch.linalg.solve(ta, torch.tensor(b)), cr.linalg.solve(ca, cr.tensor(b)))]
    pairs += list(zip(torch.linalg.slogdet(ta), cr.linalg.slogdet(ca)))
    for t, c in pairs:
        assert str(c.dtype) == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-6, equal_nan=True)
    assert np.isnan(cr.linalg.det(ca).numpy()[:2]).all()


def test_cross_refuses_bool_with_a_clear_error():
    a = cr.tensor(np.array([[True, False, True]]))
    with pytest.raises(TypeError, match="cross: bool"):
        cr.linalg.cross(a, a)
    with pytest.raises(TypeError, match="cross: bool"):
        cr.cross(a, a, dim=1)
    ints = cr.linalg.cross(cr.tensor(np.array([[1, 0, 0]])), cr.tensor(np.array([[0, 1, 0]])))
    assert ints.tolist() == [[0, 0, 1]]


def test_matrix_power_takes_numpy_and_0d_tensor_exponents():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    expected = torch.linalg.matrix_power(torch.tensor(a), torch.tensor(-2)).numpy()
    for n in (np.int64(-2), np.int32(-2), cr.tensor(-2)):
        np.testing.assert_allclose(cr.linalg.matrix_power(cr.tensor(a), n).numpy(), expected)
    for bad in (True, 2.0, cr.tensor(2.0), cr.tensor([2])):
        with pytest.raises(TypeError, match="n must be an int"):
            cr.linalg.matrix_power(cr.tensor(a), bad)


def test_solve_left_false_refuses_a_batch_of_vectors():
    a = np.eye(3) * 2 + np.ones((2, 3, 3)) * 0.1
    with pytest.raises(RuntimeError):  # PyTorch: "Incompatible shapes ... XA = B"
        torch.linalg.solve(torch.tensor(a), torch.ones(2, 3, dtype=torch.float64), left=False)
    with pytest.raises(ValueError, match="left=False"):  # it gave X of shape (2, 2, 3)
        cr.linalg.solve(cr.tensor(a), cr.ones(2, 3, dtype=np.float64), left=False)
    b = np.arange(6.0).reshape(1, 2, 3)  # (*, k, n) matrices still broadcast
    t = torch.linalg.solve(torch.tensor(a), torch.tensor(b), left=False)
    np.testing.assert_allclose(cr.linalg.solve(cr.tensor(a), cr.tensor(b), left=False).numpy(),
                               t.numpy(), rtol=1e-12)


def test_lu_solve_and_lu_unpack_check_the_pivots():
    a = cr.tensor(np.array([[0.0, 2.0, 1.0], [3.0, 1.0, 0.0], [1.0, 1.0, 4.0]]))
    lu, pivots = cr.linalg.lu_factor(a)
    x = cr.linalg.lu_solve(lu, pivots, a)  # the pivots lu_factor gives still serve
    np.testing.assert_allclose(x.numpy(), np.eye(3), atol=1e-12)
    # a 0 pivot indexed the last row (a silently wrong solution); 7 fell outside the rows
    for bad in (np.array([0, 2, 3]), np.array([1, 2, 7])):
        bad = cr.tensor(bad.astype(np.int32))
        with pytest.raises(ValueError, match="pivots must be between 1 and 3"):
            cr.linalg.lu_solve(lu, bad, a)
        with pytest.raises(ValueError, match="pivots must be between 1 and 3"):
            cr.lu_unpack(lu, bad)
    with pytest.raises(TypeError, match="pivots must be an integer Tensor"):
        cr.linalg.lu_solve(lu, pivots.to(np.float32), a)


def test_cond_nuc_comes_from_the_singular_values():
    # [[1, 2], [2, 4]] is singular to rounding: its LU fails, so the inverse route gave inf;
    # PyTorch's nuclear condition number is sum(s) sum(1 / s) of the SVD, large and finite
    a = np.stack([np.array([[1.0, 2.0], [2.0, 4.0]]), np.array([[1.0, 2.0], [3.0, 4.0]]),
                  np.array([[1.0, 0.0], [0.0, 0.0]])])
    ta = torch.tensor(a[1:2], requires_grad=True)
    t = torch.linalg.cond(torch.tensor(a), "nuc")
    c = cr.linalg.cond(cr.tensor(a), "nuc")
    np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-6)
    assert np.isfinite(c.numpy()[0]) and np.isinf(c.numpy()[2])
    (gt,) = torch.autograd.grad(torch.linalg.cond(ta, "nuc").sum(), ta)
    ca = cr.tensor(a[1:2], requires_grad=True)
    (gc,) = cr.grad(cr.linalg.cond(ca, "nuc").sum(), ca)
    np.testing.assert_allclose(gc.numpy(), gt.numpy(), rtol=1e-10)
    m = cr.tensor(np.array([[1.0, 2.0], [3.0, 4.5]]), requires_grad=True)
    assert cr.gradcheck(lambda x: cr.linalg.cond(x, "nuc"), m)
    assert cr.gradgradcheck(lambda x: cr.linalg.cond(x, "nuc"), m)
    assert np.isnan(cr.linalg.cond(cr.zeros(2, 2, dtype=np.float64), "nuc").item())


def test_pinv_and_matrix_rank_name_a_tolerance_that_does_not_broadcast():
    a = cr.tensor(np.eye(3) * np.array([[[1.0]], [[2.0]]]))  # batch (2,)
    for fn in (cr.linalg.pinv, cr.linalg.matrix_rank):  # NumPy's broadcast error before
        with pytest.raises(ValueError, match=r"atol of shape \(3,\) does not broadcast with the "
                                             r"input's batch shape \(2,\)"):
            fn(a, atol=cr.tensor([0.1, 0.2, 0.3]))
    ranks = cr.linalg.matrix_rank(a, atol=cr.tensor([[0.5], [1.5], [2.5]]))  # (3, 1) with (2,)
    assert ranks.tolist() == [[3, 3], [0, 3], [0, 0]]


def test_numpy_scalars_as_linalg_arguments():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 3))
    ta, ca = torch.tensor(a), cr.tensor(a)
    pairs = [  # each raised (norm's dim: "object of type 'numpy.int64' has no len()")
        (torch.linalg.norm(ta, dim=1), cr.linalg.norm(ca, dim=np.int64(1))),
        (torch.linalg.diagonal(ta, offset=1), cr.linalg.diagonal(ca, offset=np.int64(1))),
        (torch.linalg.vander(ta[0, 0], N=4), cr.linalg.vander(ca[0, 0], N=np.int64(4))),
        (torch.linalg.matrix_rank(ta, atol=0.5), cr.linalg.matrix_rank(ca, atol=np.float32(0.5))),
        (torch.linalg.tensorinv(ta[0], ind=1), cr.linalg.tensorinv(ca[0], ind=np.int64(1))),
    ]
    for t, c in pairs:
        assert tuple(c.shape) == tuple(t.shape)
        np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-10)
    with pytest.raises(TypeError, match="offset must be an int"):
        cr.linalg.diagonal(ca, offset=np.float64(1.0))


def test_vector_norm_of_a_list_is_a_clear_error():
    for bad in ([3.0, 4.0], 3.0):  # AttributeError: 'list' object has no attribute 'ndim'
        with pytest.raises(TypeError, match="vector_norm: x must be a Tensor, got"):
            cr.linalg.vector_norm(bad)
    assert cr.linalg.vector_norm(cr.tensor([3.0, 4.0])).item() == 5.0


@pytest.mark.parametrize("case", ["zero pivot", "nan", "inf"])
def test_solve_triangular_substitutes_where_lu_fails_or_spreads_nan(case):
    # before: a zero pivot raised LinAlgError ('linalg.solve: ... singular'); a NaN made the
    # whole solution NaN; PyTorch's trsm gives inf/NaN only in the rows that read them
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 4, 4)) + 3 * np.eye(4)
    a[0, 1, 1] = 0.0 if case == "zero pivot" else np.nan if case == "nan" else np.inf
    b = rng.standard_normal((2, 4, 3))
    for upper, left in ((True, True), (False, True), (True, False)):
        bb = b if left else np.swapaxes(b, -1, -2).copy()
        with np.errstate(all="ignore"):
            t = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(bb), upper=upper,
                                              left=left)
        c = cr.linalg.solve_triangular(cr.tensor(a), cr.tensor(bb), upper=upper, left=left)
        np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-10, equal_nan=True)
        assert np.isfinite(c.numpy()[1]).all()


def test_solve_triangular_complex_zero_pivot_gives_nan():
    a = np.array([[1.0 + 1j, 2.0], [0.0, 0.0]])  # PyTorch (complex128): NaN, not inf
    b = np.array([[1.0 + 1j], [2.0 + 1j]])  # (2 + 1j) / 0 is inf + inf j in NumPy
    t = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=True)
    c = cr.linalg.solve_triangular(cr.tensor(a), cr.tensor(b), upper=True)
    assert np.isnan(t.numpy()).all() and np.isnan(c.numpy()).all()


def test_lu_solve_of_a_singular_factorization_gives_pytorchs_inf_and_nan():
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    lu, piv, _ = torch.linalg.lu_factor_ex(torch.tensor(a))
    t = torch.linalg.lu_solve(lu, piv, torch.eye(3, dtype=torch.float64))
    clu, cpiv, _ = cr.linalg.lu_factor_ex(cr.tensor(a))
    c = cr.linalg.lu_solve(clu, cpiv, cr.eye(3, dtype=np.float64))  # raised LinAlgError
    np.testing.assert_allclose(c.numpy(), t.numpy(), equal_nan=True)
    x = cr.tensor(np.triu(a) + 3 * np.eye(3), requires_grad=True)
    y = cr.tensor(np.ones((3, 2)), requires_grad=True)
    assert cr.gradcheck(lambda p, q: cr.linalg.solve_triangular(p, q, upper=True), (x, y))
