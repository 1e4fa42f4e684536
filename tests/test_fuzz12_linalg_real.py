"""Fuzz wave 12: chainrule's real linear algebra against PyTorch, in float64 (with gradients)
and float32: batched inputs (batch dims (), (1,), (3,), empty batches), 0x0 and other empty
matrices, the decompositions (compared through invariants where PyTorch leaves signs free),
solves, inverses, determinants, the matrix and vector norms of every order, cond and
matrix_power; the products and diagonal helpers follow below. The complex side is in
tests/test_fuzz10_complex.py and tests/ops/test_complex_linalg_more.py.
"""

import warnings

import numpy as np
import pytest

from ._fuzz12_check import check

torch = pytest.importorskip("torch")

INF = float("inf")
BATCHES = [(), (1,), (3,), (0,), (2, 0)]


def _square(rng, b, n, dt):
    return (rng.standard_normal(b + (n, n)) + 3 * np.eye(n)).astype(dt)


def _spd(rng, b, n, dt):
    a = rng.standard_normal(b + (n, n))
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dt)


def _grad_tol(dt):
    return ((0,), 1e-9) if dt == "float64" else ((), 1e-4)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.mark.parametrize("dt", ["float64", "float32"])
@pytest.mark.parametrize("b", BATCHES)
@pytest.mark.parametrize("n", [0, 1, 3])
def test_square_ops(dt, b, n):
    rng = np.random.default_rng(n + 7 * len(b))
    g, tol = _grad_tol(dt)
    a, s = _square(rng, b, n, dt), _spd(rng, b, n, dt)
    lab = f"{dt}{b}n{n}"
    for name, fn, x in [
        ("inv", lambda L, t: L.linalg.inv(t), a),
        ("inv_ex", lambda L, t: L.linalg.inv_ex(t), a),
        ("det", lambda L, t: L.linalg.det(t), a),
        ("slogdet", lambda L, t: L.linalg.slogdet(t), a),
        ("logdet", lambda L, t: L.logdet(t), a),
        ("logdet of a negative determinant (nan)", lambda L, t: L.logdet(t), -a if n % 2 else a),
        ("cholesky", lambda L, t: L.linalg.cholesky(t), s),
        ("cholesky upper", lambda L, t: L.linalg.cholesky(t, upper=True), s),
        ("cholesky_ex", lambda L, t: L.linalg.cholesky_ex(t), s),
        ("cholesky not PD", lambda L, t: L.linalg.cholesky(t), -s),
        # not positive definite: only info is defined (L holds LAPACK's partial work)
        ("cholesky_ex info", lambda L, t: L.linalg.cholesky_ex(-t).info, s),
        ("eigvalsh L", lambda L, t: L.linalg.eigvalsh(t, UPLO="L"), a),
        ("eigvalsh U", lambda L, t: L.linalg.eigvalsh(t, UPLO="U"), a),
        ("eigh values U", lambda L, t: L.linalg.eigh(t, UPLO="U")[0], a),
        ("eigh rebuilt", lambda L, t: (lambda w, v: (v * w.unsqueeze(-2)) @ v.mT)(
            *L.linalg.eigh(t + t.mT)), a),
        ("svdvals", lambda L, t: L.linalg.svdvals(t), a),
    ] + [(f"matrix_power {p}", lambda L, t, p=p: L.linalg.matrix_power(t, p), a)
         for p in (-3, -1, 0, 1, 2, 5)]:
        check(torch, fn, x, grad=g, rtol=tol, label=f"{name} {lab}")


