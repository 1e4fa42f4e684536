"""Utilities of ``torch.nn.utils``: gradient clipping (``clip_grad``), parameters as one vector
(``convert_parameters``), the weight and spectral normalizations (``weight_norm``,
``spectral_norm``), BatchNorm folding (``fusion``), ``stateless.functional_call``,
``parametrize`` and ``parametrizations`` (orthogonal, weight_norm, spectral_norm); ``rnn`` holds
``pad_sequence`` and the packing of sequences; ``prune`` the pruning masks of
``torch.nn.utils.prune``.
"""

from __future__ import annotations

from . import parametrizations, parametrize, prune, rnn, stateless
from .clip_grad import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .fusion import (
    fuse_conv_bn_eval,
    fuse_conv_bn_weights,
    fuse_linear_bn_eval,
    fuse_linear_bn_weights,
)
from .module_utils import (
    clip_grad_norm,
    convert_conv2d_weight_memory_format,
    convert_conv3d_weight_memory_format,
    skip_init,
)
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm

__all__ = [
    "clip_grad_norm", "convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format",
    "skip_init",
    "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "fuse_conv_bn_eval",
    "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights", "get_total_norm",
    "parameters_to_vector", "parametrizations", "parametrize", "prune", "remove_spectral_norm",
    "remove_weight_norm", "rnn", "spectral_norm", "stateless", "vector_to_parameters",
    "weight_norm",
]
