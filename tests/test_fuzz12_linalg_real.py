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