@pytest.mark.parametrize("dt", ["float64", "float32"])
@pytest.mark.parametrize("b", BATCHES)
@pytest.mark.parametrize("n,m", [(0, 0), (0, 2), (1, 0), (3, 0), (1, 4), (3, 2), (3, 4)])
def test_rectangular_ops(dt, b, n, m):
    rng = np.random.default_rng(n * 5 + m + 11 * len(b))
    g, tol = _grad_tol(dt)
    a, x = _square(rng, b, n, dt), rng.standard_normal(b + (n, m)).astype(dt)
    lab = f"{dt}{b}n{n}m{m}"
    k = min(n, m)

    def rebuilt(u, s, vh):
        return (u[..., :, :k] * s.unsqueeze(-2)) @ vh[..., :k, :]

    one = [("svdvals", lambda L, t: L.linalg.svdvals(t)),
           ("pinv", lambda L, t: L.linalg.pinv(t)),
           ("pinv rtol", lambda L, t: L.linalg.pinv(t, rtol=0.3)),
           ("pinv atol", lambda L, t: L.linalg.pinv(t, atol=1.0)),
           ("matrix_rank", lambda L, t: L.linalg.matrix_rank(t)),
           ("cond", lambda L, t: L.linalg.cond(t)),
           ("norm", lambda L, t: L.linalg.norm(t)),
           ("norm fro", lambda L, t: L.linalg.norm(t, "fro", (-2, -1))),
           ("norm nuc", lambda L, t: L.linalg.norm(t, "nuc", (-2, -1)))]
    for full in (True, False):
        one.append((f"svd {full} rebuilt", lambda L, t, f=full: rebuilt(*L.linalg.svd(t, f))))
    for mode in ("reduced", "complete"):
        one.append((f"qr {mode} rebuilt", lambda L, t, mo=mode: (lambda q, r: q @ r)(
            *L.linalg.qr(t, mode=mo))))
    for o in ("fro", "nuc", 1, -1, 2, -2, INF, -INF):
        one.append((f"matrix_norm {o}", lambda L, t, o=o: L.linalg.matrix_norm(t, o)))
        one.append((f"matrix_norm {o} keepdim", lambda L, t, o=o: L.linalg.matrix_norm(
            t, o, dim=(-1, -2), keepdim=True)))
    for o in (0, 1, 2, 3.5, INF, -INF, -1, -0.5):
        one.append((f"vector_norm {o}", lambda L, t, o=o: L.linalg.vector_norm(t, o)))
        one.append((f"vector_norm {o} dim", lambda L, t, o=o: L.linalg.vector_norm(
            t, o, dim=(-1,), keepdim=True)))
        one.append((f"norm {o} dim", lambda L, t, o=o: L.linalg.norm(t, o, dim=-2)))
    for name, fn in one:
        check(torch, fn, x, grad=g, rtol=tol, label=f"{name} {lab}")
    for name, fn in [("svd", lambda L, t: L.linalg.svd(t)), ("svd reduced",
                     lambda L, t: L.linalg.svd(t, full_matrices=False)),
                     ("qr complete", lambda L, t: L.linalg.qr(t, "complete")),
                     ("qr r", lambda L, t: L.linalg.qr(t, "r"))]:  # shapes and dtypes only
        check(torch, fn, x, skip=(0, 1, 2), label=f"{name} {lab}")
    for p in ("fro", "nuc", 1, -1, INF, -INF, 2, -2):
        check(torch, lambda L, t: L.linalg.cond(t, p), a, rtol=tol, label=f"cond {p} {lab}")
    gg = (0, 1) if g else ()
    two = [("solve", lambda L, t, y: L.linalg.solve(t, y), x),
           ("solve left=False", lambda L, t, y: L.linalg.solve(t, y.mT, left=False), x),
           ("solve vector", lambda L, t, y: L.linalg.solve(t, y), x.sum(-1)),
           ("solve_ex", lambda L, t, y: L.linalg.solve_ex(t, y), x)]
    for drv in (None, "gelsy") + (("gelsd", "gelss") if n * m and 0 not in b else ()):
        # (PyTorch's gelsd/gelss crash the process on empty inputs)
        two.append((f"lstsq {drv}", lambda L, t, y, d=drv: L.linalg.lstsq(t, y, driver=d)[:2], x))
        if m:  # no right-hand sides: PyTorch reports rank 0 (LAPACK's early return)
            two.append((f"lstsq {drv} rank", lambda L, t, y, d=drv: L.linalg.lstsq(
                t, y, driver=d).rank, x))
    for name, fn, y in two:
        check(torch, fn, a, y, grad=gg, rtol=tol, label=f"{name} {lab}")


