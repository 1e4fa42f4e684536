"""The LU decomposition with partial pivoting, A = P L U (PyTorch's ``linalg.lu_factor``,
``lu_factor_ex``, ``lu`` and ``lu_solve``), batched over leading axes.

NumPy has no LU routine, so the factorization is LAPACK getrf's algorithm written out: at step j
the row with the largest |entry| in column j (the first such) is swapped up, and the multipliers
below the pivot are stored in place of the zeros they make. The pivots are getrf's (1-based row
swaps, applied in order), so ``LU`` and ``pivots`` equal PyTorch's up to rounding.

The gradient of a square A = P L U, L unit lower- and U upper-triangular (packed in LU), is

    dA = P L^-T (tril(L^T G_L, -1) + triu(G_U U^T)) U^-T

written with triangular solves on LU, so that it differentiates again; a wide or tall A's is
``_rectangular_grad``'s (PyTorch differentiates those too). ``lu_solve`` is a
composition of the permutation and two triangular solves.
"""

from __future__ import annotations

from typing import NamedTuple

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import LinAlgError, get_array_module
from ._conj import cj
from .creation import tril, triu
from .join import concat
from .linalg import matmul
from .linalg_solve import solve_triangular
from .shape import transpose
from .svd import _matrices

__all__ = ["lu", "lu_factor", "lu_factor_ex", "lu_solve"]


class LUFactorResult(NamedTuple):
    LU: object  # noqa: N815 - PyTorch's field names
    pivots: object


class LUFactorExResult(NamedTuple):
    LU: object  # noqa: N815
    pivots: object
    info: object


class LUResult(NamedTuple):
    P: object  # noqa: N815
    L: object  # noqa: N815
    U: object  # noqa: N815


def _t(x):
    return transpose(x, -1, -2)


def _h(x):  # the conjugate transpose (the transpose of a real x)
    return cj(transpose(x, -1, -2))


def _getrf(a):
    """(LU, pivots, info) of the array ``a`` (*, m, n); info is the first zero pivot's step
    (1-based) or 0."""
    xp = get_array_module(a)
    batch, (m, n) = a.shape[:-2], a.shape[-2:]
    k = min(m, n)
    count = 1
    for d in batch:  # (not -1: a 0 x n matrix has no size to infer it from)
        count *= d
    lu = a.reshape((count, m, n)).copy()
    rows = xp.arange(lu.shape[0])
    pivots = xp.zeros((lu.shape[0], k), dtype=xp.int32)
    info = xp.zeros(lu.shape[0], dtype=xp.int32)
    for j in range(k):
        col = lu[:, j:, j]  # LAPACK's pivot: the largest |x| (|Re| + |Im| for complex x)
        size = xp.abs(col.real) + xp.abs(col.imag) if col.dtype.kind == "c" else xp.abs(col)
        p = j + xp.argmax(size, axis=1)
        pivots[:, j] = p + 1
        top = lu[rows, j].copy()
        lu[rows, j] = lu[rows, p]
        lu[rows, p] = top
        pivot = lu[:, j, j]
        zero = pivot == 0  # then the column below is 0 too: nothing to eliminate
        info = xp.where(zero & (info == 0), j + 1, info).astype(xp.int32)
        lu[:, j + 1:, j] = lu[:, j + 1:, j] / xp.where(zero, 1, pivot)[:, None]
        lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j, None] * lu[:, None, j, j + 1:]
    return lu.reshape(a.shape), pivots.reshape(batch + (k,)), info.reshape(batch)


def check_pivots(op, pivots, lu) -> None:
    """getrf's pivots for the packed ``lu`` (*, m, n): integers (*, min(m, n)) from 1 to m; a
    0 or a negative one would index from the end, silently permuting the wrong rows."""
    m, n = lu.shape[-2:]
    if not isinstance(pivots, Tensor) or pivots._data.dtype.kind not in "iu":
        raise TypeError(f"{op}: pivots must be an integer Tensor (lu_factor's), got "
                        f"{getattr(pivots, 'dtype', type(pivots).__name__)}")
    if pivots.shape != lu.shape[:-2] + (min(m, n),):
        raise ValueError(f"{op}: expected pivots of shape {lu.shape[:-2] + (min(m, n),)} for LU "
                         f"of shape {lu.shape}, got {pivots.shape}")
    data = pivots._data
    if data.size and bool(((data < 1) | (data > m)).any()):
        raise ValueError(f"{op}: pivots must be between 1 and {m} (LU.shape[-2]), got values "
                         f"from {int(data.min())} to {int(data.max())}; pass lu_factor's pivots")


