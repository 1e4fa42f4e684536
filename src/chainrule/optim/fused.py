"""Optional accelerations of the update rules: each rule in one sweep per parameter.

sgd.py, adam.py, rmsprop.py and adagrad.py write their updates as the papers and PyTorch's
documentation do, in array operations: that is the rule, and the reference. An array operation is
one pass over the parameter, so a rule of a dozen operations reads and writes memory a dozen
times. The functions here do the same update in one sweep: a numba kernel (``backend.jit``) on
NumPy arrays, and for Adam a CuPy elementwise kernel (``backend.gpu``) on a GPU.

Without numba (``config.jit`` on), SGD and Adam run their rule in NumPy in place instead, in the
rule's order, into work arrays the optimizer owns (``_sgd_numpy``, ``_adam_numpy``).

Each function returns False, having changed nothing, when it does not take the arrays: no kernel
(``chainrule.config.jit`` or ``config.gpu_kernels`` False, no numba for RMSprop and Adagrad, a
device without one), float16, a gradient or state array of another memory layout. The optimizer
then runs its rule. The numba kernels of SGD, RMSprop and Adagrad do the rule's float operations
in its order with scalars of the arrays' dtype, so they give the same bits; Adam's kernels (numba
and CuPy) take PyTorch's implementation's order, with one division per element fewer than the
rule, and agree with it to rounding. tests/optim/test_fused.py holds each equal to its rule. A
parameter's state (step count, moment arrays) is created here as the rule creates it.

``h`` is the group's hyperparameters as the optimizer's ``_hyper`` reads them (once per group and
step); ``cache`` holds the step's scalars in the arrays' dtype, shared by a group's parameters;
``work`` is the optimizer's own dict of work buffers (``Optimizer._work``). The state holds
Tensors (``_state.py``); the kernels update the arrays they hold, in place.
"""

from __future__ import annotations

import math

from ..autograd import Tensor
from ..backend import GPU_POSSIBLE, config, device_of, get_array_module, gpu, jit
from ._state import adam_state, advance, rmsprop_state, scalar

__all__ = ["adagrad", "adam", "refuse_complex", "rmsprop", "sgd"]


def refuse_complex(group: dict, p: Tensor) -> None:
    """PyTorch's refusal of ``fused=True`` for a complex parameter (its fused SGD, Adam, AdamW
    and Adagrad take floating-point ones only), at the step, as PyTorch's refuses it."""
    if group.get("fused") and p._data.dtype.kind == "c":
        raise RuntimeError("`fused=True` requires all the params to be floating point Tensors, "
                           f"got one of dtype {p._data.dtype}; pass fused=False (or None) for "
                           "complex parameters")


def sgd(param, grad, state: dict, h: tuple, cache: dict, work: dict) -> bool:
    """SGD's rule (sgd.py) in one sweep, or False."""
    if jit.sgd is None:  # numba missing (the NumPy version below) or config.jit off (the rule)
        return config.jit and _sgd_numpy(param, grad, state, h, work)
    lr, momentum, dampening, weight_decay, nesterov, maximize = h
    buf = state.get("momentum_buffer") if momentum != 0 else None
    first = momentum != 0 and buf is None
    if buf is not None:
        buf = buf._data
    arrays = jit.flat(param, grad) if buf is None else jit.flat(param, grad, buf)
    if arrays is None:
        return False
    if first:  # b = g on the first step: the kernel writes it
        buf = get_array_module(param).empty_like(param)
        state["momentum_buffer"] = Tensor(buf)
        arrays.append(buf.ravel())
    elif buf is None:
        arrays.append(arrays[0][:0])
    scalars = _typed(cache, param.dtype, (lr, momentum, 1 - dampening, weight_decay))
    jit.sgd(*arrays, *scalars, maximize, nesterov, first)
    return True


def adam(param, grad, state: dict, h: tuple, cache: dict, decoupled: bool, work: dict) -> bool:
    """Adam's rule (adam.py; AdamW's when ``decoupled``) in one sweep, or False."""
    lr, beta1, beta2, eps, weight_decay, amsgrad, maximize = h
    on_cpu = not GPU_POSSIBLE or device_of(param) == "cpu"
    if on_cpu and jit.adam is None:  # numba missing (the NumPy version below) or config.jit off
        return config.jit and _adam_numpy(param, grad, state, h, decoupled, work)
    # The state as the rule creates it, so that the rule can take over if no kernel takes it.
    m, v, v_max = adam_state(state, param, amsgrad)
    if on_cpu:
        arrays = jit.flat(param, grad, m, v, param if v_max is None else v_max)
        if arrays is None:
            return False
        if v_max is None:
            arrays[4] = arrays[4][:0]
        t = advance(state)
        scalars = cache.get((t, param.dtype))
        if scalars is None:
            decay = lr * weight_decay if decoupled else weight_decay
            scalars = _typed(cache, (t, param.dtype), (decay, *_adam_constants(h, t)))
        jit.adam(*arrays, scalars[0], decoupled and weight_decay != 0, maximize, *scalars[1:])
        return True
    if not gpu.adam_takes(param, grad, m, v, v_max):
        return False
    t = advance(state)
    # The sign and the weight decay as the rule applies them, then the rest in one launch.
    if decoupled and weight_decay != 0:
        param -= lr * weight_decay * param
    g = -grad if maximize else grad
    if not decoupled and weight_decay != 0:
        g = g + weight_decay * param
    return gpu.adam(param, g, m, v, v_max, *_adam_constants(h, t))


def _adam_constants(h: tuple, t: float) -> tuple:
    """The Adam kernels' scalars at step t, in PyTorch's implementation's order: 1 - beta1,
    beta2, 1 - beta2, sqrt(1 - beta2**t), eps, lr / (1 - beta1**t)."""
    lr, beta1, beta2, eps = h[:4]
    return (1 - beta1, beta2, 1 - beta2, math.sqrt(1 - beta2**t), eps, lr / (1 - beta1**t))


