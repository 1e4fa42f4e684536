"""PyTorch's neural-network functions at the top level (``torch.conv2d``, ``torch.batch_norm``...).

Each is the ``nn.functional`` function of the same name called with PyTorch's top-level argument
order, which sometimes differs from ``F``'s: ``torch.batch_norm(input, weight, bias, running_mean,
running_var, training, momentum, eps, cudnn_enabled)`` has no defaults and the affine parameters
first, ``torch.dropout(input, p, train)`` takes ``train`` positionally, ``torch.embedding(weight,
indices)`` takes the table first, ``torch.max_pool1d`` returns no indices and
``torch.adaptive_max_pool1d`` always does. The ``cudnn_enable(d)`` switches are accepted and change
nothing. The losses, grid sampling and recurrent cells are in ``_toplevel_more``.
"""

from __future__ import annotations

import numbers

from ..autograd.inplace_record import change
from ..autograd.tensor import Tensor
from ..ops.dropout import _check as _check_dropout
from ..ops.dropout import _masked
from . import functional as F  # noqa: N812 - the conventional alias
from .embedding import embedding_renorm_ as _embedding_renorm

__all__ = [
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "alpha_dropout", "avg_pool1d", "batch_norm",
    "celu", "channel_shuffle", "constant_pad_nd", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
    "conv_transpose2d", "conv_transpose3d", "convolution", "cosine_similarity", "dropout",
    "embedding", "feature_alpha_dropout", "feature_dropout", "group_norm", "hardshrink",
    "instance_norm", "layer_norm", "max_pool1d", "max_pool1d_with_indices", "max_pool2d",
    "max_pool3d", "native_channel_shuffle", "pairwise_distance", "pixel_shuffle",
    "pixel_unshuffle", "prelu", "rms_norm", "rrelu", "selu", "threshold",
    "alpha_dropout_", "dropout_", "feature_alpha_dropout_", "feature_dropout_",
    "conv_tbc", "embedding_renorm_",
]


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """``F.conv1d``."""
    return F.conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv_tbc(input, weight, bias, pad=0):  # noqa: A002
    """``F.conv_tbc``: a 1-D convolution of (time, batch, channels) input."""
    return F.conv_tbc(input, weight, bias, pad)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """``F.conv2d``."""
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """``F.conv3d``."""
    return F.conv3d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    """``F.conv_transpose1d``."""
    return F.conv_transpose1d(input, weight, bias, stride, padding, output_padding, groups,
                              dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    """``F.conv_transpose2d``."""
    return F.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                              dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    """``F.conv_transpose3d``."""
    return F.conv_transpose3d(input, weight, bias, stride, padding, output_padding, groups,
                              dilation)


_CONV = {1: conv1d, 2: conv2d, 3: conv3d}
_CONV_T = {1: conv_transpose1d, 2: conv_transpose2d, 3: conv_transpose3d}


def convolution(input, weight, bias, stride, padding, dilation, transposed,  # noqa: A002
                output_padding, groups):
    """PyTorch's generic ``torch.convolution``: the 1-, 2- or 3-D (transposed when
    ``transposed``) convolution that the filter ``weight`` (out, in/groups, *kernel) implies.
    A non-zero ``output_padding`` of a convolution that is not transposed is an error, as in
    PyTorch (whose forward pass ignores it and whose backward pass refuses it)."""
    nd = len(weight.shape) - 2 if hasattr(weight, "shape") else 0
    if nd not in _CONV:
        got = tuple(weight.shape) if hasattr(weight, "shape") else type(weight).__name__
        raise ValueError(f"convolution: weight must be 3-D, 4-D or 5-D (out, in/groups, *kernel), "
                         f"got {got}")
    if transposed:
        return _CONV_T[nd](input, weight, bias, stride, padding, output_padding, groups, dilation)
    pads = output_padding if isinstance(output_padding, (tuple, list)) else (output_padding,)
    if any(pads):
        raise ValueError(f"convolution: output_padding is for transposed=True only, got "
                         f"{output_padding!r}")
    return _CONV[nd](input, weight, bias, stride, padding, dilation, groups)


def constant_pad_nd(input, pad, value=0):  # noqa: A002
    """``F.pad(input, pad, "constant", value)``: ``pad`` is (left, right) of the last axis first."""
    return F.pad(input, tuple(pad), "constant", value)


def _stride(stride):
    """PyTorch's top-level pools take ``stride=()`` (or None) for "the kernel size"."""
    return None if stride is None or (isinstance(stride, (tuple, list)) and not stride) else stride


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True):
    """``F.avg_pool1d``."""
    return F.avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode, count_include_pad)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False):
    """``F.max_pool1d`` (no ``return_indices`` here: see ``max_pool1d_with_indices``)."""
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False):
    """``F.max_pool2d`` without indices."""
    return F.max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False):
    """``F.max_pool3d`` without indices."""
    return F.max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0,  # noqa: A002
                            dilation=1, ceil_mode=False):
    """``F.max_pool1d(..., return_indices=True)``: the pair (output, indices)."""
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode, True)


def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    """``F.adaptive_avg_pool1d``."""
    return F.adaptive_avg_pool1d(input, output_size)


def adaptive_max_pool1d(input, output_size):  # noqa: A002
    """``F.adaptive_max_pool1d(..., return_indices=True)``: always the pair (output, indices)."""
    return F.adaptive_max_pool1d(input, output_size, True)


