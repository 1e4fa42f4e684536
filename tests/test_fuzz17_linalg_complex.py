"""Fuzz wave 17: chainrule's linear algebra of complex matrices (complex128 with gradients,
complex64) against PyTorch: batched, 0-size and empty-batch square matrices through the
inverses, determinants, the Cholesky, eigen, LU and QR/SVD families, matrix functions and every
norm; rectangular (tall/wide) matrices through svd, qr, pinv, lstsq, matrix_rank and vander;
the solves. The real square cases are tests/test_fuzz12_linalg_real.py's. Complex outputs are
compared as (real, imag) pairs, so a gradient loss weighs both parts; eigen and singular vectors
only through losses that do not depend on their phases, as PyTorch documents."""

import warnings

import numpy as np
import pytest

from ._fuzz12_check import check
from ._fuzz17_linalg import COMPLEX, crandn, grad_tol, hermitian_pd, real_view, well_conditioned

torch = pytest.importorskip("torch")

INF = float("inf")
ORDS = ("fro", "nuc", 1, -1, 2, -2, INF, -INF)
VORDS = (0, 1, 2, 3.5, INF, -INF, -1, -0.5)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _rebuilt_eig(L, w, v):
    return (v * w.unsqueeze(-2)) @ L.linalg.inv(v)


def _rebuilt_eigh(w, v):
    return (v * w.unsqueeze(-2).to(v.dtype)) @ v.mH


SQUARE = [
    ("inv", lambda L, t: L.linalg.inv(t), "a", True),
    ("inv_ex", lambda L, t: L.linalg.inv_ex(t), "a", True),
    ("det", lambda L, t: L.linalg.det(t), "a", True),
    ("slogdet", lambda L, t: L.linalg.slogdet(t), "a", True),
    ("logdet", lambda L, t: L.logdet(t), "a", True),
    ("eigvalsh L", lambda L, t: L.linalg.eigvalsh(t, "L"), "a", True),
    ("eigvalsh U", lambda L, t: L.linalg.eigvalsh(t, "U"), "a", True),
    ("eigh rebuilt L", lambda L, t: _rebuilt_eigh(*L.linalg.eigh(t)), "a", True),
    ("eigh rebuilt U", lambda L, t: _rebuilt_eigh(*L.linalg.eigh(t, UPLO="U")), "a", True),
    ("eigh |V|", lambda L, t: L.linalg.eigh(t)[1].abs(), "h", True),
    ("eig rebuilt", lambda L, t: _rebuilt_eig(L, *L.linalg.eig(t)), "a", True),
    ("eigvals |w| sorted", lambda L, t: L.linalg.eigvals(t).abs().sort(-1).values, "a", True),
    ("eig |w| sorted", lambda L, t: L.linalg.eig(t)[0].abs().sort(-1).values, "a", True),
    ("svdvals", lambda L, t: L.linalg.svdvals(t), "a", True),
    ("matrix_exp", lambda L, t: L.linalg.matrix_exp(t * 0.3), "a", True),
    ("matrix_rank", lambda L, t: L.linalg.matrix_rank(t), "a", False),
    ("matrix_rank hermitian", lambda L, t: L.linalg.matrix_rank(t, hermitian=True), "h", False),
    ("pinv hermitian", lambda L, t: L.linalg.pinv(t, hermitian=True), "h", True),
    ("pinv hermitian atol rtol", lambda L, t: L.linalg.pinv(t, hermitian=True, atol=2.0,
                                                            rtol=0.1), "h", True),
    ("lu_factor", lambda L, t: L.linalg.lu_factor(t), "a", False),
    ("lu_factor_ex", lambda L, t: L.linalg.lu_factor_ex(t), "a", False),
    ("lu", lambda L, t: L.linalg.lu(t), "a", False),
    ("lu_factor LU", lambda L, t: L.linalg.lu_factor(t).LU, "a", True),
    ("cond", lambda L, t: L.linalg.cond(t), "a", False),
] + [(f"matrix_power {p}", lambda L, t, p=p: L.linalg.matrix_power(t, p), "a", True)
     for p in (-3, -1, 0, 1, 2, 5)] + [
    (f"matrix_norm {o}", lambda L, t, o=o: L.linalg.matrix_norm(t, o), "a", True) for o in ORDS
] + [(f"norm {o} dim", lambda L, t, o=o: L.linalg.norm(t, o, dim=(-2, -1)), "a", True)
     for o in ORDS] + [(f"cond {o}", lambda L, t, o=o: L.linalg.cond(t, o), "a", False)
                       for o in ORDS] + [
    (f"vector_norm {o}", lambda L, t, o=o: L.linalg.vector_norm(t, o, dim=-1), "a", True)
    for o in VORDS]