def test_empty_matrix_norms_and_cond_regression():
    """Before: matrix_norm of orders 1, inf, 2 of an empty matrix and cond of one raised (a max
    over nothing); PyTorch returns 0. A smallest value among none (-1, -inf, -2) stays an error,
    and a -1 column-sum norm of a (0, 3) matrix is 0 (three empty columns)."""
    import chainrule as cr
    for shape in [(0, 0), (0, 3), (3, 0), (2, 0, 0)]:
        for o in (1, -1, 2, -2, INF, -INF, "fro", "nuc"):
            check(torch, lambda L, t, o=o: L.linalg.matrix_norm(t, o), np.zeros(shape),
                  grad=(0,), label=f"matrix_norm {o} {shape}")
        for p in (None, 1, -1, 2, -2, INF, -INF, "fro", "nuc"):
            check(torch, lambda L, t, p=p: L.linalg.cond(t, p), np.zeros(shape),
                  label=f"cond {p} {shape}")
    with pytest.raises(ValueError, match=r"-1 norm of a matrix of shape \(3, 0\)"):
        cr.linalg.matrix_norm(cr.zeros(3, 0), -1)
    assert cr.linalg.matrix_norm(cr.zeros(0, 3), -1).item() == 0.0


def test_negative_vector_norm_of_nothing_regression():
    """Before: a negative-order vector norm over an empty dimension returned inf; PyTorch raises
    (the order has no identity)."""
    import chainrule as cr
    for shape, dim in [((0,), None), ((2, 0), -1), ((0, 3), 0), ((0, 3), 1), ((2, 0), (0, 1))]:
        for o in (-1, -0.5, -INF, 0.5, 0, 2):
            check(torch, lambda L, t, o=o, d=dim: L.linalg.vector_norm(t, o, d), np.zeros(shape),
                  label=f"vector_norm {o} {shape} {dim}")
            check(torch, lambda L, t, o=o, d=dim: L.norm(t, o, d), np.zeros(shape),
                  label=f"norm {o} {shape} {dim}")
    with pytest.raises(ValueError, match=r"-1 norm of an empty reduction.*shape \(2, 0\)"):
        cr.linalg.vector_norm(cr.zeros(2, 0), -1, dim=-1)


@pytest.mark.parametrize("dt", ["float64", "float32"])
@pytest.mark.parametrize("ba,bb", [((2, 1), (1, 3)), ((3,), ()), ((), (3,)), ((1,), (3,)),
                                   ((0,), (1,)), ((2, 1), (0,))])
def test_broadcast_batches(dt, ba, bb):
    rng = np.random.default_rng(len(ba) * 3 + len(bb))
    g, tol = ((0, 1), 1e-9) if dt == "float64" else ((), 1e-4)
    a = _square(rng, ba, 3, dt)
    x = rng.standard_normal(bb + (3, 2)).astype(dt)
    lab = f"{dt}{ba}{bb}"
    for name, fn, y in [
        ("solve", lambda L, t, u: L.linalg.solve(t, u), x),
        ("solve vector", lambda L, t, u: L.linalg.solve(t, u), x[..., 0].copy()),
        ("solve_ex", lambda L, t, u: L.linalg.solve_ex(t, u), x),
        ("solve_ex left=False", lambda L, t, u: L.linalg.solve_ex(t, u.mT, left=False), x),
        ("matmul", lambda L, t, u: L.matmul(t, u), x),
        ("cholesky_solve", lambda L, t, u: L.cholesky_solve(u, L.linalg.cholesky(t @ t.mT)), x),
        ("solve_triangular", lambda L, t, u: L.linalg.solve_triangular(t.triu(), u, upper=True),
         x),
        ("lu_solve", lambda L, t, u: L.linalg.lu_solve(*L.linalg.lu_factor(t), u), x),
    ] + ([("lstsq", lambda L, t, u: L.linalg.lstsq(t, u).solution, x)] if len(ba) <= len(bb)
         else []):  # (a B of fewer dims than A: PyTorch's own rule is inconsistent)
        check(torch, fn, a, y, grad=g, rtol=tol, label=f"{name} {lab}")


