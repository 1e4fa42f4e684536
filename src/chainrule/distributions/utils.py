"""PyTorch's ``torch.distributions.utils``: the helpers custom distributions import from it
(``broadcast_all``, ``probs``/``logits`` conversions, ``lazy_property``) and the packing of a
matrix's lower triangle into a vector and back (``tril_matrix_to_vec``, ``vec_to_tril_matrix``,
both differentiable)."""

from __future__ import annotations

import numbers

from ..autograd import Tensor, tensor
from ..backend.dtypes import int64
from ..ops import cat, index_select
from ._utils import broadcast_all, clamp_probs, logits_to_probs, probs_to_logits
from .distribution import lazy_property

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs",
           "probs_to_logits", "tril_matrix_to_vec", "vec_to_tril_matrix"]

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant, as PyTorch's module has it


def _tril_places(n: int, diag: int) -> list[int]:
    """The row-major positions in an (n, n) matrix of the entries at or below diagonal
    ``diag``."""
    return [i * n + j for i in range(n) for j in range(n) if j <= i + diag]


def _check_diag(who: str, diag) -> None:
    if isinstance(diag, bool) or not isinstance(diag, numbers.Integral):
        raise TypeError(f"{who}: diag must be an int, got {diag!r}")


def _check(who: str, name: str, value, min_ndim: int) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{who}: {name} must be a Tensor, got {type(value).__name__}")
    if value.ndim < min_ndim:
        raise ValueError(f"{who}: {name} must have at least {min_ndim} dimension(s), got shape "
                         f"{tuple(value.shape)}")


def tril_matrix_to_vec(mat, diag: int = 0):
    """The entries of ``mat``'s (..., n, n) lower triangle at or below diagonal ``diag``, row by
    row, as a (..., m) vector."""
    _check("tril_matrix_to_vec", "mat", mat, 2)
    n = mat.shape[-1]
    _check_diag("tril_matrix_to_vec", diag)
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    if mat.shape[-2] != n:
        raise ValueError(f"tril_matrix_to_vec: mat must be square in its last two dimensions, "
                         f"got shape {tuple(mat.shape)}")
    flat = mat.reshape(tuple(mat.shape[:-2]) + (n * n,))
    index = tensor(_tril_places(n, diag), dtype=int64, device=mat.device)
    return index_select(flat, -1, index)


def vec_to_tril_matrix(vec, diag: int = 0):
    """The (..., n, n) matrix whose lower triangle at or below diagonal ``diag`` holds ``vec``'s
    (..., m) entries row by row, zeros elsewhere; the inverse of ``tril_matrix_to_vec``."""
    _check("vec_to_tril_matrix", "vec", vec, 1)
    _check_diag("vec_to_tril_matrix", diag)
    m = vec.shape[-1]
    n = next((k for k in range(max(1, -diag), m + abs(diag) + 2)
              if len(_tril_places(k, diag)) == m), None)
    if n is None:
        raise ValueError(f"The size of last dimension is {m} which cannot be expressed as the "
                         f"lower triangular part of a square D x D matrix.")
    # each of the n * n places reads its vector entry, or the appended zero at position m
    source = [m] * (n * n)
    for k, place in enumerate(_tril_places(n, diag)):
        source[place] = k
    padded = cat([vec, vec.new_zeros(tuple(vec.shape[:-1]) + (1,))], dim=-1)
    out = index_select(padded, -1, tensor(source, dtype=int64, device=vec.device))
    return out.reshape(tuple(vec.shape[:-1]) + (n, n))
