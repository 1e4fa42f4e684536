"""Optional compiled kernels (numba) for the memory passes NumPy cannot do in one sweep.

Pooling's backward and col2im are, in NumPy, one pass over the whole image per kernel offset
(``kernels.pooling.route_to_winners``, ``kernels.im2col.col2im``): LeNet-5's 2x2 max-pool backward
reads and writes its arrays 16 times. Compiled, each is one sweep with the batch as the contiguous
inner loop. So are the max-pooling forward (training), a transposed convolution's col2im into the
unpadded image with its bias (``col2im_crop``), im2col of a batch-last input with the zeros of its
padding (``im2col``), a prediction's convolution with few filters and taps over a big batch
(``convolve_skinny``: no columns), each optimizer's update (``sgd``, ``adam``, ``rmsprop``,
``adagrad``: the rule of optim/ in one pass), a fused layer's bias + ReLU (``bias_relu``) and its
gradient mask (``relu_grad``), and cross entropy over class labels (``cross_entropy``: the loss
and softmax - one_hot in one sweep per row; equal to the NumPy path to rounding, as its exp and
log are libm's). The image kernels (col2im, im2col, pooling, the skinny convolution) are written
in ``backend/jit_images.py``, the rest here. docs/performance.md has the measurements.

numba is optional (``pip install chainrule[fast]``): without it, or with ``chainrule.config.jit``
False (``CHAINRULE_JIT=0`` in the environment), these names are None and every op takes its NumPy
path, which is the reference the compiled kernels are tested against (an optimizer runs its rule;
without numba, SGD and Adam run it in place, see optim/fused.py); assigning the setting switches
at once. Kernels compile on first use and are cached on disk. The image kernels take arrays in
batch-last memory order, (C, H, W, N), the layout of every convolution and pooling array (see
``kernels.layout``); the optimizer kernels take flat views (``flat``); float32 and float64 only.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from .jit_cache import guard, heal
from .settings import config

__all__ = ["adagrad", "adam", "bias_relu", "col2im", "col2im_crop", "convolve_skinny",
           "cross_entropy", "enabled", "flat", "handles", "im2col", "loaded", "pool", "relu_grad",
           "rmsprop", "route_to_winners", "sgd"]

_kernels: dict = {}


def enabled() -> bool:
    """True when the compiled kernels are in use (each op checks its own kernel is not None)."""
    names = globals()
    return all(names[name] is not None for name in _KERNELS)


def _lazy(name):
    """A stand-in that compiles (or loads from the cache) every kernel on its first call.

    Importing numba and LLVM takes noticeable time and memory, so only what calls a kernel (a
    training step's optimizer or pooling backward, a transposed convolution) pays for them.
    """

    def call(*args):
        if not _kernels:
            try:
                _kernels.update({k: guard(v) for k, v in _build().items()})
            except ImportError as e:
                raise ImportError(
                    f"chainrule: numba is installed but does not import ({e}); set "
                    "chainrule.config.jit = False (or the environment variable CHAINRULE_JIT=0) "
                    "to use the NumPy kernels"
                ) from e
        kernel = _kernels[name]
        try:
            return kernel(*args)
        except TypeError as e:
            if "can't unbox" not in str(e):
                raise
            # a cache index damaged by processes that compiled at once without the lock
            # (backend/jit_cache.py): empty that kernel's cache and compile afresh, once
            heal(kernel)
            return kernel(*args)

    call.__name__ = name
    return call


def _build():  # noqa: C901 - the kernels are defined together, behind one import
    import numba

    from .jit_images import image_kernels

    jit = numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")

    # The optimizer kernels do, per element, the float operations of the rules as optim/ writes
    # them (optim/sgd.py, adam.py, rmsprop.py, adagrad.py), in the same order and with scalars
    # of the arrays' dtype, so they give the same bits (Adam: to rounding, see its docstring);
    # ``decay``, ``maximize`` and the like are the rules' own branches.

    @jit
    def _sgd(p, grad, buf, lr, momentum, one_minus_dampening, weight_decay, maximize, nesterov,
             first):
        """SGD in one sweep; ``buf`` is the momentum buffer (empty without momentum), which
        ``first`` sets to the gradient."""
        with_momentum = buf.size > 0
        decay = weight_decay != 0
        for i in range(p.size):
            g = -grad[i] if maximize else grad[i]
            if decay:
                g = g + weight_decay * p[i]
            d = g
            if with_momentum:
                b = g if first else momentum * buf[i] + one_minus_dampening * g
                buf[i] = b
                d = g + momentum * b if nesterov else b
            p[i] = p[i] - lr * d

    @jit
    def _adam(p, grad, m, v, vmax, decay, decoupled, maximize, one_minus_beta1, beta2,
              one_minus_beta2, root_correction2, eps, step_size):
        """Adam in one sweep (AMSGrad when vmax is not empty). ``decay`` is lr * weight_decay
        when ``decoupled`` (AdamW), else weight_decay (0: none).

        The moments and the step are in PyTorch's implementation's order, not the rule's:
        ``m + (g - m) (1 - beta1)``, and ``lr / (1 - beta1**t) * m / (sqrt(v) /
        sqrt(1 - beta2**t) + eps)``, two divisions per element instead of the rule's three (the
        sweep is bound by its divisions). It agrees with the rule to rounding, not bit for bit.
        """
        amsgrad = vmax.size > 0
        l2 = decay != 0 and not decoupled
        for i in range(p.size):
            pi = p[i]
            if decoupled:
                pi = pi - decay * pi
            g = -grad[i] if maximize else grad[i]
            if l2:
                g = g + decay * pi
            mi = m[i] + (g - m[i]) * one_minus_beta1
            vi = v[i] * beta2 + g * g * one_minus_beta2
            m[i], v[i] = mi, vi
            if amsgrad:  # NumPy's and PyTorch's maximum: a nan in either gives nan
                w = vmax[i]
                if w > vi or w != w:
                    vi = w
                vmax[i] = vi
            p[i] = pi - mi / (np.sqrt(vi) / root_correction2 + eps) * step_size

    @jit
    def _rmsprop(p, grad, v, g_avg, buf, lr, alpha, one_minus_alpha, eps, weight_decay,
                 momentum, maximize):
        """RMSprop in one sweep: centered when g_avg is not empty, with momentum when buf is not."""
        centered, with_momentum = g_avg.size > 0, buf.size > 0
        decay = weight_decay != 0
        for i in range(p.size):
            g = -grad[i] if maximize else grad[i]
            if decay:
                g = g + weight_decay * p[i]
            vi = alpha * v[i] + one_minus_alpha * (g * g)
            v[i] = vi
            if centered:
                a = alpha * g_avg[i] + one_minus_alpha * g
                g_avg[i] = a
                vi = vi - a * a
            if with_momentum:
                b = momentum * buf[i] + g / (np.sqrt(vi) + eps)
                buf[i] = b
                p[i] = p[i] - lr * b
            else:
                p[i] = p[i] - lr * g / (np.sqrt(vi) + eps)

    @jit
    def _adagrad(p, grad, total, lr, eps, weight_decay, maximize):
        """Adagrad in one sweep; ``lr`` is the step's decayed learning rate."""
        decay = weight_decay != 0
        for i in range(p.size):
            g = -grad[i] if maximize else grad[i]
            if decay:
                g = g + weight_decay * p[i]
            s = total[i] + g * g
            total[i] = s
            p[i] = p[i] - lr * g / (np.sqrt(s) + eps)

    @jit
    def _bias_relu(y, b):
        """y (F, N) = max(y + b[:, None], 0) in place, as NumPy's add and maximum (NaN stays)."""
        f_, n = y.shape
        for i in range(f_):
            bi = b[i]
            for m in range(n):
                v = y[i, m] + bi
                y[i, m] = 0 if v <= 0 else v

    @jit
    def _relu_grad(g, y, out):
        """out = g with 0 where y <= 0, flat (masked: an infinite g gives 0 there, a NaN y
        passes g)."""
        for i in range(out.size):
            out[i] = 0 if y[i] <= 0 else g[i]

    @jit
    def _cross_entropy(z, labels, ignore_index, loss, grad):
        """loss[i] = -log softmax(z[i])[labels[i]] and, when grad is not empty, grad[i] =
        softmax(z[i]) - one_hot(labels[i]), one row at a time; a row of z is shifted by its
        maximum (a NaN one propagates, as in NumPy). Returns the first row whose label is
        ignore_index (the caller's general path handles those), or -1.
        """
        n, c = z.shape
        for i in range(n):
            if labels[i] == ignore_index:
                return i
        with_grad = grad.size > 0
        for i in range(n):
            m = z[i, 0]
            for j in range(1, c):
                v = z[i, j]
                if (v > m or v != v) and m == m:
                    m = v
            s = 0.0  # float64 accumulation
            for j in range(c):
                e = np.exp(z[i, j] - m)
                s += e
                if with_grad:
                    grad[i, j] = e
            label = labels[i]
            loss[i] = np.log(s) - (z[i, label] - m)
            if with_grad:
                for j in range(c):
                    grad[i, j] = grad[i, j] / s
                grad[i, label] -= 1
        return -1

    return {**image_kernels(jit), "adam": _adam, "sgd": _sgd, "rmsprop": _rmsprop,
            "adagrad": _adagrad, "bias_relu": _bias_relu, "relu_grad": _relu_grad,
            "cross_entropy": _cross_entropy}