def test_solve_ex_info_covers_a_own_batch_regression():
    """Before: solve_ex's info had the broadcast batch shape of A and B; PyTorch's has A's."""
    a = np.ones((2, 1, 2, 2))
    a[1] = np.eye(2)
    b = np.random.default_rng(0).standard_normal((3, 2, 1))
    for left in (True, False):
        out = check(torch, lambda L, t, u, f=left: L.linalg.solve_ex(t, u if f else u.mT,
                                                                   left=f).info, a, b)
        assert out.shape == (2, 1) and out.tolist() == [[2], [0]]
    check(torch, lambda L, t, u: L.linalg.solve_ex(t, u).info, a[:, :1], b[:0])


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_products(dt):
    rng = np.random.default_rng(3)
    g2, g3, tol = ((0, 1), (0, 1, 2), 1e-9) if dt == "float64" else ((), (), 1e-4)

    def r(*s):
        return rng.standard_normal(s).astype(dt)

    for sa, sb in [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((4, 2, 3), (3,)),
                   ((3,), (4, 3, 2)), ((0,), (0,)), ((0,), (0, 2)), ((2, 1, 2, 3), (5, 3, 4)),
                   ((3,), (2,)), ((2, 3), (2, 3))]:
        check(torch, lambda L, a, b: L.matmul(a, b), r(*sa), r(*sb), grad=g2, rtol=tol,
              label=f"matmul {sa} {sb}")
    m = r(2, 4)
    m[0, 1] = np.nan  # beta=0: PyTorch ignores the input, its NaN too
    for beta, alpha in [(0, 1), (0, 2.5), (1, 1), (0.5, 0), (0, 0)]:
        lab = f"{dt} beta={beta} alpha={alpha}"
        for name, fn, args in [
            ("addmm", lambda L, i, a, b: L.addmm(i, a, b, beta=beta, alpha=alpha),
             (m, r(2, 3), r(3, 4))),
            ("addmm broadcast", lambda L, i, a, b: L.addmm(i, a, b, beta=beta, alpha=alpha),
             (m[0].copy(), r(2, 3), r(3, 4))),
            ("addmm empty", lambda L, i, a, b: L.addmm(i, a, b, beta=beta, alpha=alpha),
             (m, r(2, 0), r(0, 4))),
            ("addmm_", lambda L, i, a, b: i.clone().addmm_(a, b, beta=beta, alpha=alpha),
             (m, r(2, 3), r(3, 4))),
            ("baddbmm", lambda L, i, a, b: L.baddbmm(i, a, b, beta=beta, alpha=alpha),
             (np.broadcast_to(m, (3, 2, 4)).copy(), r(3, 2, 3), r(3, 3, 4))),
            ("addbmm", lambda L, i, a, b: L.addbmm(i, a, b, beta=beta, alpha=alpha),
             (m, r(3, 2, 3), r(3, 3, 4))),
            ("addmv", lambda L, i, a, b: L.addmv(i, a, b, beta=beta, alpha=alpha),
             (m[0, :2].copy(), r(2, 3), r(3))),
            ("addr", lambda L, i, a, b: L.addr(i, a, b, beta=beta, alpha=alpha),
             (m, r(2), r(4))),
        ]:
            check(torch, fn, *args, grad=g3, rtol=tol, label=f"{name} {lab}")
    for sa, sb, dims in [((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 2), ([0], [1])),
                         ((2, 3), (2, 3), 0), ((2, 3), (3, 2), ([0, 1], [1, 0])),
                         ((0, 3), (3, 0), 1)]:
        check(torch, lambda L, a, b: L.tensordot(a, b, dims=dims), r(*sa), r(*sb), grad=g2,
              rtol=tol, label=f"tensordot {sa} {sb} {dims}")
    for sa, sb in [((2,), (3,)), ((2, 3), (1, 2)), ((2, 1, 3), (4,)), ((0, 2), (2, 2)),
                   ((), (2,))]:
        check(torch, lambda L, a, b: L.kron(a, b), r(*sa), r(*sb), grad=g2, rtol=tol,
              label=f"kron {sa} {sb}")
    for nb in (0, 2):
        check(torch, lambda L, a, b: L.outer(a, b), r(3), r(nb), grad=g2, rtol=tol)
        check(torch, lambda L, a, b: L.ger(a, b), r(3), r(nb), grad=g2, rtol=tol)
    for d in (-1, 0, 1, 2, None):
        for sa, sb in [((3, 3), (3, 3)), ((2, 3), (1, 3)), ((4, 3, 2), (3, 1)), ((3, 0), (3, 0))]:
            check(torch, lambda L, a, b: L.cross(a, b) if d is None else L.cross(a, b, dim=d),
                  r(*sa), r(*sb), grad=g2, rtol=tol, label=f"cross {d} {sa} {sb}")
            check(torch, lambda L, a, b: L.linalg.cross(a, b, dim=-1 if d is None else d),
                  r(*sa), r(*sb), grad=g2, rtol=tol, label=f"linalg.cross {d} {sa} {sb}")
        check(torch, lambda L, a, b: L.linalg.vecdot(a, b, dim=-1 if d is None else d),
              r(2, 3), r(1, 3), grad=g2, rtol=tol, label=f"vecdot {d}")
    for shapes in [[(2, 3), (3, 4)], [(3,), (3, 4), (4,)], [(3,), (3, 4), (4, 2)],
                   [(2, 3), (3, 4), (4, 5), (5,)], [(0, 3), (3, 2), (2, 0)], [(2, 0), (0, 2)],
                   [(3,), (3,)], [(2, 3), (4, 5)]]:
        check(torch, lambda L, *ts: L.linalg.multi_dot(list(ts)), *[r(*s) for s in shapes],
              grad=tuple(range(len(shapes))) if g2 else (), rtol=tol, label=f"multi_dot {shapes}")


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_diagonals_and_triangles(dt):
    rng = np.random.default_rng(4)
    g, tol = ((0,), 1e-9) if dt == "float64" else ((), 1e-4)
    for shp in [(3, 4), (2, 3, 4), (0, 3), (4, 0), (2, 2, 0, 3)]:
        x = rng.standard_normal(shp).astype(dt)
        mat, vec = x.reshape(shp[-2] * (len(shp) - 1), shp[-1]), x.reshape(-1)[:shp[-1]]
        for off in (-5, -1, 0, 2, 7):
            for name, fn, arg in [
                ("tril", lambda L, t: L.tril(t, off), x),
                ("triu", lambda L, t: L.triu(t, off), x),
                ("diagonal", lambda L, t: L.diagonal(t, off), x),
                ("diagonal 1 0", lambda L, t: L.diagonal(t, off, 1, 0), x),
                ("linalg.diagonal", lambda L, t: L.linalg.diagonal(t, offset=off, dim1=0,
                                                                   dim2=-1), x),
                ("diag_embed", lambda L, t: L.diag_embed(t, off), x),
                ("diag_embed 0 -1", lambda L, t: L.diag_embed(t, off, 0, -1), x),
                ("diag_embed -1 0", lambda L, t: L.diag_embed(t, off, -1, 0), x),
                ("diag of a matrix", lambda L, t: L.diag(t, off), mat),
                ("diag of a vector", lambda L, t: L.diag(t, off), vec),
                ("trace", lambda L, t: t.trace(), mat),
            ]:
                check(torch, fn, arg, grad=g, rtol=tol, label=f"{name} {dt}{shp} {off}")


