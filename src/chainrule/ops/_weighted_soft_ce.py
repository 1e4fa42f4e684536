"""Cross entropy of class probabilities with a class weight that requires grad.

PyTorch computes cross entropy with a probability target by ordinary ops, so a weight that
requires grad (learned class weights) gets its gradient there; with class labels PyTorch refuses
one. The fused ``CrossEntropy`` takes its weight as a constant, so this case is composed of
recorded ops instead: ``-sum_c w_c q_c log softmax(z)_c`` per sample, q smoothed as there.
"""

from __future__ import annotations

import math

from ..autograd.tensor import Tensor
from .reduce import mean as _mean
from .reduce import sum as _sum
from .shape import reshape
from .softmax import log_softmax

__all__ = ["weighted_soft_cross_entropy"]


def weighted_soft_cross_entropy(z, q, weight, axis, reduction, smoothing) -> Tensor:
    """The loss of logits ``z`` and probabilities ``q`` (checked by the caller) along ``axis``
    with the class weight Tensor ``weight`` (C,), reduced over the samples."""
    n = z.shape[axis]
    if smoothing:
        q = q * (1 - smoothing) + smoothing / n
    w = reshape(weight, tuple(n if i == axis else 1 for i in range(z.ndim)))
    loss = -_sum(log_softmax(z, axis=axis) * q * w, axis)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return _sum(loss)
    return _sum(loss) * math.nan if loss.numel() == 0 else _mean(loss)  # no samples: NaN
