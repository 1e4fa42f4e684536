"""Triangular and Cholesky solves, the ``_ex`` variants that report failures in an ``info``
Tensor, and the matrix exponential (``torch.linalg`` and PyTorch's older top-level names).

The solves are compositions of recorded ops (a triangle mask, then ``solve``'s op, by substitution
where a pivot is 0 or an entry not finite, as LAPACK's trsm): only the triangle they read gets a
gradient. The matrix exponential is one op, computed by scaling and squaring
with the [13/13] Pade approximant (Higham 2005); its gradient is the Frechet derivative at A^T
in the direction G, the upper-right block of exp([[A^T, G], [0, A^T]]) (Najfeld and Havel 1995),
written with ``matrix_exp`` itself so that it differentiates again.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module, numpy, quiet
from .creation import tril, triu
from .decomp import Solve, _h, _square, cholesky, inv, solve
from .elementwise import fill_where
from .join import concat
from .methods import clone
from .shape import broadcast_to, transpose

__all__ = ["cholesky_ex", "cholesky_inverse", "cholesky_solve", "inv_ex", "matrix_exp",
           "solve_ex", "solve_triangular", "triangular_solve"]


class TriangularSolveResult(NamedTuple):
    """``torch.triangular_solve``'s result."""

    solution: object
    cloned_coefficient: object


class InvExResult(NamedTuple):
    """``linalg.inv_ex``'s result: info is 0 where a matrix was inverted."""

    inverse: object
    info: object


class SolveExResult(NamedTuple):
    """``linalg.solve_ex``'s result: info is 0 where a system was solved."""

    result: object
    info: object


class CholeskyExResult(NamedTuple):
    """``linalg.cholesky_ex``'s result: info is 0 where a matrix was factorized."""

    L: object  # noqa: N815 - PyTorch's field name
    info: object


def _t(x):
    return transpose(x, -1, -2)


def _common_batch(op, a, b, b_name):
    """``a`` (*, n, n) and ``b`` (*, p, q) broadcast to one batch shape."""
    if not isinstance(b, Tensor):
        raise TypeError(f"{op}: {b_name} must be a Tensor, got {type(b).__name__}")
    if b.ndim < 2:
        raise ValueError(f"{op}: {b_name} must be matrices (*, n, k), got shape {b.shape}")
    try:  # shapes only: NumPy's broadcasting rule serves every device
        batch = numpy.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"{op}: the batch shapes of A {a.shape} and {b_name} {b.shape} do not "
                         "broadcast") from None
    return broadcast_to(a, batch + a.shape[-2:]), broadcast_to(b, batch + b.shape[-2:])


def _substitute(a, b, upper):
    """X with A X = B for triangular matrices A, row by row as LAPACK's trsm: a zero pivot gives
    inf or NaN (no error; NaN for a complex one, C++'s complex division, as PyTorch's), a NaN or
    inf reaches only the rows that read it."""
    xp = get_array_module(a, b)
    n = a.shape[-1]
    x = xp.zeros(b.shape, dtype=xp.result_type(a, b))
    with quiet(xp):
        for i in range(n - 1, -1, -1) if upper else range(n):
            done = slice(i + 1, n) if upper else slice(0, i)
            pivot = a[..., i, i:i + 1]
            row = (b[..., i, :] - (a[..., i:i + 1, done] @ x[..., done, :])[..., 0, :]) / pivot
            x[..., i, :] = xp.where(pivot == 0, xp.nan, row) if x.dtype.kind == "c" else row
    return x


class _TriangularSolve(Solve):
    """``Solve`` of a triangular A (its gradient is Solve's): LU, or, where a pivot is 0 or an
    entry not finite, where LU would fail or spread the NaN further, substitution (PyTorch's)."""

    def forward(self, a, b):
        xp = get_array_module(a, b)
        if (xp.diagonal(a, 0, -2, -1) == 0).any() or not xp.isfinite(a).all():
            return _substitute(a, b, self.upper)
        return super().forward(a, b)


def solve_triangular(input, B, *, upper: bool, left: bool = True,  # noqa: A002,N803 - PyTorch's
                     unitriangular: bool = False):
    """X with A X = B (``left``) or X A = B, reading only the upper or lower triangle of A
    (``input``) and taking its diagonal as ones for ``unitriangular``; batches broadcast.

    Shape: A (*, n, n); B (*, n, k) for ``left``, (*, k, n) otherwise.
    """
    _square("solve_triangular", input, complex_ok=True)
    a, b = _common_batch("solve_triangular", input, B, "B")
    n = input.shape[-1]
    if b.shape[-2 if left else -1] != n:
        raise ValueError(f"solve_triangular: B of shape {B.shape} does not fit A of shape "
                         f"{input.shape} (left={left})")
    tri = triu(a) if upper else tril(a)
    if unitriangular:
        xp = get_array_module(a._data)
        tri = fill_where(xp.broadcast_to(xp.eye(n, dtype=bool), tri.shape), 1, tri)
    if left:
        return _TriangularSolve.apply(tri, b, upper=upper)
    return _t(_TriangularSolve.apply(_t(tri), _t(b), upper=not upper))