def _permutation(pivots, m, dtype):
    """P (*, m, m) with A = P L U from getrf's pivots (row j was swapped with row pivots[j])."""
    xp = get_array_module(pivots)
    count = 1
    for d in pivots.shape[:-1]:
        count *= d
    flat = pivots.reshape((count, pivots.shape[-1])) - 1
    perm = xp.broadcast_to(xp.arange(m), (flat.shape[0], m)).copy()
    rows = xp.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        p = flat[:, j]
        top = perm[rows, j].copy()
        perm[rows, j] = perm[rows, p]
        perm[rows, p] = top
    eye = xp.eye(m, dtype=dtype)
    return xp.swapaxes(eye[perm], -1, -2).reshape(pivots.shape[:-1] + (m, m))


def _rectangular_grad(lu, g_lu):
    """P^T times the gradient of a wide or tall A = P L U from the packed LU's. With k = min(m, n),
    L (m, k) unit lower- and U (k, n) upper-triangular, and <X, Y> = Re tr(X^H Y):
    wide (L square, U = [U1 U2]): with Phi = tril(L^H G_L - G_U2 U2^H, -1) + triu(G_U1 U1^H),
        P^T G_A = L^-H [Phi U1^-H, G_U2];
    tall (L = [L1; L2], U square): with Psi = tril(L1^H G_L1, -1) + triu(G_U U^H - L2^H G_L2),
        P^T G_A = [L1^-H Psi; G_L2] U^-H;
    (from dA = P (dL U + L dU), L^-1 dL strictly lower and dU U^-1 upper)."""
    m, n = lu.shape[-2:]
    k = min(m, n)
    xp = get_array_module(lu._data)
    g_low, g_up = tril(g_lu, -1)[..., :k], triu(g_lu)[..., :k, :]
    low = tril(lu, -1)[..., :k] + Tensor(xp.eye(m, k, dtype=lu._data.dtype))
    up = triu(lu)[..., :k, :]
    if m < n:
        u1, u2, g_u2 = up[..., :k], up[..., k:], g_up[..., k:]
        phi = tril(matmul(_h(low), g_low) - matmul(g_u2, _h(u2)), -1) + \
            triu(matmul(g_up[..., :k], _h(u1)))
        wide = concat([solve_triangular(_h(u1), phi, upper=False, left=False), g_u2], -1)
        return solve_triangular(_h(low), wide, upper=True, unitriangular=True)
    l1, l2, g_l2 = low[..., :k, :], low[..., k:, :], g_low[..., k:, :]
    psi = tril(matmul(_h(l1), g_low[..., :k, :]), -1) + \
        triu(matmul(g_up, _h(up)) - matmul(_h(l2), g_l2))
    tall = concat([solve_triangular(_h(l1), psi, upper=True, unitriangular=True), g_l2], -2)
    return solve_triangular(_h(up), tall, upper=False, left=False)


class LUFactor(Function):
    """(LU, pivots, info); only LU carries a gradient (conjugate transposes for complex A)."""

    complex_grad = True

    def forward(self, a):
        lu, self.pivots, info = _getrf(a)
        return lu, self.pivots, info

    def backward(self, g_lu, g_pivots, g_info):
        lu = self.output
        m, n = lu.shape[-2:]
        xp = get_array_module(lu._data)
        p = Tensor(_permutation(self.pivots, m, lu._data.dtype))
        if m != n:
            return matmul(p, _rectangular_grad(lu, g_lu))
        low = tril(lu, -1) + Tensor(xp.eye(n, dtype=lu._data.dtype))
        phi = tril(matmul(_h(low), tril(g_lu, -1)), -1) + triu(matmul(triu(g_lu), _h(triu(lu))))
        y = solve_triangular(_h(lu), phi, upper=True, unitriangular=True)  # L^-H phi
        return matmul(p, solve_triangular(_h(lu), y, upper=False, left=False))  # ... U^-H


