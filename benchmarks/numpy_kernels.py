"""The NumPy kernels and optimizers of the hand-written reference steps (``numpy_reference``).

Images are (C, N, H, W): a convolution's GEMM, W (O, C*k*k) @ columns (C*k*k, N*Ho*Wo), yields that
layout directly, and bias, ReLU, pooling and col2im then run over long contiguous rows (with NHWC
and 1 to 16 channels their inner loops would be 1 to 16 elements long). 1-D convolutions work on
(N, L, C), which suits the char-CNN's 256 channels.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided


def _pad(x, pad):
    """(C, N, H, W) ``x`` with ``pad`` zeros on both sides of both spatial axes."""
    if not pad:
        return x
    c, n, h, w = x.shape
    out = np.zeros((c, n, h + 2 * pad, w + 2 * pad), x.dtype)
    out[:, :, pad:pad + h, pad:pad + w] = x
    return out


def _windows(x, k, out_size, stride):
    """Every k x k window of (C, N, H, W) ``x`` as a read-only view (C, k, k, N, Ho, Wo)."""
    sc, sn, sh, sw = x.strides
    shape = (x.shape[0], k, k, x.shape[1], *out_size)
    return as_strided(x, shape, (sc, sh, sw, sn, sh * stride, sw * stride), writeable=False)


def _col2im(cols, size, k, out_size, stride, pad):
    """Adjoint of the im2col of a padded input: add the columns back into a ``size`` view."""
    c, n, h, w = size
    ho, wo = out_size
    out = np.zeros((c, n, h + 2 * pad, w + 2 * pad), cols.dtype)
    cols = cols.reshape(c, k, k, n, ho, wo)
    for i in range(k):
        for j in range(k):
            rows = slice(i, i + stride * (ho - 1) + 1, stride)
            out[:, :, rows, j:j + stride * (wo - 1) + 1:stride] += cols[:, i, j]
    return out[:, :, pad:pad + h, pad:pad + w]


_CHUNK = 4096


def _gemm_nt(a, b):
    """``a @ b.T`` for a (M, L), b (K, L) with a long L (a filter gradient over N*Ho*Wo positions).

    OpenBLAS runs these degenerate products (LeNet's C1: 6 x 25 outputs summed over 100,352
    positions) several times faster as a sum over cache-sized chunks of L, each as (b @ a.T).T.
    """
    out = b[:, :_CHUNK] @ a[:, :_CHUNK].T
    for start in range(_CHUNK, a.shape[1], _CHUNK):
        out += b[:, start:start + _CHUNK] @ a[:, start:start + _CHUNK].T
    return out.T


def conv2d(x, w, b, stride=1, pad=0):
    """Convolution of (C, N, H, W) ``x`` with filters ``w`` (O, C, k, k): output, im2col matrix."""
    c, n, h, wd = x.shape
    o, k = w.shape[0], w.shape[2]
    ho, wo = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    cols = _windows(_pad(x, pad), k, (ho, wo), stride).reshape(c * k * k, n * ho * wo)
    y = w.reshape(o, -1) @ cols
    y += b[:, None]
    return y.reshape(o, n, ho, wo), cols


def conv2d_backward(gy, cols, w, x_shape, stride=1, pad=0, need_input=True):
    """Gradients (input, weight, bias) of ``conv2d`` from the output gradient ``gy``."""
    o = w.shape[0]
    g2 = gy.reshape(o, -1)
    gx = None
    if need_input:
        gx = _col2im(w.reshape(o, -1).T @ g2, x_shape, w.shape[2], gy.shape[2:], stride, pad)
    return gx, _gemm_nt(g2, cols).reshape(w.shape), g2.sum(axis=1)


def conv_transpose2d(x, w, b, stride, pad, out_pad):
    """Transposed convolution of (C_in, N, H, W) ``x`` with ``w`` (C_in, C_out, k, k)."""
    c_in, n, h, wd = x.shape
    c_out, k = w.shape[1], w.shape[2]
    size = (c_out, n, (h - 1) * stride - 2 * pad + k + out_pad,
            (wd - 1) * stride - 2 * pad + k + out_pad)
    cols = w.reshape(c_in, -1).T @ x.reshape(c_in, -1)
    return _col2im(cols, size, k, (h, wd), stride, pad) + b[:, None, None, None]


def conv_transpose2d_backward(gy, x, w, stride, pad, need_input=True):
    """Gradients of ``conv_transpose2d``: an im2col of ``gy`` (a strided convolution) and GEMMs."""
    c_in, n, h, wd = x.shape
    gcols = _windows(_pad(gy, pad), w.shape[2], (h, wd), stride).reshape(-1, n * h * wd)
    w2 = w.reshape(c_in, -1)
    gx = (w2 @ gcols).reshape(x.shape) if need_input else None
    return gx, _gemm_nt(x.reshape(c_in, -1), gcols).reshape(w.shape), gy.sum(axis=(1, 2, 3))


def conv1d(x, wm, b, k):
    """Valid stride-1 convolution of (N, L, C) ``x`` with ``wm`` (k*C, O): output, im2col matrix.

    With 256 channels, rows of C are long enough; the (k*C, O) weight layout (converted once at
    construction) makes the GEMM's output (N*Lo, O) the next layer's input without a transpose.
    """
    n, length, c = x.shape
    lo = length - k + 1
    sn, sl, sc = x.strides
    cols = as_strided(x, (n, lo, k, c), (sn, sl, sl, sc), writeable=False).reshape(n * lo, k * c)
    y = cols @ wm
    y += b
    return y.reshape(n, lo, -1), cols


def conv1d_backward(gy, cols, wm, x_shape, k, need_input=True):
    n, lo, o = gy.shape
    g2 = gy.reshape(-1, o)
    gx = None
    if need_input:
        gcols = (g2 @ wm.T).reshape(n, lo, k, -1)
        gx = np.zeros(x_shape, gy.dtype)
        for i in range(k):
            gx[:, i:i + lo] += gcols[:, :, i]
    return gx, cols.T @ g2, g2.sum(axis=0)


def _pool_offsets(shape, k, axes):
    """Index of each kernel offset of every non-overlapping k-window over ``axes``: one strided
    view per offset, no copy."""
    index = []
    for offsets in itertools.product(range(k), repeat=len(axes)):
        ix = [slice(None)] * len(shape)
        for axis, o in zip(axes, offsets):
            ix[axis] = slice(o, shape[axis] // k * k, k)
        index.append(tuple(ix))
    return index


def max_pool(x, k, axes):
    """Max over non-overlapping windows of size k along each of ``axes`` (stride k)."""
    index = _pool_offsets(x.shape, k, axes)
    y = x[index[0]].copy()
    for ix in index[1:]:
        np.maximum(y, x[ix], out=y)
    return y


def max_pool_backward(g, x, y, k, axes):
    """Route ``g`` to the first maximum of each window (PyTorch's rule on ties)."""
    gx = np.zeros_like(x)
    free = np.ones(y.shape, bool)
    won = np.empty(y.shape, bool)
    for ix in _pool_offsets(x.shape, k, axes):
        np.equal(x[ix], y, out=won)
        won &= free
        free ^= won
        np.multiply(g, won, out=gx[ix])
    return gx


def linear_backward(g, x, w, need_input=True, need_weight=True):
    """Gradients (input, weight, bias) of ``x @ w.T + b``."""
    gx = g @ w if need_input else None
    if not need_weight:
        return gx, None, None
    return gx, g.T @ x, g.sum(axis=0)


def linear_backward_columns(g, x, w, need_input=True):
    """Gradients of ``w @ x + b[:, None]`` for activations stored as columns (features, N)."""
    return (w.T @ g if need_input else None), g @ x.T, g.sum(axis=1)


def relu_(a):
    return np.maximum(a, 0, out=a)


def sigmoid(x):
    return 0.5 * np.tanh(0.5 * x) + 0.5  # no overflow for large |x|


def cross_entropy(z, t):
    """Mean cross-entropy of logits ``z`` (N, K) and labels ``t``, and its gradient for ``z``."""
    n = z.shape[0]
    rows = np.arange(n)
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    loss = (np.log(s[:, 0]) - shifted[rows, t]).mean()
    e /= s
    e[rows, t] -= 1
    e /= n
    return loss, e


class SGD:
    """PyTorch's SGD (momentum buffer = first gradient, then m * buf + g), in place."""

    def __init__(self, lr, momentum=0.0):
        self.lr, self.momentum, self.buffers = lr, momentum, {}

    def step(self, params, grads):
        for key, g in grads.items():
            if self.momentum:
                buf = self.buffers.get(key)
                if buf is None:
                    buf = self.buffers[key] = g.copy()
                else:
                    buf *= self.momentum
                    buf += g
                g = buf
            params[key] -= self.lr * g


class Adam:
    """PyTorch's Adam (no weight decay), in place with one scratch array per parameter."""

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.betas, self.eps = lr, betas, eps
        self.t, self.m, self.v = 0, {}, {}

    def step(self, params, grads):
        self.t += 1
        b1, b2 = self.betas
        step_size = self.lr / (1 - b1**self.t)
        root = math.sqrt(1 - b2**self.t)
        for key, g in grads.items():
            if key not in self.m:
                self.m[key], self.v[key] = np.zeros_like(g), np.zeros_like(g)
            m, v = self.m[key], self.v[key]
            m *= b1
            tmp = np.multiply(g, 1 - b1)
            m += tmp
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp /= root
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            params[key] -= tmp
