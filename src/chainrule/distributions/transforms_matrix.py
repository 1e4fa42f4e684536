"""CorrCholeskyTransform (real vectors to Cholesky factors of correlation matrices, as Stan and
PyTorch build them) and PositiveDefiniteTransform (square matrices to positive-definite ones)."""

from __future__ import annotations

import math

from ..autograd import tensor
from ..ops import cat, eye, log, log1p, matmul, ones_like, tanh
from ..ops.decomp import cholesky
from . import constraints
from ._utils import finfo, softplus
from .transforms import Transform
from .transforms_extra import LowerCholeskyTransform

__all__ = ["CorrCholeskyTransform", "PositiveDefiniteTransform"]


def _placement(n, diag, like):
    """The 0/1 matrix (n*n, m) that puts a vector of the m entries below diagonal ``diag`` of an
    n x n matrix (row by row) in their places: a differentiable scatter by ``matmul``."""
    rows = [(i, j) for i in range(n) for j in range(n) if j - i <= diag]
    values = [[0.0] * len(rows) for _ in range(n * n)]
    for k, (i, j) in enumerate(rows):
        values[i * n + j][k] = 1.0
    return tensor(values, dtype=like.dtype, device=like.device)


def _vec_to_tril(vec, n, diag):
    placed = matmul(vec, _placement(n, diag, vec).transpose(0, 1))
    return placed.reshape(tuple(vec.shape[:-1]) + (n, n))


def _tril_to_vec(mat, diag):
    n = mat.shape[-1]
    flat = mat.reshape(tuple(mat.shape[:-2]) + (n * n,))
    return matmul(flat, _placement(n, diag, mat))


def _pad_left_one(x):
    return cat([ones_like(x[..., :1]), x[..., :-1]], -1)


class CorrCholeskyTransform(Transform):
    """Real vectors of length D(D-1)/2 to D x D lower Cholesky factors of correlation matrices:
    ``tanh`` to (-1, 1), placed below the diagonal, then each row stick-broken so that its norm
    is 1. The log-Jacobian is that of x to the strictly lower triangle of y."""

    _by_type = True

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky

    def _call(self, x):
        eps = finfo(x.dtype).eps
        r = tanh(x).clamp(min=-1 + eps, max=1 - eps)
        n = self.forward_shape(tuple(x.shape))[-1]
        r = _vec_to_tril(r, n, -1)
        kept = (1 - r * r).sqrt().cumprod(-1)
        r = r + eye(n, dtype=r.dtype, device=r.device)
        return r * _pad_left_one(kept)

    def _inverse(self, y):
        left = _pad_left_one(1 - (y * y).cumsum(-1))
        t = _tril_to_vec(y, -1) / _tril_to_vec(left, -1).sqrt()
        return (log1p(t) - log1p(-t)) / 2

    def log_abs_det_jacobian(self, x, y):
        left = 1 - (y * y).cumsum(-1)
        stick_breaking = 0.5 * log(_tril_to_vec(left, -2)).sum(-1)
        tanh_part = -2 * (x + softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick_breaking + tanh_part

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError(f"CorrCholeskyTransform: too few dimensions on input shape {shape}")
        m = shape[-1]
        n = round((0.25 + 2 * m) ** 0.5 + 0.5)
        if n * (n - 1) // 2 != m:
            raise ValueError(f"CorrCholeskyTransform: the input's last dimension, {m}, is not "
                             f"a number of strictly lower-triangular entries D(D-1)/2")
        return tuple(shape[:-1]) + (n, n)

    def inverse_shape(self, shape):
        if len(shape) < 2 or shape[-1] != shape[-2]:
            raise ValueError(f"CorrCholeskyTransform: expected square matrices, got shape "
                             f"{tuple(shape)}")
        n = shape[-1]
        return tuple(shape[:-2]) + (n * (n - 1) // 2,)


class PositiveDefiniteTransform(Transform):
    """Square matrices to positive-definite ones: L L^T for L the ``LowerCholeskyTransform`` of
    x (not bijective on all matrices; no Jacobian, as in PyTorch)."""

    _by_type = True

    bijective = False
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def _call(self, x):
        low = LowerCholeskyTransform()(x)
        return matmul(low, low.transpose(-1, -2))

    def _inverse(self, y):
        return LowerCholeskyTransform().inv(cholesky(y))
