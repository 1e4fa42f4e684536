"""Normalization layers as functions: batch normalization and layer normalization.

Each training-mode normalization is one fused node: its forward makes a few passes over the input
with raw arrays, and its backward is written with chainrule ops (elementwise ops and ``sum_to``), so
it can be differentiated again. Without ``create_graph`` the backward reuses the standardized input
saved by forward; with it, the statistics are rebuilt from the input with recorded ops so that the
second derivative reaches the input through them too. (The fused node runs forward and backward
faster than the same formula composed of ops, each of which would be a node and a pass of its own;
figures in docs/performance.md.)
"""

from __future__ import annotations

import math
import numbers

from ..autograd.function import Function, nondiff
from ..autograd.mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._wide import in_float32
from .shape import reshape, sum_to

__all__ = ["batch_norm", "layer_norm"]


def _standardize(x, stat_shape, count, eps):
    """(x - mean) / sqrt(var + eps) and 1 / sqrt(var + eps) with recorded ops (biased variance)."""
    xc = x - sum_to(x, stat_shape) / count
    rstd = (sum_to(xc * xc, stat_shape) / count + eps) ** -0.5
    return xc * rstd, rstd


def _standardize_arrays(x, axes, eps):
    """The same on raw arrays: (xhat, rstd, mean, biased var), statistics kept with their axes."""
    xp = get_array_module(x)
    mean = x.mean(axis=axes, keepdims=True)
    xc = x - mean
    var = xp.mean(xc * xc, axis=axes, keepdims=True)
    rstd = 1 / xp.sqrt(var + eps)
    xc *= rstd
    return xc, rstd, mean, var


class BatchNorm(Function):
    """Batch normalization with the statistics of the batch, over every axis but the channel axis 1.

    Inputs are ``x`` and, when ``has_weight`` / ``has_bias``, the per-channel weight and bias. When
    ``running`` is ``(running_mean, running_var, momentum)`` the forward pass also updates those
    arrays in place, with the unbiased variance, as PyTorch does.
    """

    def forward(self, x, *affine):
        axes = (0,) + tuple(range(2, x.ndim))
        self.stat_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        self.count = x.size // x.shape[1]
        xhat, rstd, mean, var = _standardize_arrays(x, axes, self.eps)
        if self.running is not None:
            running_mean, running_var, momentum = self.running
            unbiased = var * (self.count / (self.count - 1))
            running_mean *= 1 - momentum
            running_mean += momentum * mean.reshape(-1)
            running_var *= 1 - momentum
            running_var += momentum * unbiased.reshape(-1)
            self.running = None  # the node must not keep the buffers alive
        weight = affine[0] if self.has_weight else None
        bias = affine[-1] if self.has_bias else None
        if weight is None and bias is None:
            return xhat
        y = xhat * weight.reshape(self.stat_shape) if weight is not None else xhat.copy()
        if bias is not None:
            y += bias.reshape(self.stat_shape)
        return y

    def backward(self, g):
        x = self.inputs[0]
        weight = self.inputs[1] if self.has_weight else None
        # Rebuilt from x with recorded ops rather than saved by forward: one backward serves
        # first and higher order, and the node keeps no normalized copy of its input alive.
        xhat, rstd = _standardize(x, self.stat_shape, self.count, self.eps)
        # The weight is constant within a channel, so the sums over the batch that the input
        # gradient needs are the same two sums that give the weight and bias gradients.
        sum_g = sum_to(g, self.stat_shape)
        sum_gx = sum_to(g * xhat, self.stat_shape)
        gx = None
        if self.needs_input_grad[0]:
            scale = rstd if weight is None else rstd * reshape(weight, self.stat_shape)
            gx = scale * (g - (sum_g + xhat * sum_gx) / self.count)
        grads = [gx]
        channels = (self.stat_shape[1],)
        if self.has_weight:
            grads.append(reshape(sum_gx, channels) if self.needs_input_grad[1] else None)
        if self.has_bias:
            grads.append(reshape(sum_g, channels) if self.needs_input_grad[-1] else None)
        return tuple(grads)


