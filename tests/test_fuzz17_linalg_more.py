"""Fuzz wave 17: chainrule's linear algebra against PyTorch, continued: rectangular (tall and
wide) complex matrices through svd, qr, pinv, lstsq, matrix_rank, the norms and vander; the
solves of complex matrices with broadcast batch dims; singular complex matrices (which functions
raise, which return inf or NaN); householder_product, tensorinv/tensorsolve and vander in real
and complex dtypes; gradients of eigen and singular vectors through gauge-invariant losses."""

import warnings

import numpy as np
import pytest

from ._fuzz12_check import check
from ._fuzz17_linalg import COMPLEX, crandn, grad_tol, real_view, well_conditioned

torch = pytest.importorskip("torch")

INF = float("inf")
ALL = COMPLEX + ("float64", "float32")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _rand(rng, shape, dt):
    if dt.startswith("complex"):
        return crandn(rng, shape, dt)
    return rng.standard_normal(shape).astype(dt)


def _check(fn, *arrays, **kw):
    check(torch, lambda L, *ts: real_view(L, fn(L, *ts)), *arrays, **kw)


def _rebuilt(k, full):
    def rebuild(L, t):
        u, s, vh = L.linalg.svd(t, full_matrices=full)
        return (u[..., :, :k] * s[..., None, :].to(u.dtype)) @ vh[..., :k, :]
    return rebuild


@pytest.mark.parametrize("dt", COMPLEX)
@pytest.mark.parametrize("b", [(), (2,), (0,)])
@pytest.mark.parametrize("n,m", [(0, 2), (3, 0), (1, 4), (3, 2), (2, 4), (4, 4)])
def test_rectangular_complex(dt, b, n, m):
    rng = np.random.default_rng(n * 5 + m + 7 * len(b))
    g, tol = grad_tol(dt)
    x = crandn(rng, b + (n, m), dt)
    lab = f"{dt}{b}{n}x{m}"
    k = min(n, m)
    one = [("svdvals", lambda L, t: L.linalg.svdvals(t), g),
           ("svd rebuilt", _rebuilt(k, True), g),
           ("svd reduced rebuilt", _rebuilt(k, False), g),
           ("svd |U|^2 row sums", lambda L, t: (L.linalg.svd(t, False)[0].abs() ** 2).sum(-1), g),
           ("qr rebuilt", lambda L, t: (lambda q, r: q @ r)(*L.linalg.qr(t)), g),
           ("qr", lambda L, t: L.linalg.qr(t), ()),
           ("qr complete", lambda L, t: L.linalg.qr(t, "complete"), ()),
           ("qr r", lambda L, t: L.linalg.qr(t, "r"), ()),
           ("pinv", lambda L, t: L.linalg.pinv(t), g),
           ("pinv atol", lambda L, t: L.linalg.pinv(t, atol=1.0), g),
           ("pinv rtol", lambda L, t: L.linalg.pinv(t, rtol=0.4), g),
           ("matrix_rank", lambda L, t: L.linalg.matrix_rank(t), ()),
           ("matrix_rank atol rtol", lambda L, t: L.linalg.matrix_rank(t, atol=1.0, rtol=0.1), ()),
           ("cond", lambda L, t: L.linalg.cond(t), ()),
           ("norm", lambda L, t: L.linalg.norm(t), g),
           ("vector_norm dims", lambda L, t: L.linalg.vector_norm(t, 3, dim=(0, -1)), g),
           ("vander", lambda L, t: L.linalg.vander(t), g),
           ("vander N", lambda L, t: L.linalg.vander(t, N=3), g),
           ("diagonal", lambda L, t: L.linalg.diagonal(t, offset=1), g),
           ("tril", lambda L, t: L.tril(t, -1), g),
           ("triu", lambda L, t: L.triu(t, 2), g)]
    one += [(f"matrix_norm {o}", lambda L, t, o=o: L.linalg.matrix_norm(t, o), g)
            for o in ("fro", "nuc", 1, -1, 2, -2, INF, -INF)]
    one += [(f"vector_norm {o}", lambda L, t, o=o: L.linalg.vector_norm(t, o, -2, True), g)
            for o in (0, 1, 2, 3.5, INF, -INF, -1, -0.5)]
    for name, fn, gg in one:
        _check(fn, x, grad=gg, rtol=tol, label=f"{name} {lab}")
    a, y = crandn(rng, b + (n + 2, n), dt), crandn(rng, b + (n + 2, m), dt)
    for drv in (None, "gels", "gelsy", "gelsd", "gelss"):
        if drv in ("gelsd", "gelss") and 0 in b + (n, m):
            continue  # (PyTorch's gelsd/gelss crash the process on empty inputs)
        # PyTorch's gels of an (m, 0) A reports residuals 0 (LAPACK's quick return zeroes B);
        # they are ||B||^2 (its gelsd and gelss say so, chainrule's every driver): not compared
        skip = (1,) if drv == "gels" and n == 0 else ()
        _check(lambda L, t, u, d=drv: L.linalg.lstsq(t, u, driver=d)[:2], a, y,
               grad=(0, 1) if g else (), skip=skip, rtol=tol, label=f"lstsq {drv} {lab}")