def triangular_solve(input, A, upper: bool = True, transpose: bool = False,  # noqa: A002,N803
                     unitriangular: bool = False):
    """PyTorch's older ``torch.triangular_solve``: X with A X = b (``input``), A^T X = b for
    ``transpose``, and a copy of A (broadcast to the solution's batch)."""
    _square("triangular_solve", A, complex_ok=True)
    coefficient = _t(A) if transpose else A
    x = solve_triangular(coefficient, input, upper=upper != bool(transpose),
                         unitriangular=unitriangular)
    # the copy of A has the solution's (broadcast) batch, as PyTorch's
    return TriangularSolveResult(x, clone(broadcast_to(A, x.shape[:-2] + A.shape[-2:])))


def cholesky_solve(input, input2, upper: bool = False):  # noqa: A002 - PyTorch's names
    """X with (L L^H) X = B, B = ``input``, for a lower-triangular Cholesky factor L = ``input2``
    (U^H U with an upper one for ``upper``; L^H = L^T for a real L); only that triangle of the
    factor is read.

    Shape: B (*, n, k), L (*, n, n), batches broadcast.
    """
    _square("cholesky_solve", input2, complex_ok=True)
    if upper:
        y = solve_triangular(_h(input2), input, upper=False)
        return solve_triangular(input2, y, upper=True)
    y = solve_triangular(input2, input, upper=False)
    return solve_triangular(_h(input2), y, upper=True)


def cholesky_inverse(input, upper: bool = False):  # noqa: A002 - PyTorch's name
    """(L L^H)^-1 (or (U^H U)^-1 for ``upper``) from a Cholesky factor of shape (*, n, n)."""
    _square("cholesky_inverse", input, complex_ok=True)
    xp = get_array_module(input._data)
    eye = Tensor(xp.eye(input.shape[-1], dtype=input._data.dtype))
    return cholesky_solve(eye, input, upper)


def _lu_info(m):
    """LAPACK getrf's info for one matrix: the 1-based step of partial-pivoted elimination whose
    pivot is exactly 0 (0 if none)."""
    xp = get_array_module(m)
    u = m.copy()
    n = u.shape[-1]
    info = 0
    for k in range(n):
        p = k + int(xp.argmax(xp.abs(u[k:, k])))
        if u[p, k] == 0:
            info = info or k + 1
            continue
        u[[k, p]] = u[[p, k]]
        u[k + 1:, k:] -= xp.outer(u[k + 1:, k] / u[k, k], u[k, k:])
    return info


def _cholesky_info(m):
    """LAPACK potrf's info for one matrix: the order of the first leading minor that is not
    positive-definite (0 if none); the minors' definiteness fails from one order on."""
    xp = get_array_module(m)
    lo, hi = 1, m.shape[-1] + 1  # n + 1: the whole matrix is positive-definite
    while lo < hi:
        mid = (lo + hi) // 2
        try:  # a leading minor of order mid (a NaN pivot fails, as LAPACK's)
            failed = xp.isnan(xp.linalg.cholesky(m[:mid, :mid])[mid - 1, mid - 1])
        except xp.linalg.LinAlgError:
            failed = True
        lo, hi = (lo, mid) if failed else (mid + 1, hi)
    return lo if lo <= m.shape[-1] else 0


def _ex(op, a, check_errors, factor, info_of, complex_ok=False):
    """``factor`` of each matrix, with NaN and a nonzero info for those it fails on."""
    _square(op, a, complex_ok)
    xp = get_array_module(a._data)
    batch = a.shape[:-2]
    try:
        return factor(a), Tensor(xp.zeros(batch, dtype=xp.int32))
    except (ValueError, xp.linalg.LinAlgError):
        if check_errors:
            raise
    flat = a._data.reshape((-1,) + a.shape[-2:])
    info = xp.asarray([info_of(m) for m in flat], dtype=xp.int32).reshape(batch)
    failed = xp.broadcast_to((info != 0)[..., None, None], a.shape)
    eye = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a._data.dtype), a.shape)
    out = factor(fill_where(failed, 0, a) + Tensor(xp.where(failed, eye, 0)))
    failed = (info != 0).reshape(batch + (1,) * (out.ndim - len(batch)))
    return fill_where(xp.broadcast_to(failed, out.shape), math.nan, out), Tensor(info)