class LayerNorm(Function):
    """Layer normalization over the trailing ``len(normalized_shape)`` axes of ``x``."""

    def forward(self, x, *affine):
        k = len(self.normalized_shape)
        axes = tuple(range(x.ndim - k, x.ndim))
        self.stat_shape = x.shape[: x.ndim - k] + (1,) * k
        self.count = 1
        for n in self.normalized_shape:
            self.count *= n
        xhat, rstd, _, _ = _standardize_arrays(x, axes, self.eps)
        weight = affine[0] if self.has_weight else None
        bias = affine[-1] if self.has_bias else None
        if weight is None and bias is None:
            return xhat
        y = xhat * weight if weight is not None else xhat.copy()
        if bias is not None:
            y += bias
        return y

    def backward(self, g):
        x = self.inputs[0]
        weight = self.inputs[1] if self.has_weight else None
        # Rebuilt from x with recorded ops rather than saved by forward: one backward serves
        # first and higher order, and the node keeps no normalized copy of its input alive.
        xhat, rstd = _standardize(x, self.stat_shape, self.count, self.eps)
        grads = [None]
        if self.needs_input_grad[0]:
            gxhat = g if weight is None else g * weight
            mean_g = sum_to(gxhat, self.stat_shape) / self.count
            mean_gx = sum_to(gxhat * xhat, self.stat_shape) / self.count
            grads[0] = rstd * (gxhat - mean_g - xhat * mean_gx)
        if self.has_weight:
            needed = self.needs_input_grad[1]
            grads.append(sum_to(g * xhat, self.normalized_shape) if needed else None)
        if self.has_bias:
            grads.append(sum_to(g, self.normalized_shape) if self.needs_input_grad[-1] else None)
        return tuple(grads)


def _check_float_tensor(op, name, t):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if t.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must have a floating-point dtype, got {t.dtype}")


def _check_param(op, name, t, shape, dtype):
    _check_float_tensor(op, name, t)
    if t.shape != shape:
        raise ValueError(f"{op}: {name} must have shape {shape}, got shape {t.shape}")
    if t.dtype != dtype:
        raise TypeError(f"{op}: {name} has dtype {t.dtype} but the input has dtype {dtype}")


def _buffer_array(op, name, r, channels):
    """The raw array of a running statistic (a Tensor or an array) of shape (C,); it is not
    differentiated, so one that requires grad is refused (as PyTorch's)."""
    if isinstance(r, Tensor) and r.requires_grad and is_grad_enabled():
        raise RuntimeError(f"{op}: not differentiable with respect to {name}, which requires "
                           f"grad (as PyTorch's); pass {name}.detach()")
    data = r._data if isinstance(r, Tensor) else r
    if not hasattr(data, "shape") or data.dtype.kind != "f":
        raise TypeError(
            f"{op}: {name} must be a floating-point Tensor or array, got {type(r).__name__}"
        )
    if data.shape != (channels,):
        raise ValueError(f"{op}: {name} must have shape ({channels},), got shape {data.shape}")
    return data


@in_float32(1, 2, "running_mean", "running_var", float32_params=True)
def batch_norm(input, running_mean=None, running_var=None, weight=None, bias=None,  # noqa: A002
               training=False, momentum=0.1, eps=1e-5):
    """Batch normalization: standardize each channel (axis 1) over the batch and spatial axes.

    In training mode the statistics of this batch are used and, when running statistics are given,
    those are updated in place: ``running = (1 - momentum) * running + momentum * batch_stat``,
    with the unbiased variance for ``running_var`` (as PyTorch). In evaluation mode the running
    statistics are used and the op is an affine map of ``x``.

    Args:
        input: the Tensor ``x`` of shape (N, C) or (N, C, *).
        running_mean, running_var: per-channel running statistics (Tensors or arrays of shape
            (C,)), or None to always use the batch statistics (then ``training`` must be True).
        weight, bias: optional per-channel scale and shift, shape (C,).
        training: use (and track) the batch statistics rather than the running ones.
        momentum: weight of the new batch statistic in the running average.
        eps: added to the variance for numerical stability.

    Returns:
        A Tensor of the shape of ``x``.

    Shape:
        x: (N, C, *) -> (N, C, *)

    >>> import chainrule as cr
    >>> x = cr.tensor([[1.0, 10.0], [3.0, 30.0]])
    >>> cr.ops.batch_norm(x, training=True, eps=0.0).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    """
    op, x = "batch_norm", input
    _check_float_tensor(op, "x", x)
    if x.ndim < 2:
        raise ValueError(f"{op}: x must have shape (N, C) or (N, C, *), got shape {x.shape}")
    channels = x.shape[1]
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None:
            _check_param(op, name, t, (channels,), x.dtype)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var, or neither")
    if not isinstance(eps, numbers.Real) or eps < 0:
        raise ValueError(f"{op}: eps must be a non-negative number, got {eps!r}")
    affine = [t for t in (weight, bias) if t is not None]
    flags = {"has_weight": weight is not None, "has_bias": bias is not None, "eps": eps}
    if training and math.prod(x.shape) == 0:
        # Nothing to normalize (an empty batch, or no positions): an empty result whose weight
        # and bias get zero gradients, and the running statistics unchanged, as in PyTorch.
        xp = get_array_module(x._data)
        return _batch_norm_eval(x, Tensor(xp.zeros(channels, dtype=x.dtype)),
                                Tensor(xp.ones(channels, dtype=x.dtype)), weight, bias, eps)
    if training:
        count = math.prod(x.shape) // channels
        if count <= 1:
            raise ValueError(
                f"{op}: expected more than 1 value per channel when training, "
                f"got input shape {x.shape}"
            )
        running = None
        if running_mean is not None:
            if not isinstance(momentum, numbers.Real) or not 0 <= momentum <= 1:
                raise ValueError(f"{op}: momentum must be a number in [0, 1], got {momentum!r}")
            running = (_buffer_array(op, "running_mean", running_mean, channels),
                       _buffer_array(op, "running_var", running_var, channels), momentum)
        out = BatchNorm.apply(x, *affine, running=running, **flags)
        for r in (running_mean, running_var) if running is not None else ():
            if isinstance(r, Tensor):
                r._mark_changed()  # updated in place (a graph that read it must notice)
        return out
    if running_mean is None:
        raise ValueError(f"{op}: running_mean and running_var are required when training=False")
    mean = _buffer_array(op, "running_mean", running_mean, channels)
    var = _buffer_array(op, "running_var", running_var, channels)
    # The statistics as Tensors (the buffers themselves when given so): a trace reads them anew.
    mean = running_mean if isinstance(running_mean, Tensor) else Tensor(mean)
    var = running_var if isinstance(running_var, Tensor) else Tensor(var)
    return _batch_norm_eval(x, mean, var, weight, bias, eps)