@pytest.mark.parametrize("dt", COMPLEX)
@pytest.mark.parametrize("ba,bb", [((2, 1), (1, 3)), ((3,), ()), ((), (3,)), ((1,), (3,)),
                                   ((0,), (1,)), ((2, 1), (0,))])
def test_complex_solves_with_broadcast_batches(dt, ba, bb):
    rng = np.random.default_rng(len(ba) * 3 + len(bb))
    g, tol = grad_tol(dt, 2)
    a, x = well_conditioned(rng, ba + (3, 3), dt), crandn(rng, bb + (3, 2), dt)
    for name, fn, y in [
        ("solve", lambda L, t, u: L.linalg.solve(t, u), x),
        ("solve vector", lambda L, t, u: L.linalg.solve(t, u), x[..., 0].copy()),
        ("solve left=False", lambda L, t, u: L.linalg.solve(t, u.mT, left=False), x),
        ("solve_ex left=False", lambda L, t, u: L.linalg.solve_ex(t, u.mT, left=False), x),
        ("cholesky_solve", lambda L, t, u: L.cholesky_solve(u, L.linalg.cholesky(t @ t.mH)), x),
        ("solve_triangular", lambda L, t, u: L.linalg.solve_triangular(t.triu(), u, upper=True),
         x),
        ("solve_triangular unit", lambda L, t, u: L.linalg.solve_triangular(
            t.tril(), u, upper=False, unitriangular=True), x),
        ("lu_solve", lambda L, t, u: L.linalg.lu_solve(*L.linalg.lu_factor(t), u), x),
        ("lu_solve adjoint", lambda L, t, u: L.linalg.lu_solve(*L.linalg.lu_factor(t), u,
                                                               adjoint=True), x),
        ("matmul", lambda L, t, u: t @ u, x),
    ] + ([("lstsq", lambda L, t, u: L.linalg.lstsq(t, u).solution, x)] if len(ba) <= len(bb)
         else []):
        _check(fn, a, y, grad=g, rtol=tol, label=f"{name} {dt}{ba}{bb}")


SINGULAR = [
    ("inv", lambda L, t: L.linalg.inv(t)),
    ("inv_ex info", lambda L, t: L.linalg.inv_ex(t).info),
    ("inv_ex check_errors", lambda L, t: L.linalg.inv_ex(t, check_errors=True)),
    ("solve", lambda L, t: L.linalg.solve(t, t[..., :1])),
    ("solve_ex info", lambda L, t: L.linalg.solve_ex(t, t[..., :1]).info),
    ("solve_ex check_errors", lambda L, t: L.linalg.solve_ex(t, t[..., :1], check_errors=True)),
    ("cholesky", lambda L, t: L.linalg.cholesky(t)),
    ("cholesky_ex info", lambda L, t: L.linalg.cholesky_ex(-t).info),
    ("det", lambda L, t: L.linalg.det(t)),  # (its gradient there: docs/pytorch.md)
    ("slogdet", lambda L, t: L.linalg.slogdet(t)),
    ("matrix_rank", lambda L, t: L.linalg.matrix_rank(t)),
    ("matrix_power -1", lambda L, t: L.linalg.matrix_power(t, -1)),
    ("pinv", lambda L, t: L.linalg.pinv(t)),
    ("lu_factor", lambda L, t: L.linalg.lu_factor(t)),
    ("lu_factor_ex", lambda L, t: L.linalg.lu_factor_ex(t)),
    ("lu", lambda L, t: L.linalg.lu(t)),
    ("cond 1", lambda L, t: L.linalg.cond(t, 1)),
    ("cond fro", lambda L, t: L.linalg.cond(t, "fro")),
    ("matrix_exp", lambda L, t: L.linalg.matrix_exp(t)),
    ("eigvals", lambda L, t: L.linalg.eigvals(t)),
    ("svdvals", lambda L, t: L.linalg.svdvals(t)),
    # not compared: cond (p=2) is sigma_max / sigma_min, sigma_min 0 or a rounding (PyTorch's
    # is 6e16 here); logdet's imaginary part, the phase of log(0) (PyTorch: NaN, here 0)
    ("logdet real part", lambda L, t: L.logdet(t).real),
]


