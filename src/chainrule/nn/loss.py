"""Loss modules (PyTorch's ``nn.CrossEntropyLoss``...): each holds its options, calls its function.

``criterion = nn.CrossEntropyLoss(); loss = criterion(logits, target)`` is
``F.cross_entropy(logits, target)``; the options are stored unchanged and shown by ``repr``.
"""

from __future__ import annotations

from ..ops import loss as L  # noqa: N812 - short alias for the op family
from ..ops._loss_args import legacy_reduction
from .module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "L1Loss", "MSELoss",
           "NLLLoss", "SmoothL1Loss"]

class _Loss(Module):
    """PyTorch's base of the loss modules: ``reduction`` stored as given, as PyTorch's, so that a
    subclass may name its own (``super().__init__(reduction="batchmean")``); the built-in losses'
    functions check theirs when called."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):  # PyTorch's order
        super().__init__()
        self.reduction = legacy_reduction(size_average, reduce, reduction)  # PyTorch's deprecated


class _WeightedLoss(_Loss):
    """PyTorch's base of the losses that take per-class weights: ``weight`` is a buffer (in the
    state dict), for the subclasses programs write (``class LabelSmoothing(_WeightedLoss)``)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error ``mean((input - target)^2)`` (``F.mse_loss``)."""

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        return L.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error ``mean(|input - target|)`` (``F.l1_loss``)."""

    def forward(self, input, target):  # noqa: A002
        return L.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Huber loss: squared below ``delta``, linear above (``F.huber_loss``)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):  # noqa: A002
        return L.huber_loss(input, target, self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """Smooth L1: ``huber_loss / beta`` (equal to Huber loss at ``beta=1``, to L1 at ``beta=0``;
    ``F.smooth_l1_loss``)."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 beta: float = 1.0):
        super().__init__(size_average, reduce, reduction)
        if not beta >= 0:
            raise ValueError(f"SmoothL1Loss: beta must be a non-negative number, got {beta!r}")
        self.beta = beta

    def forward(self, input, target):  # noqa: A002
        return L.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class BCELoss(_Loss):
    """Binary cross entropy of probabilities in [0, 1] (``F.binary_cross_entropy``)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)  # in the state dict, as PyTorch's

    def forward(self, input, target):  # noqa: A002
        return L.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross entropy of logits, computed stably (``F.binary_cross_entropy_with_logits``)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)  # both in the state dict, as PyTorch's
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):  # noqa: A002
        return L.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class CrossEntropyLoss(_Loss):
    """Cross entropy of logits and class indices or probabilities (``F.cross_entropy``)."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)  # in the state dict, as PyTorch's
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):  # noqa: A002
        return L.cross_entropy(input, target, weight=self.weight,
                               ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities and class indices (``F.nll_loss``)."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)  # in the state dict, as PyTorch's
        self.ignore_index = ignore_index

    def forward(self, input, target):  # noqa: A002
        return L.nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)