def _batch_norm_eval(x, mean, var, weight, bias, eps):
    """x * scale + shift with per-channel constants: two passes forward, as fast as a fused node.

    ``mean`` and ``var``: the running statistics, Tensors.
    """
    xp = get_array_module(x._data)
    stat_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    dtype = x.dtype
    rstd = nondiff(lambda v: xp.asarray(1 / xp.sqrt(v + eps), dtype=dtype), var)
    mean = nondiff(lambda m: xp.asarray(m, dtype=dtype), mean)
    scale = rstd if weight is None else weight * rstd
    shift = -mean * scale if bias is None else bias - mean * scale
    return x * reshape(scale, stat_shape) + reshape(shift, stat_shape)


@in_float32(float32_params=True)
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Layer normalization: standardize over the trailing ``normalized_shape`` axes of each sample.

    Args:
        input: the Tensor ``x`` whose last axes have shape ``normalized_shape``.
        normalized_shape: an int or a tuple of ints, the shape of the normalized trailing axes.
        weight, bias: optional elementwise scale and shift of shape ``normalized_shape``.
        eps: added to the variance (the biased one, as in PyTorch) for numerical stability.

    Returns:
        A Tensor of the shape of ``x``.

    Shape:
        x: (*, *normalized_shape) -> same

    >>> import chainrule as cr
    >>> cr.ops.layer_norm(cr.tensor([[1.0, 3.0], [2.0, 6.0]]), 2, eps=0.0).tolist()
    [[-1.0, 1.0], [-1.0, 1.0]]
    """
    op, x = "layer_norm", input
    _check_float_tensor(op, "x", x)
    shape = _normalized_shape(op, normalized_shape)
    if x.shape[x.ndim - len(shape):] != shape or x.ndim < len(shape):
        raise ValueError(
            f"{op}: the last axes of x must have normalized_shape {shape}, got x of shape {x.shape}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None:
            _check_param(op, name, t, shape, x.dtype)
    if not isinstance(eps, numbers.Real) or eps < 0:
        raise ValueError(f"{op}: eps must be a non-negative number, got {eps!r}")
    affine = [t for t in (weight, bias) if t is not None]
    return LayerNorm.apply(x, *affine, normalized_shape=shape, eps=eps,
                           has_weight=weight is not None, has_bias=bias is not None)


def _normalized_shape(op, normalized_shape):
    """``normalized_shape`` as a non-empty tuple of positive ints, or a clear error."""
    shape = normalized_shape
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        shape = None
    if (not shape or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0
                             for n in shape)):
        raise ValueError(
            f"{op}: normalized_shape must be a positive int or a non-empty tuple of them, "
            f"got {normalized_shape!r}"
        )
    return tuple(int(n) for n in shape)