@pytest.mark.parametrize("dt", ALL)
@pytest.mark.parametrize("shp", [(2, 2), (3, 2, 2)])
def test_singular_matrices(dt, shp):
    rng = np.random.default_rng(5)
    ones = np.ones(shp, dt)
    tol = 1e-9 if dt in ("complex128", "float64") else 1e-4
    for name, fn in SINGULAR:
        _check(fn, ones, rtol=tol, label=f"singular {name} {dt}{shp}")
    rhs = _rand(rng, shp[:-1] + (1,), dt)
    for drv in (None, "gelsy", "gelsd", "gelss"):
        _check(lambda L, t, u, d=drv: L.linalg.lstsq(t, u, driver=d), ones, rhs, rtol=tol,
               label=f"lstsq {drv} rank-deficient {dt}")


@pytest.mark.parametrize("dt", ALL)
def test_householder_tensorinv_tensorsolve_vander(dt):
    rng = np.random.default_rng(6)
    g, tol = grad_tol(dt, 2)
    for sa, st in [((4, 3), (2,)), ((4, 3), (3,)), ((3, 3), (3,)), ((2, 5, 3), (2, 3)),
                   ((4, 3), (0,)), ((0, 0), (0,)), ((3, 0), (0,)), ((3, 4), (2,)),
                   ((4, 3), (4,)), ((4, 3), (2, 2))]:
        _check(lambda L, a, t: L.linalg.householder_product(a, t), _rand(rng, sa, dt),
               _rand(rng, st, dt), grad=g, rtol=tol, label=f"householder_product {sa}{st} {dt}")
    _check(lambda L, a: (lambda q, t: L.linalg.householder_product(q, t))(*L.geqrf(a)),
           _rand(rng, (4, 3), dt), rtol=tol, label=f"geqrf then householder_product {dt}")
    a = well_conditioned(rng, (6, 6), dt) if dt.startswith("complex") else \
        (rng.standard_normal((6, 6)) + 3 * np.eye(6)).astype(dt)
    for name, fn, args in [
        ("tensorinv ind=1", lambda L, t: L.linalg.tensorinv(t, ind=1), (a,)),
        ("tensorinv (2, 3, 6) ind=2", lambda L, t: L.linalg.tensorinv(t.reshape(2, 3, 6), ind=2),
         (a,)),
        ("tensorinv (6, 2, 3) ind=1", lambda L, t: L.linalg.tensorinv(t.reshape(6, 2, 3), 1),
         (a,)),
        ("tensorinv not square", lambda L, t: L.linalg.tensorinv(t.reshape(4, 9), ind=1), (a,)),
        ("tensorinv ind=0", lambda L, t: L.linalg.tensorinv(t, ind=0), (a,)),
        ("tensorsolve", lambda L, t, u: L.linalg.tensorsolve(t.reshape(2, 3, 6), u),
         (a, _rand(rng, (2, 3), dt))),
        ("tensorsolve dims", lambda L, t, u: L.linalg.tensorsolve(t.reshape(6, 2, 3), u, (0,)),
         (a, _rand(rng, (2, 3), dt))),
        ("tensorsolve dims 0 2", lambda L, t, u: L.linalg.tensorsolve(
            t.reshape(2, 3, 2, 3), u, dims=(0, 2)), (a, _rand(rng, (3, 3), dt))),
    ]:
        _check(fn, *args, grad=g[:len(args)], rtol=tol, label=f"{name} {dt}")
    for s, n in [((3,), None), ((3,), 5), ((2, 3), None), ((3,), 1), ((0,), None), ((3,), 0),
                 ((3,), -1), ((), None)]:
        x = _rand(rng, s, dt)
        _check(lambda L, t, n=n: L.linalg.vander(t, N=n), x, grad=g[:1], rtol=tol,
               label=f"linalg.vander {s} {n} {dt}")
        for inc in (False, True):
            _check(lambda L, t, n=n, i=inc: L.vander(t, N=n, increasing=i), x, grad=g[:1],
                   rtol=tol, label=f"vander {s} {n} {inc} {dt}")


