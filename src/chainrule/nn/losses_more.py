"""PyTorch's ``TripletMarginWithDistanceLoss``, ``MultiLabelMarginLoss`` and the deprecated
``NLLLoss2d`` (``NLLLoss``, which takes (N, C, d1, d2, ...) input, with PyTorch's warning)."""

from __future__ import annotations

import warnings

from ..ops import loss_margin as L  # noqa: N812 - short alias for the op family
from .distance import PairwiseDistance
from .loss import NLLLoss, _Loss

__all__ = ["MultiLabelMarginLoss", "NLLLoss2d", "TripletMarginWithDistanceLoss"]


class TripletMarginWithDistanceLoss(_Loss):
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))`` for a distance function
    ``d`` (default ``pairwise_distance``) (``F.triplet_margin_with_distance_loss``).

    Args:
        distance_function: a function of two Tensors giving their distances, or None.
        margin: the margin, > 0.
        swap: use the smaller of d(anchor, negative) and d(positive, negative).
        reduction: "mean", "sum" or "none".
    """

    def __init__(self, *, distance_function=None, margin: float = 1.0, swap: bool = False,
                 reduction: str = "mean"):
        super().__init__(reduction=reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: margin must be greater than 0, "
                             f"got {margin}")
        # PyTorch's default is a PairwiseDistance module, a child that print(model) shows
        self.distance_function = PairwiseDistance() if distance_function is None else \
            distance_function
        self.margin = margin
        self.swap = swap

    def forward(self, anchor, positive, negative):
        return L.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss between each sample's target classes and its other classes
    (``F.multilabel_margin_loss``); targets list classes, ended by -1."""

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        return L.multilabel_margin_loss(input, target, reduction=self.reduction)


class NLLLoss2d(NLLLoss):
    """PyTorch's deprecated alias of ``NLLLoss`` for (N, C, H, W) input; warns as PyTorch does."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean"):
        warnings.warn("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a "
                      "drop-in replacement and see https://pytorch.org/docs/main/nn.html"
                      "#torch.nn.NLLLoss for more details.", FutureWarning, stacklevel=2)
        super().__init__(weight, size_average, ignore_index, reduce, reduction)