def lu_factor_ex(A, *, pivot: bool = True, check_errors: bool = False):  # noqa: N803
    """(LU, pivots, info) of each matrix of ``A`` (*, m, n): L (unit diagonal, not stored) below
    the diagonal of LU and U on and above it, pivots (int32, 1-based) getrf's row swaps, info
    the first zero pivot's step (1-based; 0 for none). Differentiable in A for square A."""
    _matrices("lu_factor_ex", A, complex_ok=True)
    if not pivot:
        raise ValueError("lu_factor: LU without pivoting is not implemented (as on PyTorch's CPU)")
    lu, pivots, info = LUFactor.apply(A)
    if check_errors and bool((info._data != 0).any()):
        raise LinAlgError(f"lu_factor_ex: a zero pivot at step {int(info._data.max())}: the "
                          "matrix is singular")
    return LUFactorExResult(lu, pivots, info)


def lu_factor(A, *, pivot: bool = True):  # noqa: N803
    """(LU, pivots) as ``lu_factor_ex``; a singular matrix (a zero pivot) raises LinAlgError (a
    RuntimeError, as PyTorch's, and a ValueError; ``lu`` and ``lu_factor_ex`` factorize it)."""
    lu, pivots, info = lu_factor_ex(A, pivot=pivot)
    if bool((info._data != 0).any()):
        raise LinAlgError(f"lu_factor: U[{int(info._data.max()) - 1}, "
                          f"{int(info._data.max()) - 1}] is zero, the matrix is singular; "
                          "lu_solve would divide by it (use lu or lu_factor_ex to factorize "
                          "anyway)")
    return LUFactorResult(lu, pivots)


def lu(A, *, pivot: bool = True):  # noqa: N803
    """(P, L, U) with A = P L U: P a permutation, L (*, m, k) unit lower-triangular, U (*, k, n)
    upper-triangular, k = min(m, n)."""
    packed, pivots, _ = lu_factor_ex(A, pivot=pivot)
    xp = get_array_module(packed._data)
    m, n = A.shape[-2:]
    k = min(m, n)
    dtype = packed._data.dtype
    low = tril(packed, -1)[..., :k] + Tensor(xp.eye(m, k, dtype=dtype))
    return LUResult(Tensor(_permutation(pivots._data, m, dtype)), low, triu(packed)[..., :k, :])


def lu_solve(LU, pivots, B, *, left: bool = True, adjoint: bool = False):  # noqa: N803
    """X with A X = B (A^H X = B for ``adjoint``; X A = B, X A^H = B for ``left=False``) from
    ``lu_factor``'s (LU, pivots) of square A. Differentiable in LU and B."""
    _matrices("lu_solve", LU, complex_ok=True)
    if not isinstance(B, Tensor) or B.ndim < 2:
        raise ValueError(f"lu_solve: B must be matrices (*, n, k), got {B!r}")
    n = LU.shape[-1]
    if LU.shape[-2] != n or not isinstance(pivots, Tensor) or pivots.shape != LU.shape[:-1]:
        raise ValueError(f"lu_solve: expected LU (*, n, n) and pivots (*, n), got shapes "
                         f"{LU.shape} and {getattr(pivots, 'shape', pivots)}")
    check_pivots("lu_solve", pivots, LU)
    if not left:  # X A = B: A^H X^H = B^H
        return _h(lu_solve(LU, pivots, _h(B), adjoint=not adjoint))
    p = Tensor(_permutation(pivots._data, n, LU._data.dtype))
    if adjoint:  # A^H = U^H L^H P^T
        y = solve_triangular(_h(LU), B, upper=False)
        return matmul(p, solve_triangular(_h(LU), y, upper=True, unitriangular=True))
    y = solve_triangular(LU, matmul(_t(p), B), upper=False, unitriangular=True)
    return solve_triangular(LU, y, upper=True)
