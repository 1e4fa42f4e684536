"""Matrix products and column sums, in the memory orders BLAS runs fastest.

References: ``matmul_reference(a, b)`` is ``a @ b``; ``column_sums_reference(a)`` is
``a.sum(axis=0)``. The fast versions give the same values up to the order of summation.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..backend.settings import config

__all__ = ["affine", "affine_reference", "column_sums", "column_sums_reference", "matmul",
           "matmul_batch_last", "matmul_reference"]

_HOST = get_array_module()

# OpenBLAS runs products of up to 100**3 multiply-adds in a single-threaded small-matrix kernel,
# but not those of a row-major ``a`` by a column-major ``b`` (its "TN" case) with more than 1200
# outputs: these take its general path, several times slower at these sizes (e.g. the weight
# gradient of a batch-last input; figures in docs/performance.md).
# A small operand is copied so that both have one order; an inner dimension under 32 is as fast
# either way, and copying an operand over 4096 elements costs about what it saves.
_SMALL_GEMM = 100**3
_MIXED_SMALL_OUT = 1200
_MIXED_MIN_INNER = 32
_MIXED_COPY = 4096


def matmul_reference(a, b):
    """``a @ b`` for 2-D arrays."""
    return a @ b


def matmul(a, b):
    """``a @ b`` for 2-D arrays, routed the way BLAS (or NumPy) computes it fastest.

    An inner dimension of 1 (an outer product: a one-output layer's input gradient, a batch of
    one's weight gradient) is a broadcast multiply: NumPy's matmul runs those far slower. A small
    product of a row-major by a column-major matrix copies the smaller one (see ``_small_mixed``).
    """
    if config.reference_mode:
        return matmul_reference(a, b)
    xp = get_array_module(a, b)
    if a.shape[1] == 1 and xp.result_type(a, b) == a.dtype == b.dtype:
        return xp.multiply(a, b)
    m, n = a.shape[0], b.shape[1]
    if m * n > _MIXED_SMALL_OUT and xp is _HOST:
        a, b = _small_mixed(a, b, m, n)
    return a @ b


def _small_mixed(a, b, m, n):
    """``a`` and ``b``, one of them copied into the other's memory order where BLAS runs faster."""
    k = a.shape[1]
    # b's order first: it settles the usual case (both row-major) with one test.
    if (not b.flags.f_contiguous or b.flags.c_contiguous or k < _MIXED_MIN_INNER
            or m * n * k > _SMALL_GEMM or not a.flags.c_contiguous):
        return a, b
    if a.size <= b.size:
        return (_HOST.asfortranarray(a), b) if a.size <= _MIXED_COPY else (a, b)
    return (a, _HOST.ascontiguousarray(b)) if b.size <= _MIXED_COPY else (a, b)


def matmul_batch_last(a, b):
    """``a @ b`` laid out batch-last, (n, m) in memory: computed as ``(b.T @ a.T).T``.

    For a layer's input gradient: it then has the memory order of the layer's batch-last input,
    and the next elementwise passes (a ReLU's mask) run over matching strides.
    """
    if config.reference_mode:
        return matmul_reference(a, b)
    return matmul(b.T, a.T).T


def column_sums_reference(a):
    """``a.sum(axis=0)``: a bias gradient."""
    return a.sum(axis=0)


def column_sums(a):
    """``a.sum(axis=0)`` of a 2-D float array as one matrix-vector product with ones.

    NumPy reduces each column with a pairwise sum of its own, several times slower for a bias
    gradient than one BLAS product (docs/performance.md).
    """
    xp = get_array_module(a)
    if (config.reference_mode or xp is not _HOST or a.dtype not in (_HOST.float32, _HOST.float64)
            or a.size < 1024):
        return column_sums_reference(a)
    return xp.ones(a.shape[0], dtype=a.dtype) @ a


def affine_reference(x, w, b=None):
    """``x @ w.T + b``: a Linear layer's output, x (..., in), w (out, in), b (out,) or None."""
    y = x @ w.T
    if b is not None:
        y += b
    return y


def affine(x, w, b=None):
    """``x @ w.T + b``; a 2-D ``x`` gives a batch-last result, (out, batch) in memory.

    BLAS runs this orientation of the product faster with several threads (docs/performance.md),
    and the next layer's input and the gradients then come batch-last too. The caller may
    overwrite the result (a fused ReLU rectifies it in place).
    """
    if config.reference_mode:
        return affine_reference(x, w, b)
    if x.ndim == 2:
        y = matmul(w, x.T).T
    else:
        y = matmul(x.reshape(-1, x.shape[-1]), w.T)
    if b is not None:
        y += b
    return y if x.ndim == 2 else y.reshape(x.shape[:-1] + (w.shape[0],))