def test_householder_product_of_no_reflections_has_a_gradient_regression():
    """Before: householder_product with an empty tau (k = 0) returned the identity's columns
    outside the graph, so backward through it raised 'does not require grad'; PyTorch's output
    requires grad and A's gradient is 0 (NaN below A's diagonal changes neither)."""
    import chainrule as cr
    a = np.arange(12.0).reshape(4, 3)
    a[1:, 0] = np.nan
    for shape in [(4, 3), (2, 3, 3), (3, 0), (0, 0)]:
        x = a[:shape[-2], :shape[-1]] * np.ones(shape)
        _check(lambda L, t, u: L.linalg.householder_product(t, u), x, np.zeros(shape[:-2] + (0,)),
               grad=(0, 1), label=f"householder_product {shape}")
    t = cr.tensor(a, requires_grad=True)
    out = cr.linalg.householder_product(t, cr.zeros(0, dtype=cr.float64))
    out.sum().backward()
    np.testing.assert_array_equal(out.numpy(), np.eye(4, 3))
    np.testing.assert_array_equal(t.grad.numpy(), np.zeros((4, 3)))


def test_cholesky_of_nan_fails_as_lapacks_regression():
    """Before: cholesky of a matrix whose pivot is NaN returned NaN (NumPy lets it through, its
    check is the floating-point invalid flag, which quiet NaNs do not raise), and cholesky_ex
    reported info 0; LAPACK's potrf fails at a NaN pivot, so PyTorch raises LinAlgError there and
    its cholesky_ex gives that minor's order. inf stays a value (a positive pivot)."""
    import chainrule as cr
    nan = np.nan
    cases = [[[nan, 0], [0, 1.0]], [[4.0, nan], [nan, 1.0]], [[1.0, 0], [0, nan]],
             [[np.inf, 0], [0, 1.0]], [[1.0, np.inf], [np.inf, 1.0]], np.eye(3) * nan]
    for a in map(np.asarray, cases):
        for x in (a, a.astype(complex)):
            _check(lambda L, t: L.linalg.cholesky(t), x, label=f"cholesky {a}")
            _check(lambda L, t: L.linalg.cholesky_ex(t).info, x, label=f"info {a}")
            _check(lambda L, t: L.linalg.cholesky_ex(t, check_errors=True), x, label=f"{a}")
    batch = np.stack([np.eye(2), cases[0], cases[1], cases[3]])
    _check(lambda L, t: L.linalg.cholesky_ex(t).info, batch, label="a batch's info")
    with pytest.raises(cr.linalg.LinAlgError, match="linalg.cholesky: .*a pivot is NaN"):
        cr.linalg.cholesky(cr.tensor(batch))


def test_cholesky_upper_reads_the_upper_triangle_regression():
    """Before: cholesky(A, upper=True) and cholesky_ex(upper=True) factored A's lower triangle
    and transposed the result; LAPACK's potrf('U'), PyTorch's, reads the upper one. A matrix
    stored in its upper triangle only (the lower zero) got a silently wrong factor. Hermitian
    matrices and the gradient are unchanged."""
    rng = np.random.default_rng(9)
    a = rng.standard_normal((3, 4, 4))
    spd = a @ a.swapaxes(-1, -2) + 4 * np.eye(4)
    c = crandn(rng, (3, 4, 4))
    hpd = c @ np.conj(c.swapaxes(-1, -2)) + 4 * np.eye(4)
    for x in (spd, hpd):
        for half in (np.triu(x), np.tril(x), x + np.tril(rng.standard_normal((4, 4)), -1)):
            for name, fn in [("cholesky", lambda L, t: L.linalg.cholesky(t, upper=True)),
                             ("cholesky_ex", lambda L, t: L.linalg.cholesky_ex(t, upper=True)),
                             ("torch.cholesky", lambda L, t: L.cholesky(t, True))]:
                _check(fn, half, rtol=1e-12, label=f"{name} {x.dtype}")
    # (the complex gradient: test_fuzz17_linalg_complex.py, the Hermitian part of PyTorch's)
    _check(lambda L, t: L.linalg.cholesky(t, upper=True), spd, grad=(0,), rtol=1e-9,
           label="gradient")


def test_lu_factor_of_a_singular_matrix_raises_a_runtime_error_regression():
    """Before: lu_factor and lu_factor_ex(check_errors=True) of a singular matrix raised a plain
    ValueError, which a PyTorch program's `except RuntimeError` misses; PyTorch's is a
    RuntimeError. Now chainrule's LinAlgError (a RuntimeError and a ValueError)."""
    import chainrule as cr
    for fn in (lambda L, t: L.linalg.lu_factor(t),
               lambda L, t: L.linalg.lu_factor_ex(t, check_errors=True)):
        for lib in (torch, cr):
            with pytest.raises(RuntimeError):
                fn(lib, lib.ones(2, 3, 3))
        with pytest.raises(cr.linalg.LinAlgError, match="singular"):
            fn(cr, cr.zeros(2, 2))
