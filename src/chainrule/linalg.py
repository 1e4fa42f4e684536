"""``chainrule.linalg``: PyTorch's ``torch.linalg`` names for matrix functions with gradients.

The differentiable primitives (inverse, log-determinant, solve, Cholesky, symmetric
eigendecomposition) and their backward rules are in ``ops/decomp.py``, the SVD and QR in
``ops/svd.py``; the norms and powers here are compositions of recorded ops.
"""

from __future__ import annotations

from typing import NamedTuple

from .ops import eye, matmul
from .ops.decomp import cholesky, det, eigh, inv, solve
from .ops.decomp import slogdet as _slogdet
from .ops.stats import norm as _norm
from .ops.svd import qr, svd, svdvals

__all__ = ["cholesky", "det", "eigh", "eigvalsh", "inv", "matrix_norm", "matrix_power", "norm",
           "qr", "slogdet", "solve", "svd", "svdvals", "vector_norm"]


class SignLogAbsDet(NamedTuple):
    """``slogdet``'s result: the sign of each determinant and the log of its absolute value."""

    sign: object
    logabsdet: object


def slogdet(a):
    """(sign, log|det|) of each square matrix; only the log has a gradient."""
    return SignLogAbsDet(*_slogdet(a))


def eigvalsh(a, UPLO: str = "L"):  # noqa: N803 - PyTorch's argument name
    """The eigenvalues (ascending) of symmetric matrices."""
    return eigh(a, UPLO)[0]


def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A002
    """The vector ``ord``-norm over ``dim`` (all entries, flattened, for None)."""
    return _norm(x, ord, dim, keepdim, dtype)


def matrix_norm(a, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None):  # noqa: A002
    """The Frobenius norm of the matrices over ``dim`` (the other orders are not supported)."""
    if ord != "fro":
        raise ValueError(f"matrix_norm: only ord='fro' is supported, got {ord!r}")
    return _norm(a, "fro", dim, keepdim, dtype)


def norm(x, ord=None, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A002
    """PyTorch's ``linalg.norm``: the 2-norm of vectors, the Frobenius norm of matrices."""
    if ord is None or (ord == "fro" and (dim is None or not isinstance(dim, int))):
        return _norm(x, "fro", dim, keepdim, dtype)
    if isinstance(ord, str) or (dim is not None and not isinstance(dim, int)):
        raise ValueError(f"norm: ord={ord!r} over dim={dim!r} is not supported (vector norms "
                         "over one dim, or the Frobenius norm)")
    return _norm(x, ord, dim, keepdim, dtype)


def matrix_power(a, n: int):
    """A^n by repeated squaring; a negative n inverts first; n = 0 gives the identity."""
    if n < 0:
        a, n = inv(a), -n
    result = None
    while n:
        if n & 1:
            result = a if result is None else matmul(result, a)
        n >>= 1
        if n:
            a = matmul(a, a)
    if result is None:
        return eye(a.shape[-1], dtype=a.dtype) + a * 0
    return result