@pytest.mark.parametrize("dt", ["float64", "float32"])
@pytest.mark.parametrize("shp", [(2, 2), (3, 2, 2)])
def test_singular_and_rank_deficient(dt, shp):
    rng = np.random.default_rng(5)
    ones = np.ones(shp, dt)
    rhs = rng.standard_normal(shp[:-1] + (1,)).astype(dt)
    for name, fn, arg in [
        ("inv", lambda L, t: L.linalg.inv(t), ones),
        ("inv_ex info", lambda L, t: L.linalg.inv_ex(t).info, ones),
        ("solve_ex info", lambda L, t: L.linalg.solve_ex(t, t[..., :1]).info, ones),
        ("cholesky_ex info", lambda L, t: L.linalg.cholesky_ex(t).info, -ones),
        ("cholesky_ex check_errors", lambda L, t: L.linalg.cholesky_ex(t, check_errors=True),
         -ones),
        ("det", lambda L, t: L.linalg.det(t), ones),  # (its gradient: docs/pytorch.md)
        ("slogdet", lambda L, t: L.linalg.slogdet(t), ones),
        ("logdet", lambda L, t: L.logdet(t), ones),
        ("matrix_rank", lambda L, t: L.linalg.matrix_rank(t), ones),
        ("matrix_power -1", lambda L, t: L.linalg.matrix_power(t, -1), ones),
        ("pinv", lambda L, t: L.linalg.pinv(t), ones),
        ("pinv hermitian", lambda L, t: L.linalg.pinv(t + 0.01 * L.eye(2, dtype=t.dtype),
                                                      hermitian=True, rtol=0.1), ones),
    ]:
        check(torch, fn, arg, rtol=1e-9 if dt == "float64" else 1e-4, label=f"{name} {dt}")
    for drv in (None, "gelsy", "gelsd", "gelss"):
        check(torch, lambda L, t, u, d=drv: L.linalg.lstsq(t, u, driver=d), ones, rhs,
              rtol=1e-9 if dt == "float64" else 1e-4, label=f"lstsq {drv} rank-deficient {dt}")


