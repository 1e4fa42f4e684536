"""PyTorch 2.13's ``nn.LinearCrossEntropyLoss``: a ``Linear`` layer and ``cross_entropy`` of its
output in one criterion (``F.linear_cross_entropy``)."""

from __future__ import annotations

import math
import numbers

from ..ops.linear_cross_entropy import linear_cross_entropy
from ..ops.shape import reshape
from .linear import Linear
from .loss import _Loss

__all__ = ["LinearCrossEntropyLoss"]


class LinearCrossEntropyLoss(_Loss):
    """Cross entropy of ``linear(input)`` and the target, as PyTorch's.

    Args:
        in_features: size of each input sample.
        num_classes: the number of classes C.
        out_features: (d1, ..., dK) for a K-dimensional loss: logits (N, C, d1, ..., dK), each
            position with its own projection.
        bias: whether the linear map has a bias.
        dtype, device, rng: of the linear layer's parameters (``rng``: its initial weights).
        reduction, weight, ignore_index, label_smoothing, options: as in
            ``F.linear_cross_entropy`` (``weight`` a buffer of shape (C,), in the state dict).

    The linear layer ``self.linear`` holds a (C * d1 * ... * dK, in_features) weight (PyTorch's
    layout and state-dict keys), reshaped for each call.
    """

    def __init__(self, in_features: int, num_classes: int, *, out_features=(),
                 bias: bool = False, device=None, dtype=None, reduction: str = "mean", weight=None,
                 ignore_index=None, label_smoothing: float = 0.0, options=None, rng=None):
        if weight is not None and tuple(weight.shape) != (num_classes,):
            raise ValueError(f"LinearCrossEntropyLoss: weight must have shape ({num_classes},),"
                             f" got {tuple(weight.shape)}")
        if (not isinstance(label_smoothing, numbers.Real) or isinstance(label_smoothing, bool)
                or not 0 <= label_smoothing <= 1):
            raise ValueError(f"LinearCrossEntropyLoss: label_smoothing must be in [0, 1], got "
                             f"{label_smoothing!r}")
        super().__init__(reduction=reduction)
        self.register_buffer("weight", weight)
        self.num_classes = num_classes
        self.out_features = tuple(out_features)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.linear = Linear(in_features, math.prod(self.out_features, start=num_classes),
                             bias=bias, device=device, dtype=dtype, rng=rng)
        self.options = options

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        shape = (self.num_classes, *self.out_features)
        bias = None if self.linear.bias is None else reshape(self.linear.bias, shape)
        return linear_cross_entropy(
            input, reshape(self.linear.weight, (*shape, self.linear.in_features)), target,
            linear_bias=bias, weight=self.weight, reduction=self.reduction,
            ignore_index=self.ignore_index, label_smoothing=self.label_smoothing,
            options=self.options)

    def extra_repr(self) -> str:
        return (f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
                f"out_features={self.out_features}, bias={self.linear.bias is not None}, "
                f"reduction={self.reduction}, ignore_index={self.ignore_index}, "
                f"label_smoothing={self.label_smoothing}, options={self.options}")