def inv_ex(A, *, check_errors: bool = False):  # noqa: N803
    """``inv`` that reports singular matrices instead of raising: (inverse, info), info (int32)
    the LAPACK getrf code (the pivot found to be 0) and the inverse NaN where info != 0.
    ``check_errors=True`` raises as ``inv`` does."""
    return InvExResult(*_ex("inv_ex", A, check_errors, inv, _lu_info, True))


def solve_ex(A, B, *, left: bool = True, check_errors: bool = False):  # noqa: N803
    """``solve`` (X with A X = B, or X A = B for ``left=False``) that reports singular matrices
    instead of raising: (result, info), info (int32) as ``inv_ex``'s, the result NaN there."""
    if not left:
        x, info = solve_ex(transpose(A, -1, -2), transpose(B, -1, -2), check_errors=check_errors)
        return SolveExResult(transpose(x, -1, -2), info)
    _square("solve_ex", A, complex_ok=True)
    if not isinstance(B, Tensor):
        raise TypeError(f"solve_ex: B must be a Tensor, got {type(B).__name__}")
    # PyTorch's rule: B is a (batch of) vector(s) if 1-D or shaped A.shape[:-1]. The batches are
    # broadcast to one shape, so that a failed matrix's NaN covers only its own solution.
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    a, b = _common_batch("solve_ex", A, B.reshape(B.shape + (1,)) if vector else B, "B")
    x, info = _ex("solve_ex", a, check_errors, lambda m: solve(m, b), _lu_info, True)
    if info.shape != A.shape[:-2]:  # PyTorch's info covers A's own batch, not the broadcast one
        xp = get_array_module(A._data)
        flat = A._data.reshape((-1,) + A.shape[-2:])
        info = Tensor(xp.asarray([_lu_info(m) for m in flat], dtype=xp.int32)
                      .reshape(A.shape[:-2]))
    return SolveExResult(x.reshape(x.shape[:-1]) if vector else x, info)


def cholesky_ex(input, *, upper: bool = False, check_errors: bool = False):  # noqa: A002
    """``cholesky`` that reports failures instead of raising: (L, info), info (int32) the order
    of the first leading minor that is not positive-definite (LAPACK potrf's), L NaN there."""
    a = _h(input) if upper and isinstance(input, Tensor) and input.ndim >= 2 else input
    low, info = _ex("cholesky_ex", a, check_errors, cholesky, _cholesky_info, True)
    return CholeskyExResult(_h(low) if upper else low, info)


_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
           129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
           40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA13 = 5.371920351148152  # the largest 1-norm the [13/13] approximant serves in float64


def _expm(a):
    """exp of each matrix of the array ``a`` by scaling and squaring."""
    xp = get_array_module(a)
    if a.dtype == xp.float16:  # LAPACK has no half precision: float32, rounded back
        return _expm(a.astype(xp.float32)).astype(xp.float16)
    n = a.shape[-1]
    norm1 = xp.abs(a).sum(-2).max(-1) if n else xp.zeros(a.shape[:-2])
    # In float64: a float32 norm of 0 would stay 0 under the 1e-300 floor (log2(0) warns).
    norm1 = xp.maximum(norm1.astype(xp.float64), 1e-300)
    squarings = xp.maximum(0, xp.ceil(xp.log2(norm1 / _THETA13))).astype(int)
    a = a / (2.0 ** squarings)[..., None, None].astype(a.dtype)
    b = _PADE13
    eye = xp.eye(n, dtype=a.dtype)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2
             + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    e = xp.linalg.solve(v - u, v + u)
    for step in range(int(squarings.max()) if squarings.size else 0):
        e = xp.where((squarings > step)[..., None, None], e @ e, e)
    return e


class MatrixExp(Function):
    # The gradient is exp's Frechet derivative at A^H applied to g (the upper right block of
    # exp([[A^H, G], [0, A^H]])): A^T for a real A, the conjugate transpose for a complex one.
    complex_grad = True

    def forward(self, a):
        return _expm(a)

    def backward(self, g):
        at = _h(self.inputs[0])
        xp = get_array_module(at._data)
        n = at.shape[-1]
        zeros = Tensor(xp.zeros(at.shape, dtype=at._data.dtype))
        block = concat([concat([at, g], -1), concat([zeros, at], -1)], -2)
        return matrix_exp(block)[..., :n, n:]


def matrix_exp(input):  # noqa: A002 - PyTorch's name
    """The matrix exponential of each square matrix of ``input`` (*, n, n)."""
    _square("matrix_exp", input, complex_ok=True)
    return MatrixExp.apply(input)


Tensor.matrix_exp = matrix_exp
Tensor.cholesky_solve = cholesky_solve
Tensor.cholesky_inverse = cholesky_inverse
Tensor.triangular_solve = triangular_solve
