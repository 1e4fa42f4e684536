"""Recycled scratch arrays: big temporaries reused from one training step to the next.

Every step of a convolutional network allocates the same large arrays (im2col columns, padded
copies, activations, gradients) and frees them again. Memory of that size comes fresh from the
operating system, and touching it costs a page fault per 4 KiB page: a third of a LeNet-5 training
step. ``empty`` hands out an array kept from an earlier request of the same shape and dtype once
nothing else refers to it (its reference count says so: every view, node or Tensor that uses it
holds a reference), so steady-state training touches no new memory. On other array modules (CuPy
has its own memory pool) and interpreters without reference counts it allocates normally.

``clear()`` lets the kept buffers go, e.g. after training, to return their memory.
"""

from __future__ import annotations

import math
import sys
from collections import OrderedDict

from ..backend import get_array_module

__all__ = ["binary", "clear", "column_sums", "dense_flat", "empty", "empty_like", "full", "matmul",
           "relu"]

_HOST = get_array_module()
_LIMIT = 256 * 2**20  # bytes kept in all; the least recently used buffers go first
# Smaller arrays come from the allocator's free lists (glibc maps blocks from 128 KiB up afresh).
_MIN = RECYCLE_FROM = 2**17
_SHARE_MIN = 2**23  # from 8 MiB, a free buffer of another shape may serve (_free_big_buffer)
_getrefcount = getattr(sys, "getrefcount", None)


def _free_count():
    """The reference count ``empty`` sees for a kept array that nothing else uses.

    Measured with the same pattern as in ``empty`` (a list, its loop variable, the call's
    argument) rather than assumed, since interpreters differ in how they count borrowed
    references.
    """
    if _getrefcount is None:
        return None
    probe = [_HOST.empty(1)]
    for a in probe:
        return _getrefcount(a)


_FREE = _free_count()
_buffers: OrderedDict = OrderedDict()  # (shape, dtype) -> list of arrays
_held = [0]


def empty(xp, shape, dtype):
    """An uninitialized array, recycled when an earlier one of this shape and dtype is free."""
    shape = tuple(shape)
    if xp is not _HOST or _getrefcount is None:
        return xp.empty(shape, dtype=dtype)
    dtype = xp.dtype(dtype)
    size = math.prod(shape) * dtype.itemsize
    if size < _MIN:
        return xp.empty(shape, dtype=dtype)
    key = (shape, dtype)
    kept = _buffers.get(key)
    if kept is not None:
        _buffers.move_to_end(key)
        for a in kept:
            if _getrefcount(a) == _FREE:  # only the list, the loop variable and the argument
                return a
    if size >= _SHARE_MIN:
        shared = _free_big_buffer(size)
        if shared is not None:
            return shared.reshape(-1).view(xp.uint8)[:size].view(dtype).reshape(shape)
    a = xp.empty(shape, dtype=dtype)
    _buffers.setdefault(key, []).append(a)
    _held[0] += size
    while _held[0] > _LIMIT and len(_buffers) > 1:
        _, old = _buffers.popitem(last=False)
        _held[0] -= sum(b.nbytes for b in old)
    return a


def full(xp, shape, value, dtype):
    """``empty`` filled with ``value``.

    Small zeros come from ``xp.zeros`` (calloc), cheaper than an empty array and a fill, which
    counts at batch 1 (LeNet-5's padded input).
    """
    if value == 0 and math.prod(shape) * xp.dtype(dtype).itemsize < _MIN:
        return xp.zeros(shape, dtype)
    out = empty(xp, shape, dtype)
    out.fill(value)
    return out


def _free_big_buffer(size):
    """A free kept buffer of ``size`` to 1.25 * ``size`` bytes, whatever its shape, or None.

    Big temporaries of different shapes that are never alive at once (the im2col columns of
    successive layers) then share one block of memory instead of each keeping its own.
    """
    for kept in _buffers.values():
        for a in kept:
            if size <= a.nbytes <= size * 1.25 and _getrefcount(a) == _FREE:
                return a
    return None


def empty_like(a, dtype=None):
    """``empty`` with the shape of ``a`` and its axis order in memory (e.g. batch-last)."""
    xp = get_array_module(a)
    dtype = a.dtype if dtype is None else xp.dtype(dtype)
    if a.size * dtype.itemsize < _MIN or xp is not _HOST:
        return xp.empty_like(a, dtype=dtype)
    order = sorted(range(a.ndim), key=lambda i: -a.strides[i])
    buf = empty(xp, [a.shape[i] for i in order], dtype)
    inverse = [0] * a.ndim
    for i, axis in enumerate(order):
        inverse[axis] = i
    return buf.transpose(inverse)


