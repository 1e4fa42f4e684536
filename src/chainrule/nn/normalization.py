"""Normalization layers: BatchNorm1d, BatchNorm2d, BatchNorm3d and LayerNorm, with PyTorch's names
and behaviour.

Batch normalization keeps ``running_mean``, ``running_var`` and ``num_batches_tracked`` as
buffers: in training mode it normalizes with the statistics of the batch and updates the running
ones in place; in evaluation mode it uses the running ones. The state-dict keys match PyTorch's.
"""

from __future__ import annotations

import numbers

from ..autograd.mode import no_grad
from ..backend import get_array_module
from ..ops.normalization import _normalized_shape, batch_norm, layer_norm
from ._checks import float_dtype, positive_int
from .module import Module
from .parameter import Buffer, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm"]


def _check_eps(who, eps):
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or eps < 0:
        raise ValueError(f"{who}: eps must be a non-negative number, got {eps!r}")


class _NormBase(Module):
    """The state shared by batch and instance normalization (PyTorch's ``_NormBase``): the
    per-channel ``weight`` and ``bias``, and with ``track_running_stats`` the buffers
    ``running_mean``, ``running_var`` and ``num_batches_tracked``. Subclasses say which input
    ranks they accept and how they normalize."""

    _ranks: tuple[int, ...] = ()
    _layout = ""
    _version = 2  # PyTorch's: its state dicts' metadata (since num_batches_tracked) says 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, dtype=None,
                 bias: bool = True):
        super().__init__()
        who = type(self).__name__
        self.num_features = positive_int(who, "num_features", num_features)
        _check_eps(who, eps)
        if momentum is not None and (isinstance(momentum, bool)
                                     or not isinstance(momentum, numbers.Real)
                                     or not 0 <= momentum <= 1):
            raise ValueError(
                f"{who}: momentum must be a number in [0, 1] or None, got {momentum!r}"
            )
        dtype = float_dtype(dtype, who)
        xp = get_array_module()  # parameters are made on the CPU; Module.to moves them
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(xp.ones(self.num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if affine and bias:  # PyTorch's bias=False: a scale without a shift
            self.bias = Parameter(xp.zeros(self.num_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        if track_running_stats:
            self.running_mean = Buffer(xp.zeros(self.num_features, dtype=dtype))
            self.running_var = Buffer(xp.ones(self.num_features, dtype=dtype))
            self.num_batches_tracked = Buffer(xp.zeros((), dtype=xp.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked (in place)."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.fill_(0)
                self.running_var.fill_(1)
                self.num_batches_tracked.fill_(0)

    def reset_parameters(self) -> None:
        """Reset the running statistics and set the weight to 1 and the bias to 0 (in place)."""
        self.reset_running_stats()
        if self.affine:
            with no_grad():
                self.weight.fill_(1)
                if self.bias is not None:
                    self.bias.fill_(0)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class _BatchNorm(_NormBase):
    """Batch normalization (PyTorch's ``_BatchNorm``, the base that ``isinstance`` checks for
    "a BatchNorm layer" use: ``BatchNorm1d/2d/3d``, their lazy forms and ``SyncBatchNorm``, not
    the instance norms)."""

    def forward(self, x):
        """Normalize ``x`` per channel (axis 1).

        Args:
            x: input Tensor; see the class for the accepted shapes.

        Returns:
            A Tensor of the shape of ``x``.
        """
        who = type(self).__name__
        if x.ndim not in self._ranks:
            raise ValueError(f"{who}: expected input of shape {self._layout}, got shape {x.shape}")
        # 0: a Lazy one with no state to size (affine=False, track_running_stats=False), which
        # PyTorch leaves at 0 features and runs on any channel count
        if self.num_features and x.shape[1] != self.num_features:
            raise ValueError(
                f"{who}: expected {self.num_features} channels on axis 1, "
                f"got input of shape {x.shape}"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        # a num_batches_tracked set to None (as PyTorch allows) counts nothing
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative average of every batch seen so far
                factor = 1.0 / float(self.num_batches_tracked._data)
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return batch_norm(
            x,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            training=use_batch_stats,
            momentum=factor,
            eps=self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization over a batch of feature vectors or sequences.

    Args:
        num_features: number of channels C.
        eps: added to the variance for numerical stability.
        momentum: weight of each new batch in the running statistics; None means a cumulative
            (equal-weight) average over all batches seen.
        affine: learn a per-channel ``weight`` (init 1) and ``bias`` (init 0).
        track_running_stats: keep running statistics for evaluation; when False the batch statistics
            are used in evaluation mode too.
        dtype: dtype of the parameters and running statistics.

    Shape:
        (N, C) or (N, C, L) -> same

    >>> import chainrule as cr
    >>> from chainrule.nn.normalization import BatchNorm1d
    >>> bn = BatchNorm1d(2)
    >>> y = bn(cr.tensor([[1.0, 2.0], [3.0, 6.0]]))
    >>> bn.running_mean.tolist()
    [0.20000000298023224, 0.4000000059604645]
    """

    _ranks = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization over a batch of images, per channel.

    Args:
        num_features: number of channels C.
        eps: added to the variance for numerical stability.
        momentum: weight of each new batch in the running statistics; None means a cumulative
            (equal-weight) average over all batches seen.
        affine: learn a per-channel ``weight`` (init 1) and ``bias`` (init 0).
        track_running_stats: keep running statistics for evaluation; when False the batch statistics
            are used in evaluation mode too.
        dtype: dtype of the parameters and running statistics.

    Shape:
        (N, C, H, W) -> same
    """

    _ranks = (4,)
    _layout = "(N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalization over a batch of volumes, per channel; arguments as BatchNorm2d.

    Shape:
        (N, C, D, H, W) -> same
    """

    _ranks = (5,)
    _layout = "(N, C, D, H, W)"


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` axes of each sample.

    Args:
        normalized_shape: an int or a tuple, the shape of the trailing axes to normalize over.
        eps: added to the variance for numerical stability.
        elementwise_affine: learn an elementwise ``weight`` (init 1) and, with ``bias``, a ``bias``
            (init 0), both of shape ``normalized_shape``.
        bias: learn the bias (only with ``elementwise_affine``).
        dtype: dtype of the parameters.

    Shape:
        (*, *normalized_shape) -> same

    >>> import chainrule as cr
    >>> from chainrule.nn.normalization import LayerNorm
    >>> LayerNorm(2, eps=0.0)(cr.tensor([[1.0, 3.0]])).tolist()
    [[-1.0, 1.0]]
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, *, dtype=None):
        super().__init__()
        self.normalized_shape = _normalized_shape("LayerNorm", normalized_shape)
        _check_eps("LayerNorm", eps)
        dtype = float_dtype(dtype, "LayerNorm")
        xp = get_array_module()
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(xp.ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = Parameter(xp.zeros(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        """Weight 1 and bias 0 (in place)."""
        _fill_affine(self)

    def forward(self, x):
        """Normalize ``x`` over its trailing ``normalized_shape`` axes."""
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        affine = self.elementwise_affine
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={affine}, "
                f"bias={self.bias is not None}")


def _fill_affine(module) -> None:
    """Weight 1 and bias 0, in place (LayerNorm, GroupNorm; RMSNorm has no bias)."""
    with no_grad():
        if module.weight is not None:
            module.weight.fill_(1)
        if getattr(module, "bias", None) is not None:
            module.bias.fill_(0)
