"""Fold an eval-mode BatchNorm into the convolution or linear layer before it, as
``torch.nn.utils.fuse_conv_bn_eval`` / ``fuse_linear_bn_eval``: one layer computing what the
pair computes at inference.

With ``s = gamma / sqrt(running_var + eps)`` per output channel::

    w' = w * s              (each output channel's weights scaled)
    b' = (b - running_mean) * s + beta
"""

from __future__ import annotations

import copy

from ...backend import get_array_module
from ..conv import _ConvNd
from ..linear import Linear
from ..module import Module
from ..normalization import _NormBase
from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]


def _arr(t):
    return None if t is None else getattr(t, "_data", t)


def _fused(weight, fused_w, bias, fused_b) -> tuple[Parameter, Parameter]:
    """The fused arrays as Parameters that require grad where the layer's did (PyTorch's rule:
    a frozen weight stays frozen, and the bias made for a layer without one requires none)."""
    return (Parameter(fused_w, requires_grad=bool(getattr(weight, "requires_grad", True))),
            Parameter(fused_b, requires_grad=bool(getattr(bias, "requires_grad", False))))


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps: float, bn_w, bn_b,
                         transpose: bool = False) -> tuple[Parameter, Parameter]:
    """The fused convolution's (weight, bias) as new Parameters of the weight's (bias's) dtype.

    ``transpose``: the weight is a transposed convolution's, (in, out, *kernel).
    """
    w, rm, rv = _arr(conv_w), _arr(bn_rm), _arr(bn_rv)
    xp = get_array_module(w)
    b = xp.zeros_like(rm) if conv_b is None else _arr(conv_b)
    gamma = xp.ones_like(rm) if bn_w is None else _arr(bn_w)
    beta = xp.zeros_like(rm) if bn_b is None else _arr(bn_b)
    rsqrt = 1 / xp.sqrt(rv + bn_eps)
    shape = (1, -1) if transpose else (-1, 1)
    fused_w = (w * (gamma * rsqrt).reshape(shape + (1,) * (w.ndim - 2))).astype(w.dtype)
    bias_dtype = w.dtype if conv_b is None else b.dtype
    fused_b = ((b - rm) * rsqrt * gamma + beta).astype(bias_dtype)
    return _fused(conv_w, fused_w, conv_b, fused_b)


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps: float, bn_w,
                           bn_b) -> tuple[Parameter, Parameter]:
    """The fused linear layer's (weight, bias) as new Parameters."""
    w, rm, rv = _arr(linear_w), _arr(bn_rm), _arr(bn_rv)
    xp = get_array_module(w)
    b = xp.zeros_like(rm) if linear_b is None else _arr(linear_b)
    gamma = xp.ones_like(rm) if bn_w is None else _arr(bn_w)  # an affine=False BatchNorm
    beta = xp.zeros_like(rm) if bn_b is None else _arr(bn_b)
    scale = gamma / xp.sqrt(rv + bn_eps)
    fused_w = w * scale[..., None].astype(w.dtype)
    bias_dtype = w.dtype if linear_b is None else b.dtype
    fused_b = ((b - rm) * scale + beta).astype(bias_dtype)
    return _fused(linear_w, fused_w, linear_b, fused_b)


def _check(who: str, layer, kind: type, bn) -> None:
    if not isinstance(layer, kind):
        raise TypeError(f"{who}: expected a {kind.__name__.lstrip('_')} layer, got "
                        f"{type(layer).__name__}")
    if not isinstance(bn, _NormBase):
        raise TypeError(f"{who}: bn must be a BatchNorm layer, got {type(bn).__name__}")
    if layer.training or bn.training:
        raise ValueError(f"{who}: fusion is only for eval mode; call .eval() on both layers "
                         f"(training: {type(layer).__name__}={layer.training}, "
                         f"{type(bn).__name__}={bn.training})")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(f"{who}: bn has no running statistics (track_running_stats=False)")


def fuse_conv_bn_eval(conv: Module, bn: Module, transpose: bool = False) -> Module:
    """A new convolution computing ``bn(conv(x))`` of the eval-mode pair (both left as they are).

    Args:
        conv: a convolution in eval mode.
        bn: the BatchNorm after it, in eval mode, with running statistics.
        transpose: ``conv`` is a transposed convolution (its weight is (in, out, ...)).
    """
    _check("fuse_conv_bn_eval", conv, _ConvNd, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias,
        transpose)
    return fused


def fuse_linear_bn_eval(linear: Module, bn: Module) -> Module:
    """A new ``Linear`` computing ``bn(linear(x))`` of the eval-mode pair (both left as they are).

    ``bn.num_features`` must equal ``linear.out_features`` (or be 1).
    """
    who = "fuse_linear_bn_eval"
    _check(who, linear, Linear, bn)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise ValueError(f"{who}: linear.out_features ({linear.out_features}) must equal "
                         f"bn.num_features ({bn.num_features}), or bn.num_features be 1")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
    return fused