def binary(ufunc, a, b):
    """``ufunc(a, b)`` (add, multiply...); a big result goes into a recycled array."""
    big = a if a.nbytes >= b.nbytes else b
    if (big.nbytes < _MIN or (a.shape != b.shape and min(a.ndim, b.ndim) > 0)
            or get_array_module(a, b) is not _HOST):
        return ufunc(a, b)
    out_dtype = _HOST.result_type(a, b)
    if out_dtype != big.dtype:
        return ufunc(a, b)
    return ufunc(a, b, out=empty_like(big))


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


def matmul(a, b):
    """``a @ b`` for 2-D arrays, written into a recycled array.

    An inner dimension of 1 (an outer product: a one-output layer's input gradient, a batch of
    one's weight gradient) is a broadcast multiply: NumPy's matmul runs those far slower. A small
    product of a row-major by a column-major matrix copies the smaller one (see ``_small_mixed``).
    """
    m, n = a.shape[0], b.shape[1]
    xp = get_array_module(a, b)
    if a.shape[1] == 1 and xp.result_type(a, b) == a.dtype == b.dtype:
        out = empty(xp, (m, n), a.dtype) if (m * n) * a.itemsize >= _MIN else None
        return xp.multiply(a, b, out=out)
    if m * n > _MIXED_SMALL_OUT and xp is _HOST:
        a, b = _small_mixed(a, b, m, n)
    if (m * n) * a.itemsize < _MIN:
        return a @ b
    return xp.matmul(a, b, out=empty(xp, (m, n), xp.result_type(a, b)))


def dense_flat(a, order=None):
    """``a``'s elements as a 1-D view in memory order, or None when they are not one dense block.

    The order is that of decreasing strides, or the axis permutation ``order``.
    """
    if order is None:
        order = sorted(range(a.ndim), key=lambda i: -a.strides[i])
    t = a.transpose(order)
    return t.reshape(-1) if t.flags.c_contiguous else None


_zeros: dict = {}  # dtype -> a read-only 1-D array of zeros, grown on demand


def relu(x, *, inplace=False):
    """max(x, 0) into a recycled array laid out like ``x`` (into ``x`` itself when ``inplace``).

    NumPy's ``maximum`` with the scalar 0 misses its vectorized loop and runs far slower than with
    an array of zeros, so dense host arrays are compared, flat, with a shared zero buffer.
    """
    xp = get_array_module(x)
    if xp is not _HOST or x.size < 1024:  # small: the faster loop would not pay for the set-up
        return xp.maximum(x, 0, out=x if inplace else None)
    if inplace and x.flags.c_contiguous:
        # A GEMM's output, rectified in place: a flat view needs no strides sorted, so the faster
        # loop pays from 1024 elements (LeNet-5's C1 at batch 1 already gains).
        y = x
        xf = yf = x.reshape(-1)
    elif x.size < 8192:  # the general set-up below pays from here
        return xp.maximum(x, 0, out=x if inplace else None)
    else:
        y = x if inplace else empty_like(x)
        order = sorted(range(x.ndim), key=lambda i: -x.strides[i])
        xf = dense_flat(x, order)
        if xf is None:
            return xp.maximum(x, 0, out=y)
        yf = dense_flat(y, order)
    zeros = _zeros.get(x.dtype)
    if zeros is None or zeros.size < xf.size:
        zeros = xp.zeros(max(xf.size, 2**16), dtype=x.dtype)
        zeros.flags.writeable = False
        _zeros[x.dtype] = zeros
    xp.maximum(xf, zeros[:xf.size], out=yf)
    return y


_ones: dict = {}  # dtype -> a read-only 1-D array of ones, grown on demand


def column_sums(a):
    """``a.sum(axis=0)`` of a 2-D float array (a bias gradient) as a product with ones.

    NumPy reduces each of the columns with a pairwise sum of its own, several times slower for a
    bias gradient than one matrix-vector product (docs/performance.md).
    """
    xp = get_array_module(a)
    if xp is not _HOST or a.dtype not in (_HOST.float32, _HOST.float64) or a.size < 1024:
        return a.sum(axis=0)
    ones = _ones.get(a.dtype)
    if ones is None or ones.size < a.shape[0]:
        ones = xp.ones(max(a.shape[0], 1024), dtype=a.dtype)
        ones.flags.writeable = False
        _ones[a.dtype] = ones
    return ones[:a.shape[0]] @ a


def clear() -> None:
    """Forget every kept buffer (their memory is freed once nothing else uses it)."""
    _buffers.clear()
    _zeros.clear()
    _ones.clear()
    _held[0] = 0
