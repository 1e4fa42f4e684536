"""PyTorch's ``nn.CTCLoss``: the options of ``chainrule.ops.ctc.ctc_loss``, held by a module."""

from __future__ import annotations

from ..ops.ctc import ctc_loss
from .loss import _Loss

__all__ = ["CTCLoss"]


class CTCLoss(_Loss):
    """Connectionist temporal classification loss (``F.ctc_loss``).

    Args:
        blank: the blank class.
        reduction: "mean" (each loss divided by its target length, then the batch mean), "sum"
            or "none".
        zero_infinity: 0 (and no gradient) for samples no alignment fits, instead of inf.

    Shape:
        log_probs (T, N, C), targets (N, S) or 1-D concatenated, input_lengths (N,),
        target_lengths (N,) -> scalar, or (N,) for "none".

    >>> import chainrule as cr
    >>> lp = cr.tensor([[[0.0, -50.0]], [[-50.0, 0.0]]])  # frame 0: blank, frame 1: class 1
    >>> round(CTCLoss()(lp, [[1]], [2], [1]).item(), 6)
    0.0
    """

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                        self.reduction, self.zero_infinity)
