"""GroupNorm, InstanceNorm1d/2d and RMSNorm, with PyTorch's names, defaults and state-dict keys.

The formulas are in ``ops/group_norm.py``. InstanceNorm shares BatchNorm's bookkeeping (its
``affine`` parameters and, with ``track_running_stats``, the running buffers: their common base
``_NormBase``, as in PyTorch, where an instance norm is no ``_BatchNorm``), with PyTorch's
defaults for instance normalization: no affine parameters and no running statistics.
"""

from __future__ import annotations

import warnings

from ..backend import get_array_module
from ..ops.group_norm import group_norm, instance_norm, rms_norm
from ..ops.normalization import _normalized_shape
from ..ops.shape import squeeze, unsqueeze
from ._checks import float_dtype, positive_int
from .module import Module
from .normalization import _check_eps, _fill_affine, _NormBase
from .parameter import Parameter

__all__ = ["GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm"]


class GroupNorm(Module):
    """Group normalization (Wu & He 2018): each sample's channels standardized in
    ``num_groups`` groups, then a per-channel ``weight`` (init 1) and ``bias`` (init 0).

    Shape: (N, C, *) -> same.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, *, dtype=None, bias: bool = True):
        super().__init__()
        who = "GroupNorm"
        self.num_groups = positive_int(who, "num_groups", num_groups)
        self.num_channels = positive_int(who, "num_channels", num_channels)
        if self.num_channels % self.num_groups:
            raise ValueError(f"{who}: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        _check_eps(who, eps)
        dtype = float_dtype(dtype, who)
        xp = get_array_module()
        self.eps, self.affine = eps, affine
        if affine:
            self.weight = Parameter(xp.ones(self.num_channels, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if affine and bias:
            self.bias = Parameter(xp.zeros(self.num_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        """Weight 1 and bias 0 (in place), as PyTorch's."""
        _fill_affine(self)

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected input of shape (N, {self.num_channels}, *), "
                             f"got {x.shape}")
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(_NormBase):
    """Instance normalization: each channel of each sample standardized over its positions."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, *, dtype=None,
                 bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype=dtype,
                         bias=bias)

    def forward(self, x):
        who = type(self).__name__
        batched = x.ndim == self._ranks[0]
        if x.ndim not in self._ranks:
            raise ValueError(f"{who}: expected input of shape {self._layout}, got {x.shape}")
        if not batched:
            x = unsqueeze(x, 0)
        if (self.affine or self.track_running_stats) and x.shape[1] != self.num_features:
            raise ValueError(f"{who}: expected {self.num_features} channels, got input of "
                             f"shape {x.shape}")
        if x.shape[1] != self.num_features:  # PyTorch's warning: num_features is not used
            warnings.warn(f"input's size at dim={int(batched)} does not match num_features. You "
                          "can silence this warning by not passing in num_features, which is "
                          "not used because affine=False", UserWarning, stacklevel=2)
        # PyTorch's instance norm keeps num_batches_tracked at 0, and momentum=None leaves the
        # running statistics as they are (a momentum of 0).
        factor = 0.0 if self.momentum is None else self.momentum
        use_input_stats = self.training or not self.track_running_stats
        track = self.track_running_stats
        y = instance_norm(x, self.running_mean if track else None,
                          self.running_var if track else None, self.weight, self.bias,
                          use_input_stats, factor, self.eps)
        return y if batched else squeeze(y, 0)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) sequences, or one (C, L) sequence."""

    _ranks = (3, 2)
    _layout = "(N, C, L) or (C, L)"


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) images (style transfer's), or one (C, H, W)."""

    _ranks = (4, 3)
    _layout = "(N, C, H, W) or (C, H, W)"


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of (N, C, D, H, W) volumes, or one (C, D, H, W)."""

    _ranks = (5, 4)
    _layout = "(N, C, D, H, W) or (C, D, H, W)"


class RMSNorm(Module):
    """Root-mean-square normalization over the trailing ``normalized_shape`` axes, with an
    elementwise ``weight`` (init 1); ``eps=None`` is the dtype's machine epsilon."""

    def __init__(self, normalized_shape, eps: float | None = None,
                 elementwise_affine: bool = True, *, dtype=None):
        super().__init__()
        self.normalized_shape = _normalized_shape("RMSNorm", normalized_shape)
        if eps is not None:
            _check_eps("RMSNorm", eps)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(get_array_module().ones(
                self.normalized_shape, dtype=float_dtype(dtype, "RMSNorm")))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        """Weight 1 (in place), as PyTorch's."""
        _fill_affine(self)

    def forward(self, x):
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
