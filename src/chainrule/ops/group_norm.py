"""Group, instance and RMS normalization (PyTorch's ``group_norm``, ``instance_norm``,
``rms_norm``), built on the layer-normalization node.

Group normalization (Wu & He 2018) standardizes each sample's channels in ``num_groups`` groups:
seen as (N, G, C/G * spatial), that is layer normalization over the last axis, followed by a
per-channel scale and shift. Instance normalization is the case G = C (each channel of each
sample alone); with running statistics it is batch normalization's evaluation formula in eval.
RMS normalization divides by the root mean square, without centring:
``y = x / sqrt(mean(x^2) + eps) * weight``. All are compositions of recorded ops, so they
differentiate to any order.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._wide import in_float32
from .cast import cast
from .math import rsqrt
from .normalization import _check_float_tensor, batch_norm, layer_norm
from .reduce import mean
from .shape import reshape

__all__ = ["group_norm", "instance_norm", "rms_norm"]


def _channel_affine(y, weight, bias):
    """``y * weight + bias`` with one weight and bias per channel (axis 1)."""
    shape = (1, y.shape[1]) + (1,) * (y.ndim - 2)
    if weight is not None:
        y = y * reshape(weight, shape)
    if bias is not None:
        y = y + reshape(bias, shape)
    return y


def _check_channels(op, name, t, c):
    if t is not None and tuple(t.shape) != (c,):
        raise ValueError(f"{op}: {name} must have shape ({c},), one per channel, got "
                         f"{tuple(t.shape)}")


def _check_affine(op, x, weight, bias):
    """weight and bias: one per channel, of the input's dtype (PyTorch's "mixed dtype" refusal;
    a float16 input's float32 ones reach here as float32, ``in_float32``)."""
    for name, t in (("weight", weight), ("bias", bias)):
        _check_channels(op, name, t, x.shape[1])
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"{op}: {name} has dtype {t.dtype} but the input has dtype "
                            f"{x.dtype}; convert one of them")


def _check_eps(op, eps):
    if not isinstance(eps, numbers.Real) or eps < 0:
        raise ValueError(f"{op}: eps must be a non-negative number, got {eps!r}")


@in_float32(float32_params=True)
def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):  # noqa: A002
    """Standardize each sample's channels in ``num_groups`` groups (N, C, *), then scale and
    shift each channel by ``weight`` and ``bias`` (shape (C,))."""
    op = "group_norm"
    _check_float_tensor(op, "input", input)
    if input.ndim < 2:
        raise ValueError(f"{op}: expects input of shape (N, C, *), got {input.shape}")
    n, c = input.shape[:2]
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral) or (
            num_groups <= 0 or c % num_groups):
        raise ValueError(f"{op}: num_groups must be a positive int dividing the {c} channels, "
                         f"got {num_groups!r}")
    _check_affine(op, input, weight, bias)
    _check_eps(op, eps)
    per_group = input._data.size // max(n * num_groups, 1)
    if n * per_group == 1:  # PyTorch's check: one value, normalized to 0 whatever it is
        raise ValueError(f"{op}: expected more than 1 value per group, got input shape "
                         f"{input.shape} with num_groups={num_groups}")
    if per_group == 0:
        return _channel_affine(input, weight, bias)
    grouped = reshape(input, (n, num_groups, per_group))
    y = reshape(layer_norm(grouped, per_group, eps=eps), input.shape)
    return _channel_affine(y, weight, bias)


@in_float32(1, 2, "running_mean", "running_var", float32_params=True)
def instance_norm(input, running_mean=None, running_var=None, weight=None,  # noqa: A002
                  bias=None, use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5):
    """Standardize each channel of each sample (N, C, *) over its own positions; with
    ``use_input_stats=False``, by ``running_mean``/``running_var`` instead. Running buffers given
    with ``use_input_stats`` are updated in place with the batch's mean instance statistics
    (the variance unbiased), as PyTorch's."""
    op = "instance_norm"
    _check_float_tensor(op, "input", input)
    if input.ndim < 2:  # (N, C) only with running statistics: one position per channel
        raise ValueError(f"{op}: expects input of shape (N, C, *), got {input.shape}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        _check_channels(op, name, t, c)
    _check_eps(op, eps)
    if (running_mean is None) != (running_var is None):  # PyTorch's check
        raise ValueError(f"{op}: give both running_mean and running_var, or neither")
    if use_input_stats:
        _check_affine(op, input, weight, bias)
    else:
        if running_mean is None:
            raise ValueError(f"{op}: use_input_stats=False needs running_mean and running_var")
        return batch_norm(input, running_mean, running_var, weight, bias, training=False,
                          eps=eps)
    if math.prod(input.shape[2:]) == 1:  # PyTorch refuses: every output would be 0 (or bias)
        raise ValueError(f"{op}: expected more than 1 spatial element when using the input's "
                         f"statistics (training, or no running statistics), got input shape "
                         f"{tuple(input.shape)}")
    if running_mean is not None:
        _update_running(input, running_mean, running_var, momentum)
    return group_norm(input, c, weight, bias, eps)


def _update_running(x, running_mean, running_var, momentum):
    """running <- (1 - momentum) running + momentum * (the batch's mean instance statistic)."""
    a = x._data
    if a.size == 0:  # no samples or no positions: no statistics to blend in (as BatchNorm)
        return
    flat = a.reshape(a.shape[0], a.shape[1], -1)
    count = flat.shape[-1]
    xp = get_array_module(a)
    with no_grad():
        if running_mean is not None:
            m = flat.mean(axis=-1).mean(axis=0)
            running_mean.mul_(1 - momentum).add_(Tensor(xp.asarray(m * momentum,
                                                                   running_mean.dtype)))
        if running_var is not None:
            v = flat.var(axis=-1, ddof=1 if count > 1 else 0).mean(axis=0)
            running_var.mul_(1 - momentum).add_(Tensor(xp.asarray(v * momentum,
                                                                  running_var.dtype)))


@in_float32(float32_params=True)
def rms_norm(input, normalized_shape, weight=None, eps=None):  # noqa: A002
    """``input / sqrt(mean(input^2) + eps) * weight`` over the trailing ``normalized_shape``
    axes, of the input's dtype; ``eps=None`` is the machine epsilon of the dtype it computes in
    (float32's for float16), as PyTorch's."""
    op = "rms_norm"
    _check_float_tensor(op, "input", input)
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else tuple(
        normalized_shape)
    if not shape or tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise ValueError(f"{op}: the last axes of input must have normalized_shape {shape}, got "
                         f"input of shape {input.shape}")
    if weight is not None and tuple(weight.shape) != shape:
        raise ValueError(f"{op}: weight must have shape {shape}, got {tuple(weight.shape)}")
    # float16 in float32 where the weight is of another dtype still (the decorator's case is a
    # float32 weight), with float32's epsilon for eps=None, as PyTorch computes float16; the
    # result has the input's dtype whatever the weight's
    x = cast(input, "float32") if input.dtype == "float16" else input
    if eps is None:
        eps = float(get_array_module(x._data).finfo(x.dtype).eps)
    _check_eps(op, eps)
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    y = x * rsqrt(mean(x * x, axis=axes, keepdims=True) + eps)
    y = y if weight is None else y * weight
    return y if y.dtype == input.dtype else cast(y, input.dtype)
