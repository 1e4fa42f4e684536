"""``chainrule.linalg``: PyTorch's ``torch.linalg`` names for matrix functions with gradients.

The differentiable primitives (inverse, log-determinant, solve, Cholesky, symmetric
eigendecomposition) and their backward rules are in ``ops/decomp.py``, the SVD and QR in
``ops/svd.py``, the pseudoinverse and least squares in ``ops/linalg_extra.py``, the norms and
products in ``ops/linalg_norms.py``, the triangular solves and the matrix exponential in
``ops/linalg_solve.py``, the LU in ``ops/lu.py``, matrix powers in ``ops/linalg_legacy.py``.
"""

from __future__ import annotations

from .ops.decomp import LinAlgError, cholesky, eigh, inv, solve
from .ops.decomp import slogdet as _slogdet
from .ops.determinant import det
from .ops.diagonal import linalg_diagonal as diagonal
from .ops.eig import eig, eigvals
from .ops.ldl import ldl_factor, ldl_factor_ex, ldl_solve
from .ops.linalg import matmul as _matmul
from .ops.linalg_extra import householder_product, lstsq, matrix_rank, pinv, vander
from .ops.linalg_legacy import matrix_power
from .ops.linalg_norms import (
    cond,
    cross,
    matrix_norm,
    multi_dot,
    norm,
    tensorinv,
    tensorsolve,
    vecdot,
)
from .ops.linalg_solve import cholesky_ex, inv_ex, matrix_exp, solve_ex, solve_triangular
from .ops.lu import lu, lu_factor, lu_factor_ex, lu_solve
from .ops.stats import norm as _norm
from .ops.svd import qr, svd, svdvals
from .ops.torch_matrix_names import SignLogAbsDet

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig",
           "eigh", "eigvals", "eigvalsh", "householder_product", "inv", "inv_ex", "ldl_factor",
           "ldl_factor_ex", "ldl_solve", "lstsq", "lu", "lu_factor", "lu_factor_ex", "lu_solve",
           "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot",
           "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular", "svd",
           "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot", "vector_norm"]


def slogdet(A):  # noqa: N803 - PyTorch's argument name
    """(sign, log|det|) of each square matrix; only the log has a gradient."""
    return SignLogAbsDet(*_slogdet(A))


def eigvalsh(input, UPLO: str = "L"):  # noqa: A002, N803 - PyTorch's argument names
    """The eigenvalues (ascending) of symmetric matrices."""
    return eigh(input, UPLO)[0]


def matmul(input, other, *, out=None):  # noqa: A002 - PyTorch's argument name
    """``input @ other`` with NumPy's (and PyTorch's) rules, as ``chainrule.matmul``."""
    if out is not None:
        raise TypeError("linalg.matmul: out= is not supported; use the returned tensor")
    return _matmul(input, other)


def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A002
    """The vector ``ord``-norm over ``dim`` (all entries, flattened, for None)."""
    if not hasattr(x, "ndim"):  # a list or a number failed inside (no .ndim)
        raise TypeError(f"linalg.vector_norm: x must be a Tensor, got {type(x).__name__}")
    return _norm(x, ord, dim, keepdim, dtype=dtype)  # (by name: float16 then honours it)