@pytest.mark.parametrize("dt", COMPLEX)
@pytest.mark.parametrize("b", [(), (2,), (0,), (2, 0)])
@pytest.mark.parametrize("n", [0, 1, 3])
def test_square_complex(dt, b, n):
    rng = np.random.default_rng(n + 5 * len(b) + (dt == "complex64"))
    g, tol = grad_tol(dt)
    inputs = {"a": well_conditioned(rng, b + (n, n), dt), "h": hermitian_pd(rng, b + (n, n), dt)}
    for name, fn, which, differentiable in SQUARE:
        check(torch, lambda L, t, f=fn: real_view(L, f(L, t)), inputs[which],
              grad=g if differentiable else (), rtol=tol, label=f"{name} {dt}{b}n{n}")


@pytest.mark.parametrize("dt", COMPLEX)
@pytest.mark.parametrize("b", [(), (2,), (0,)])
@pytest.mark.parametrize("n", [0, 1, 3])
def test_cholesky_complex_gradient_is_the_hermitian_part_of_pytorchs(dt, b, n):
    """Values as PyTorch's. The gradient: PyTorch's has a complex diagonal (0.5 diag(L^H G_L)
    kept complex), so it is not Hermitian; LAPACK reads only the lower triangle and the real part
    of the diagonal, so a change of Im(A_ii) changes nothing, and chainrule's gradient, the
    Hermitian part of PyTorch's, is zero there. They agree on every Hermitian direction."""
    rng = np.random.default_rng(n + 3 * len(b))
    g, tol = grad_tol(dt)
    h = hermitian_pd(rng, b + (n, n), dt)
    for name, fn in [("cholesky", lambda L, t: L.linalg.cholesky(t)),
                     ("cholesky upper", lambda L, t: L.linalg.cholesky(t, upper=True)),
                     ("cholesky_ex", lambda L, t: L.linalg.cholesky_ex(t)),
                     ("cholesky_ex upper", lambda L, t: L.linalg.cholesky_ex(t, upper=True))]:
        label = f"{name} {dt}{b}n{n}"
        check(torch, lambda L, t, f=fn: real_view(L, f(L, t)), h, rtol=tol, label=label)
        if not g:
            continue
        w = crandn(rng, h.shape)
        grads = []
        for L in (torch, pytest.importorskip("chainrule")):
            t = L.tensor(h, requires_grad=True)
            (L.view_as_real(fn(L, t)[0] if "_ex" in name else fn(L, t))
             * L.view_as_real(L.tensor(w))).sum().backward()
            grads.append(t.grad.numpy())
        tg, cg = grads
        np.testing.assert_allclose(cg, (tg + np.conj(np.swapaxes(tg, -1, -2))) / 2, rtol=tol,
                                   atol=tol, err_msg=label)
        np.testing.assert_array_equal(cg, np.conj(np.swapaxes(cg, -1, -2)))


def test_lu_of_zero_size_matrices_regression():
    """Before: lu_factor, lu_factor_ex and lu of a matrix with a 0-size side (0x0, 0x3, 3x0,
    batched or not) and lu_solve with them raised 'cannot reshape array of size 0' (a reshape to
    (-1, m, n) has nothing to infer -1 from); PyTorch returns the empty factors."""
    for dt in ("float64", "complex128"):
        for shape in [(0, 0), (2, 0, 0), (0, 3), (3, 0), (0, 2, 2), (2, 0, 3)]:
            x = np.zeros(shape, dt)
            for name, fn in [("lu_factor_ex", lambda L, t: L.linalg.lu_factor_ex(t)),
                             ("lu", lambda L, t: L.linalg.lu(t)),
                             ("lu_factor", lambda L, t: L.linalg.lu_factor(t))]:
                check(torch, lambda L, t, f=fn: real_view(L, f(L, t)), x, label=f"{name}{shape}")
        a, b = np.zeros((2, 0, 0), dt), np.zeros((2, 0, 3), dt)
        check(torch, lambda L, t, u: real_view(L, L.linalg.lu_solve(*L.linalg.lu_factor(t), u)),
              a, b, grad=(0, 1), label="lu_solve 0x0")