def loaded() -> bool:
    """Whether numba and the kernels are loaded already (a kernel ran in this process)."""
    return bool(_kernels)


def handles(dtype) -> bool:
    """Whether the kernels take arrays of ``dtype``: float32 and float64 (numba has no float16)."""
    return dtype == np.float32 or dtype == np.float64


def flat(*arrays):
    """1-D views of ``arrays`` for a kernel, or None unless all are C-contiguous NumPy arrays of
    one shape and dtype (a kernel writing into a copy would lose its results)."""
    shape, dtype = arrays[0].shape, arrays[0].dtype
    if dtype != _F32 and dtype != _F64:
        return None
    for a in arrays:
        if (type(a) is not np.ndarray or a.shape != shape or a.dtype != dtype
                or not a.flags.c_contiguous):
            return None
    return [a.ravel() for a in arrays]


_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


_KERNELS = ("col2im", "col2im_crop", "im2col", "convolve_skinny", "route_to_winners", "pool",
            "adam", "sgd", "rmsprop", "adagrad", "bias_relu", "relu_grad", "cross_entropy")
_NUMBA = importlib.util.find_spec("numba") is not None
col2im = col2im_crop = im2col = convolve_skinny = route_to_winners = pool = adam = sgd = None
rmsprop = adagrad = None
bias_relu = relu_grad = cross_entropy = None


def _bind(use: bool) -> None:
    """Point the kernel names at numba's kernels (``use`` and numba installed) or at None.

    Run at import and on every assignment to ``config.jit``, so an op reads one module
    attribute to choose its path.
    """
    names = globals()
    for name in _KERNELS:
        names[name] = _lazy(name) if use and _NUMBA else None


config._on_change("jit", _bind)
_bind(config.jit)