def test_cond_of_singular_matrices_regression():
    """Before: cond with p other than 2/-2/None raised LinAlgError for a singular matrix (the
    inverse failed); PyTorch returns inf there and the usual value for the batch's others (its
    own backward fails for these p: ours is that of the invertible ones, 0 at the singular)."""
    import chainrule as cr
    s = np.ones((2, 3, 3))
    s[1] = np.eye(3) + np.diag([1.0, 2.0, 3.0]) + 0.1
    for p in (1, -1, INF, -INF, "fro"):
        check(torch, lambda L, t, p=p: L.linalg.cond(t, p), s, grad=(0,), label=f"cond {p}")
    for p in (1, -1, INF, -INF, "fro", "nuc"):
        a = cr.tensor(s, requires_grad=True)
        out = cr.linalg.cond(a, p)
        if p == "nuc":  # sum(s) sum(1 / s), as PyTorch's: huge, not inf (tests/test_fuzz25_linalg)
            nuc = torch.linalg.cond(torch.tensor(s[0]), p).item()
            assert out[0].item() == pytest.approx(nuc, rel=1e-6) and nuc > 1e40
        else:
            assert np.isinf(out[0].item())
        out[1].backward()
        b = cr.tensor(s[1], requires_grad=True)
        cr.linalg.cond(b, p).backward()
        np.testing.assert_allclose(a.grad.numpy()[1], b.grad.numpy(), rtol=1e-12)
        assert not a.grad.numpy()[0].any()
        t = torch.tensor(s[1])
        assert out[1].item() == pytest.approx(torch.linalg.cond(t, p).item(), rel=1e-12)


def test_older_tolerance_arguments_and_lowercase_uplo_regression():
    """Before: matrix_rank(A, tol) / tol=, pinv(A, rcond) / rcond= (PyTorch's older overloads,
    tol absolute, rcond relative) and a lowercase UPLO were refused; tensordot(dims=-1)
    computed where PyTorch raises."""
    import chainrule as cr
    rng = np.random.default_rng(6)
    a = rng.standard_normal((3, 4, 4))
    s = a @ a.swapaxes(-1, -2)
    tols = np.array([0.1, 1.0, 3.0])
    for name, fn, args in [
        ("rank tol", lambda L, t: L.linalg.matrix_rank(t, 1.0), (a,)),
        ("rank tol=", lambda L, t, u: L.linalg.matrix_rank(t, tol=u), (a, tols)),
        ("rank tol hermitian", lambda L, t: L.linalg.matrix_rank(t, 0.5, True), (s,)),
        ("pinv rcond", lambda L, t: L.linalg.pinv(t, 0.3), (a,)),
        ("pinv rcond=", lambda L, t: L.linalg.pinv(t, rcond=0.3, hermitian=True), (s,)),
        ("pinv rcond tensor", lambda L, t, u: L.linalg.pinv(t, u), (a, tols / 10)),
        ("eigvalsh u", lambda L, t: L.linalg.eigvalsh(t, UPLO="u"), (a,)),
        ("eigh l", lambda L, t: L.linalg.eigh(t, UPLO="l")[0], (a,)),
        ("tensordot -1", lambda L, t: L.tensordot(t, t, dims=-1), (a,)),
    ]:
        check(torch, fn, *args, grad=(0,), rtol=1e-9, label=name)
    with pytest.raises(TypeError, match="rcond"):
        cr.linalg.pinv(cr.tensor(a), rcond=0.1, rtol=0.1)
    with pytest.raises(TypeError, match="tol"):
        cr.linalg.matrix_rank(cr.tensor(a), tol=0.1, atol=0.1)
    with pytest.raises(ValueError, match="UPLO must be 'L' or 'U'.*'X'"):
        cr.linalg.eigh(cr.tensor(s), UPLO="X")