def batch_norm(input, weight, bias, running_mean, running_var, training,  # noqa: A002
               momentum, eps, cudnn_enabled):
    """``F.batch_norm`` with PyTorch's top-level order (affine parameters before the running
    statistics, no defaults); ``cudnn_enabled`` is accepted and ignored."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05,  # noqa: A002
               cudnn_enable=True):
    """``F.layer_norm``; ``cudnn_enable`` is accepted and ignored."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05,  # noqa: A002
               cudnn_enabled=True):
    """``F.group_norm``; ``cudnn_enabled`` is accepted and ignored."""
    return F.group_norm(input, num_groups, weight, bias, eps)


def instance_norm(input, weight, bias, running_mean, running_var,  # noqa: A002
                  use_input_stats, momentum, eps, cudnn_enabled):
    """``F.instance_norm`` with PyTorch's top-level order, as ``batch_norm``."""
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                           momentum, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):  # noqa: A002
    """``F.rms_norm``."""
    return F.rms_norm(input, normalized_shape, weight, eps)


def _train(op, train):
    if not isinstance(train, (bool, numbers.Integral)):
        raise TypeError(f"{op}: train must be True or False, got {train!r}")
    return bool(train)


def dropout(input, p, train):  # noqa: A002
    """``F.dropout(input, p, training=train)``; the mask comes from the default generator."""
    return F.dropout(input, p, _train("dropout", train))


def alpha_dropout(input, p, train):  # noqa: A002
    """``F.alpha_dropout(input, p, training=train)``."""
    return F.alpha_dropout(input, p, _train("alpha_dropout", train))


def feature_dropout(input, p, train):  # noqa: A002
    """Dropout of whole channels of (N, C, *) input: one draw per (sample, channel), shared over
    the other axes, the kept ones scaled by 1 / (1 - p) (``F.dropout1d/2d/3d`` for any rank)."""
    _check_dropout("feature_dropout", p, None)
    if not isinstance(input, Tensor) or input.ndim < 2:
        got = tuple(input.shape) if hasattr(input, "shape") else type(input).__name__
        raise ValueError(f"feature_dropout: input must be a Tensor (N, C, *) with at least 2 "
                         f"axes, got {got}")
    if not _train("feature_dropout", train) or p == 0:
        return input
    return _masked(input, p, tuple(input.shape[:2]) + (1,) * (input.ndim - 2), None)


def feature_alpha_dropout(input, p, train):  # noqa: A002
    """``F.feature_alpha_dropout(input, p, training=train)``."""
    return F.feature_alpha_dropout(input, p, _train("feature_alpha_dropout", train))


def _in_place(name, out_of_place):
    def fn(input, p, train):  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor (it is changed in place), got "
                            f"{type(input).__name__}")
        return change(input, name, lambda x: out_of_place(x, p, train))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"``{out_of_place.__name__}(input, p, train)`` written into ``input`` (recorded "
                  "as the other in-place ops: a leaf that requires grad is refused).")
    return fn


def embedding_renorm_(input, indices, max_norm, norm_type):  # noqa: A002
    """Scale the rows ``indices`` of ``input`` down to ``max_norm``, in place (what
    ``Embedding(max_norm=)`` does before each lookup; see ``nn.embedding``)."""
    return _embedding_renorm(input, indices, max_norm, norm_type)


dropout_ = _in_place("dropout_", dropout)
alpha_dropout_ = _in_place("alpha_dropout_", alpha_dropout)
feature_dropout_ = _in_place("feature_dropout_", feature_dropout)
feature_alpha_dropout_ = _in_place("feature_alpha_dropout_", feature_alpha_dropout)


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """The rows of ``weight`` at ``indices``, PyTorch's top-level order (table first); a negative
    ``padding_idx`` (the default -1) means none, as in ``torch.embedding``."""
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, numbers.Integral):
        raise TypeError(f"embedding: padding_idx must be an int (negative: none), got "
                        f"{padding_idx!r}")
    return F.embedding(indices, weight, padding_idx if padding_idx >= 0 else None, None, 2.0,
                       scale_grad_by_freq, sparse)


def cosine_similarity(x1, x2, dim=1, eps=1e-08):
    """``F.cosine_similarity``."""
    return F.cosine_similarity(x1, x2, dim, eps)


def pairwise_distance(x1, x2, p=2.0, eps=1e-06, keepdim=False):
    """``F.pairwise_distance``."""
    return F.pairwise_distance(x1, x2, p, eps, keepdim)


def pixel_shuffle(input, upscale_factor):  # noqa: A002
    """``F.pixel_shuffle``."""
    return F.pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input, downscale_factor):  # noqa: A002
    """``F.pixel_unshuffle``."""
    return F.pixel_unshuffle(input, downscale_factor)


def channel_shuffle(input, groups):  # noqa: A002
    """``F.channel_shuffle``."""
    return F.channel_shuffle(input, groups)


def native_channel_shuffle(input, groups):  # noqa: A002
    """``F.channel_shuffle`` (PyTorch's name for its kernel without a CPU fast path)."""
    return F.channel_shuffle(input, groups)


def prelu(input, weight):  # noqa: A002
    """``F.prelu``."""
    return F.prelu(input, weight)


def selu(input):  # noqa: A002
    """``F.selu``."""
    return F.selu(input)


def celu(input, alpha=1.0):  # noqa: A002
    """``F.celu``."""
    return F.celu(input, alpha)


def rrelu(input, lower=0.125, upper=0.3333333333333333, training=False,  # noqa: A002
          generator=None):
    """``F.rrelu``; ``generator`` (a ``chainrule.Generator`` or any ``numpy.random.Generator``)
    draws the slopes, None the default generator."""
    return F.rrelu(input, lower, upper, training, rng=generator)


def threshold(input, threshold, value):  # noqa: A002
    """``F.threshold``."""
    return F.threshold(input, threshold, value)


def hardshrink(input, lambd=0.5):  # noqa: A002
    """``F.hardshrink``."""
    return F.hardshrink(input, lambd)
