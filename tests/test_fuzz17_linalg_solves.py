"""Fuzz wave 17: the triangular and factored solves against PyTorch, real and complex, with
broadcast and empty batch dims and gradients: lu_solve (left, adjoint), solve_triangular (left,
upper, unitriangular), the older triangular_solve (upper, transpose, unitriangular),
cholesky_solve and cholesky_inverse (upper), lu_unpack, solve_ex, inv_ex. (ldl_solve with
broadcast batches is left out: PyTorch's gives NaN there, or crashes the process.)"""

import itertools
import warnings

import numpy as np
import pytest

from ._fuzz12_check import check
from ._fuzz17_linalg import crandn, real_view, well_conditioned

torch = pytest.importorskip("torch")

BATCHES = [((), ()), ((2,), ()), ((), (2,)), ((2, 1), (3,)), ((1,), (0,)), ((0,), ()),
           ((2,), (2,))]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _check(fn, *arrays, **kw):
    check(torch, lambda L, *ts: real_view(L, fn(L, *ts)), *arrays, rtol=1e-9, **kw)


@pytest.mark.parametrize("dt", ["float64", "complex128"])
@pytest.mark.parametrize("ba,bb", BATCHES)
def test_solves(dt, ba, bb):
    rng = np.random.default_rng(len(ba) * 3 + len(bb))
    a = well_conditioned(rng, ba + (3, 3), dt)
    b = crandn(rng, bb + (3, 2), dt) if dt.startswith("c") else rng.standard_normal(bb + (3, 2))
    bt = np.swapaxes(b, -1, -2).copy()
    lab = f"{dt}{ba}{bb}"
    for left, adj in itertools.product((True, False), (True, False)):
        _check(lambda L, t, u: L.linalg.lu_solve(*L.linalg.lu_factor(t), u, left=left,
                                                 adjoint=adj), a, b if left else bt,
               grad=(0, 1), label=f"lu_solve {lab} left={left} adjoint={adj}")
    for left, up, unit in itertools.product((True, False), repeat=3):
        _check(lambda L, t, u: L.linalg.solve_triangular(t, u, upper=up, left=left,
                                                         unitriangular=unit),
               a, b if left else bt, grad=(0, 1),
               label=f"solve_triangular {lab} left={left} upper={up} unit={unit}")
        tr = left  # (transpose, in the older triangular_solve)
        _check(lambda L, t, u: L.triangular_solve(u, t, upper=up, transpose=tr,
                                                  unitriangular=unit), a, b, grad=(0, 1),
               label=f"triangular_solve {lab} upper={up} transpose={tr} unit={unit}")
    for up in (True, False):
        _check(lambda L, t, u: L.cholesky_solve(u, L.linalg.cholesky(t @ t.mH, upper=up),
                                                upper=up), a, b, grad=(0, 1),
               label=f"cholesky_solve {lab} upper={up}")
        _check(lambda L, t: L.cholesky_inverse(L.linalg.cholesky(t @ t.mH, upper=up),
                                               upper=up), a, grad=(0,),
               label=f"cholesky_inverse {lab} upper={up}")
    _check(lambda L, t: L.lu_unpack(*L.linalg.lu_factor(t)), a, grad=(0,), label=f"lu_unpack {lab}")
    _check(lambda L, t, u: L.linalg.solve_ex(t, u), a, b, grad=(0, 1), label=f"solve_ex {lab}")
    _check(lambda L, t: L.linalg.inv_ex(t), a, grad=(0,), label=f"inv_ex {lab}")


def test_triangular_solve_coefficient_has_the_broadcast_batch_regression():
    """Before: triangular_solve's second output (the copy of A) kept A's own batch shape when
    b's batch broadcast it; PyTorch's has the solution's batch: (2, 3, 3, 3) from an A of
    (2, 1, 3, 3) and a b of (3, 3, 2)."""
    rng = np.random.default_rng(4)
    a = np.triu(rng.standard_normal((2, 1, 3, 3))) + 3 * np.eye(3)
    for shape in [(3, 3, 2), (3, 2), (2, 3, 3, 2), (0, 3, 2)]:
        out = check(torch, lambda L, t, u: L.triangular_solve(u, t), a,
                    rng.standard_normal(shape), grad=(0, 1), label=f"{shape}")
        assert out.cloned_coefficient.shape[:-2] == out.solution.shape[:-2]


@pytest.mark.parametrize("dt", ["float64", "complex128"])
def test_lu_gradient_of_wide_and_tall_matrices_regression(dt):
    """Before: the gradient of lu_factor / lu_factor_ex / lu of a non-square matrix raised
    'the gradient is implemented for square matrices'; PyTorch differentiates wide and tall LU.
    Now through L^-H [Phi U1^-H, G_U2] (wide) and [L1^-H Psi; G_L2] U^-H (tall)."""
    import chainrule as cr
    from chainrule.autograd.gradcheck import gradcheck, gradgradcheck

    rng = np.random.default_rng(5)
    for shape in [(3, 5), (5, 3), (2, 3, 4), (2, 4, 3), (1, 3), (3, 1), (0, 2, 3)]:
        x = crandn(rng, shape) if dt[0] == "c" else rng.standard_normal(shape)
        for name, fn in [("lu_factor", lambda L, t: L.linalg.lu_factor(t).LU),
                         ("lu_factor_ex", lambda L, t: L.linalg.lu_factor_ex(t).LU * 2),
                         ("lu", lambda L, t: L.linalg.lu(t)[1:]),
                         ("lu L", lambda L, t: L.linalg.lu(t).L),
                         ("lu U", lambda L, t: L.linalg.lu(t).U)]:
            _check(fn, x, grad=(0,), label=f"{name} {shape} {dt}")
    x = crandn(rng, (2, 3)) if dt[0] == "c" else rng.standard_normal((2, 3))
    for a in (cr.tensor(x, requires_grad=True), cr.tensor(x.T.copy(), requires_grad=True)):
        assert gradcheck(lambda m: real_view(cr, cr.linalg.lu_factor(m).LU), (a,))
        assert gradgradcheck(lambda m: real_view(cr, cr.linalg.lu_factor(m).LU), (a,))
