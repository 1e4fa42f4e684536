"""The rectifier's array work: max(x, 0), the bias + ReLU of a layer, and the mask of its gradient.

References: ``relu_reference(x) = maximum(x, 0)``, ``bias_relu_reference(y, b) = maximum(y + b,
0)``, ``affine_relu_reference(x, w, b) = maximum(x @ w.T + b, 0)`` (a Linear layer and its
rectifier), ``relu_grad_reference(g, y)`` = g with 0 where y <= 0 (masked, not multiplied: an
infinite g there gives 0, a NaN y passes g, as PyTorch's). The fast versions give the same bits.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..backend import jit as _jit
from ..backend.settings import config
from . import gemm

__all__ = ["affine_relu", "affine_relu_reference", "bias_relu_columns", "bias_relu_reference",
           "dense_flat", "relu", "relu_grad", "relu_grad_reference", "relu_reference"]

_HOST = get_array_module()


def relu_reference(x, *, inplace=False):
    """max(x, 0), into ``x`` itself when ``inplace``."""
    return get_array_module(x).maximum(x, 0, out=x if inplace else None)


def dense_flat(a, order=None):
    """``a``'s elements as a 1-D view in memory order, or None when they are not one dense block.

    The order is that of decreasing strides, or the axis permutation ``order``.
    """
    if order is None:
        order = sorted(range(a.ndim), key=lambda i: -a.strides[i])
    t = a.transpose(order)
    return t.reshape(-1) if t.flags.c_contiguous else None


_ZEROS: dict = {}  # dtype -> a read-only vector of zeros, grown on demand (a constant, cached)


def relu(x, *, inplace=False):
    """max(x, 0) laid out like ``x`` (into ``x`` itself when ``inplace``).

    NumPy's ``maximum`` with the scalar 0 misses its vectorized loop and runs far slower than with
    an array of zeros, so dense host arrays are compared, flat, with a read-only zero vector.
    """
    xp = get_array_module(x)
    if config.reference_mode or xp is not _HOST or x.size < 1024:  # small: set-up would not pay
        return relu_reference(x, inplace=inplace)
    if inplace and x.flags.c_contiguous:
        # A GEMM's output, rectified in place: a flat view needs no strides sorted, so the faster
        # loop pays from 1024 elements.
        y = x
        xf = yf = x.reshape(-1)
    elif x.size < 8192:  # the general set-up below pays from here
        return relu_reference(x, inplace=inplace)
    else:
        y = x if inplace else xp.empty_like(x)
        order = sorted(range(x.ndim), key=lambda i: -x.strides[i])
        xf = dense_flat(x, order)
        if xf is None:
            return xp.maximum(x, 0, out=y)
        yf = dense_flat(y, order)
    zeros = _ZEROS.get(x.dtype)
    if zeros is None or zeros.size < xf.size:
        zeros = xp.zeros(max(xf.size, 2**16), dtype=x.dtype)
        zeros.flags.writeable = False
        _ZEROS[x.dtype] = zeros
    xp.maximum(xf, zeros[:xf.size], out=yf)
    return y


def bias_relu_reference(y, b):
    """max(y + b, 0) in place of ``y`` (a layer's product, ``b`` broadcast along its last axis)."""
    y += b
    return relu_reference(y, inplace=True)


def bias_relu_columns(y, b):
    """max(y + b[:, None], 0) in place of ``y``: a batch-last product (out, batch) and its bias.

    One compiled sweep when numba is on, instead of NumPy's add and maximum.
    """
    if (not config.reference_mode and _jit.bias_relu is not None and type(y) is _HOST.ndarray
            and _jit.handles(y.dtype) and y.dtype == b.dtype and y.flags.c_contiguous):
        _jit.bias_relu(y, b)
        return y
    y += b[:, None]
    return relu(y, inplace=True)


def affine_relu_reference(x, w, b=None, *, compiled=False):
    """max(x @ w.T + b, 0), x (..., in), w (out, in), b (out,) or None (``compiled`` steers only
    the fast version)."""
    return relu_reference(gemm.affine_reference(x, w, b), inplace=True)


def affine_relu(x, w, b=None, *, compiled=False):
    """``affine_relu_reference``'s values. With ``compiled`` (a training step, which loads numba
    anyway; a model only predicting should not pay its memory) a 2-D ``x`` with a bias takes the
    product batch-last, (out, batch) in memory as in ``gemm.affine``, and one compiled bias + ReLU
    sweep over its rows."""
    if compiled and b is not None and x.ndim == 2:
        return bias_relu_columns(gemm.matmul(w, x.T), b).T
    return relu(gemm.affine(x, w, b), inplace=True)


def relu_grad_reference(g, y):
    """g, with 0 where y <= 0: the gradient through a ReLU whose output is ``y``."""
    xp = get_array_module(g, y)
    return xp.where(y <= 0, xp.zeros((), g.dtype), g)


def relu_grad(g, y):
    """g with 0 where y <= 0, in one compiled sweep when ``g`` and ``y`` share a dense memory order.

    Both row-major, or both with all axes reversed (a Linear's batch-last output and gradient),
    or another shared dense order (a convolution's batch-last).
    """
    if (not config.reference_mode and _jit.relu_grad is not None
            and type(g) is type(y) is _HOST.ndarray
            and g.dtype == y.dtype and g.shape == y.shape and _jit.handles(g.dtype)):
        for gm, ym in ((g, y), (g.T, y.T)):
            if gm.flags.c_contiguous and ym.flags.c_contiguous:
                out = _HOST.empty(gm.shape, g.dtype)
                _jit.relu_grad(gm.ravel(), ym.ravel(), out.ravel())
                return out if gm is g else out.T
        if g.strides == y.strides:
            order = sorted(range(y.ndim), key=lambda i: -y.strides[i])
            gf, yf = dense_flat(g, order), dense_flat(y, order)
            if gf is not None and yf is not None:
                out = _HOST.empty_like(g)  # the same memory order: its flat view is dense too
                _jit.relu_grad(gf, yf, dense_flat(out, order))
                return out
    xp = get_array_module(g, y)
    if config.reference_mode:
        return relu_grad_reference(g, y)
    out = xp.empty_like(g)  # g's memory order (a batch-last gradient stays batch-last)
    xp.copyto(out, g)
    out[xp.less_equal(y, 0, out=xp.empty_like(y, dtype=bool))] = 0
    return out