def rmsprop(param, grad, state: dict, h: tuple, cache: dict) -> bool:
    """RMSprop's rule (rmsprop.py) in one sweep, or False."""
    if jit.rmsprop is None:
        return False
    lr, alpha, eps, weight_decay, momentum, centered, maximize = h
    rmsprop_state(state, param, centered, momentum)  # as the rule creates it (it may take over)
    empty = param.ravel()[:0]
    arrays = jit.flat(param, grad, state["square_avg"]._data,
                      state["grad_avg"]._data if centered else param,
                      state["momentum_buffer"]._data if momentum > 0 else param)
    if arrays is None:
        return False
    if not centered:
        arrays[3] = empty
    if momentum <= 0:
        arrays[4] = empty
    advance(state)
    scalars = _typed(cache, param.dtype, (lr, alpha, 1 - alpha, eps, weight_decay, momentum))
    jit.rmsprop(*arrays, *scalars, maximize)
    return True


def adagrad(param, grad, state: dict, h: tuple, cache: dict) -> bool:
    """Adagrad's rule (adagrad.py) in one sweep, or False."""
    if jit.adagrad is None:
        return False
    lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize = h
    if not state:
        state["step"] = scalar(0.0)
        state["sum"] = Tensor(get_array_module(param).full_like(param, initial_accumulator_value))
    arrays = jit.flat(param, grad, state["sum"]._data)
    if arrays is None:
        return False
    t = advance(state)
    lr_t = lr / (1 + (t - 1) * lr_decay)
    scalars = _typed(cache, (t, param.dtype), (lr_t, eps, weight_decay))
    jit.adagrad(*arrays, *scalars, maximize)
    return True


# Without numba (and config.jit on), SGD and Adam, the optimizers of the benchmarks and the CLI,
# run their rule in NumPy in the rule's order, the same bits, but writing every intermediate into
# work arrays the optimizer owns instead of fresh arrays: fresh arrays of a parameter's size cost
# more in page faults than the arithmetic (docs/performance.md).


def _sgd_numpy(param, grad, state, h, work) -> bool:
    """SGD's rule in place: NumPy operations into two work arrays, in the rule's order."""
    if device_of(param) != "cpu":
        return False
    lr, momentum, dampening, weight_decay, nesterov, maximize = h
    xp = get_array_module(param)
    w0, w1 = _work_arrays(work, param, 2)
    g = grad
    if maximize:
        g = xp.negative(grad, out=w0)
    if weight_decay != 0:
        g = xp.add(g, xp.multiply(weight_decay, param, out=w1), out=w0)  # g + weight_decay * p
    d = g
    if momentum != 0:
        b = state.get("momentum_buffer")
        if b is None:
            b = xp.array(g)
            state["momentum_buffer"] = Tensor(b)
        else:
            b = b._data
            b *= momentum
            if dampening == 0:
                b += g  # (1 - 0) * g is g exactly
            else:
                b += xp.multiply(1 - dampening, g, out=w1)
        d = xp.add(g, xp.multiply(momentum, b, out=w1), out=w1) if nesterov else b
    param -= xp.multiply(lr, d, out=w1)
    return True


def _adam_numpy(param, grad, state, h, decoupled, work) -> bool:
    """Adam's rule in place: NumPy operations into two work arrays, in the rule's order."""
    if device_of(param) != "cpu":
        return False
    lr, beta1, beta2, eps, weight_decay, amsgrad, maximize = h
    xp = get_array_module(param)
    m, v, v_max = adam_state(state, param, amsgrad)
    t = advance(state)
    w0, w1 = _work_arrays(work, param, 2)

    if decoupled and weight_decay != 0:
        param -= xp.multiply(lr * weight_decay, param, out=w0)
    g = xp.negative(grad, out=w1) if maximize else grad
    if not decoupled and weight_decay != 0:
        g = xp.add(g, xp.multiply(weight_decay, param, out=w0), out=w1)
    m *= beta1
    m += xp.multiply(1 - beta1, g, out=w0)
    v *= beta2
    v += xp.multiply(1 - beta2, xp.square(g, out=w0), out=w0)
    m_hat = xp.divide(m, 1 - beta1**t, out=w0)
    if amsgrad:
        xp.maximum(v_max, v, out=v_max)
        v = v_max
    v_hat = xp.divide(v, 1 - beta2**t, out=w1)
    denominator = xp.add(xp.sqrt(v_hat, out=w1), eps, out=w1)
    param -= xp.divide(xp.multiply(lr, m_hat, out=w0), denominator, out=w0)
    return True


def _work_arrays(work: dict, param, n: int) -> list:
    """``n`` arrays of ``param``'s shape, views of the optimizer's work buffer for its dtype (as
    large as n times its largest parameter so far)."""
    size = param.size
    buf = work.get(param.dtype)
    if buf is None or buf.size < n * size:
        buf = work[param.dtype] = get_array_module(param).empty(n * size, param.dtype)
    return [buf[i * size:(i + 1) * size].reshape(param.shape) for i in range(n)]


def _typed(cache: dict, key, values: tuple) -> tuple:
    """``values`` as scalars of the dtype in ``key`` (a dtype, or a (step, dtype) pair), cached.

    The rule's array operations turn a Python float into the array's dtype before using it (NumPy
    casts a Python scalar to the array's type), so the kernels take the same rounded values.
    """
    typed = cache.get(key)
    if typed is None:
        dtype = key[1] if isinstance(key, tuple) else key
        typed = cache[key] = tuple(dtype.type(x) for x in values)
    return typed