def test_norms_of_integers_refused_regression():
    """Before: the vector and matrix norms and vecdot of integer or bool tensors computed (some
    an int64 result); PyTorch refuses them, a dtype= too. cross and multi_dot of integers stay
    computed, as PyTorch's."""
    import chainrule as cr
    x = np.arange(6).reshape(2, 3)
    for name, fn, arg in [
        ("vector_norm", lambda L, t: L.linalg.vector_norm(t), x),
        ("vector_norm dtype", lambda L, t: L.linalg.vector_norm(t, dtype=L.float64), x),
        ("vector_norm bool", lambda L, t: L.linalg.vector_norm(t), x > 2),
        ("linalg.norm", lambda L, t: L.linalg.norm(t), x),
        ("matrix_norm", lambda L, t: L.linalg.matrix_norm(t), x),
        ("matrix_norm 1", lambda L, t: L.linalg.matrix_norm(t, 1), x),
        ("vecdot", lambda L, t: L.linalg.vecdot(t, t), x),
        ("norm", lambda L, t: L.norm(t, 1), x),
        ("Tensor.norm", lambda L, t: t.norm(), x),
        ("dist", lambda L, t: L.dist(t, t), x),
        ("renorm", lambda L, t: L.renorm(t, 2, 0, 1.0), x),
        ("cross", lambda L, t: L.linalg.cross(t, t), x),
        ("multi_dot", lambda L, t: L.linalg.multi_dot([t, t.mT]), x),
    ]:
        check(torch, fn, arg, label=name)
    with pytest.raises(TypeError, match="vector_norm|norm: expected a floating point or "
                                        "complex tensor, got int64"):
        cr.linalg.vector_norm(cr.tensor(x))


def test_mixed_dtypes_are_promoted():
    """PyTorch refuses a float64 A with a float32 (or int64) B in these; chainrule computes in
    the promoted dtype (docs/pytorch.md, "computed here where PyTorch raises"). Pinned so that
    a change of either side is seen."""
    import chainrule as cr
    a = np.eye(3) * 2 + 0.1
    b = np.ones((3, 2), np.float32)
    for name, fn in [("solve", lambda L, x, y: L.linalg.solve(x, y)),
                     ("solve_ex", lambda L, x, y: L.linalg.solve_ex(x, y)[0]),
                     ("cholesky_solve", lambda L, x, y: L.cholesky_solve(y, x))]:
        with pytest.raises(RuntimeError):
            fn(torch, torch.tensor(a), torch.tensor(b))
        assert fn(cr, cr.tensor(a), cr.tensor(b)).dtype == cr.float64, name
    # refused as PyTorch since fuzz wave 17 (tests/test_fuzz17_strict.py)
    for _name, fn in [("vecdot", lambda L, x, y: L.linalg.vecdot(x[:, :2], y)),
                     ("cross", lambda L, x, y: L.linalg.cross(x, x.to(y.dtype))),
                     ("inner", lambda L, x, y: L.inner(x, y.mT))]:
        for lib in (torch, cr):
            with pytest.raises(RuntimeError):
                fn(lib, lib.tensor(a), lib.tensor(b))


def test_eigh_eigenvector_gradient_is_symmetric_regression():
    """Before: the gradient through eigh's eigenvectors was V (F o V^H G_V) V^H, not symmetric;
    PyTorch keeps V^H G_V's skew-Hermitian part only (V^H dV is skew), so its gradient is
    symmetric (Hermitian). The two agreed on symmetric directions only."""
    rng = np.random.default_rng(8)
    a = rng.standard_normal((2, 3, 3))
    c = a + 1j * rng.standard_normal((2, 3, 3))
    for uplo in ("L", "U"):
        for x in (a, a + a.swapaxes(-1, -2)):
            check(torch, lambda L, t, u=uplo: (lambda w, v: v ** 2)(*L.linalg.eigh(t, u)), x,
                  grad=(0,), rtol=1e-9, label=f"eigh {uplo}")
            check(torch, lambda L, t, u=uplo: (lambda w, v: v[..., 0] * v[..., 1] * w)(
                *L.linalg.eigh(t, u)), x, grad=(0,), rtol=1e-9, label=f"eigh {uplo} mixed")
        check(torch, lambda L, t, u=uplo: (lambda w, v: v.abs() ** 2)(*L.linalg.eigh(t, u)),
              c + c.conj().swapaxes(-1, -2), grad=(0,), rtol=1e-9, label=f"eigh complex {uplo}")
