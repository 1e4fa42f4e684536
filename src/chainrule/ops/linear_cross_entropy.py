"""PyTorch 2.13's ``F.linear_cross_entropy``: the cross entropy of ``linear(input, weight)``.

PyTorch can compute it in chunks of the classes (``options``) so that the (N, C) logits of a large
vocabulary never exist at once; the value is that of its reference implementation, the linear
map followed by ``cross_entropy``, which is what this computes (``options`` is accepted and the
logits are formed whole). Both steps are differentiable ops, so it differentiates twice.
"""

from __future__ import annotations

import math

from ..autograd.tensor import Tensor
from ._classification import _float_tensor, cross_entropy
from .linalg import linear
from .shape import reshape

__all__ = ["linear_cross_entropy"]


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None,  # noqa: A002
                         weight=None, reduction: str = "mean", ignore_index=None,
                         label_smoothing: float = 0.0, options=None) -> Tensor:
    """``cross_entropy(linear(input, linear_weight) + linear_bias, target, ...)``.

    Args:
        input: samples (N, in_features), or one sample (in_features,).
        linear_weight: (C, in_features), or (C, d1, ..., dK, in_features) for a K-dimensional
            loss (logits (N, C, d1, ..., dK), one projection per position; needs batched input).
        target: class labels (N,) / (N, d1, ..., dK) (0-d unbatched), or class probabilities of
            the logits' shape.
        linear_bias: (C,) or (C, d1, ..., dK), or None.
        weight, reduction, label_smoothing: as in ``cross_entropy``.
        ignore_index: as in ``cross_entropy``; None is -100 for labels and must be None with
            class probabilities, as PyTorch.
        options: PyTorch's chunking options; accepted, with no effect on the value.
    """
    op = "linear_cross_entropy"
    x = _float_tensor(op, "input", input)
    w = _float_tensor(op, "linear_weight", linear_weight)
    if x.ndim not in (1, 2):
        raise ValueError(f"{op}: input must be (N, in_features) or (in_features,), got shape "
                         f"{tuple(x.shape)}")
    if w.ndim < 2 or w.shape[-1] != x.shape[-1]:
        raise ValueError(f"{op}: linear_weight must be (C, ..., in_features) with "
                         f"in_features={x.shape[-1]} as input's last axis, got shape "
                         f"{tuple(w.shape)}")
    classes, positions = w.shape[0], tuple(w.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (classes, *positions):
        raise ValueError(f"{op}: linear_bias must have shape {(classes, *positions)}, got "
                         f"{tuple(linear_bias.shape)}")
    if positions and x.ndim == 1:
        raise ValueError(f"{op}: a K-dimensional loss (linear_weight {tuple(w.shape)}) needs "
                         f"batched input (N, {x.shape[-1]}), got shape {tuple(x.shape)}")
    logits_shape = (*x.shape[:-1], classes, *positions)
    if tuple(getattr(target, "shape", ())) == logits_shape and ignore_index is not None:
        raise ValueError(f"{op}: ignore_index must be None with class probabilities (a target of "
                         f"the logits' shape {logits_shape}), got {ignore_index!r}")
    flat = reshape(w, (math.prod(w.shape[:-1]), x.shape[-1]))
    bias = None if linear_bias is None else reshape(linear_bias, (flat.shape[0],))
    logits = reshape(linear(x, flat, bias), logits_shape)
    return cross_entropy(logits, target, weight, reduction=reduction,
                         ignore_index=-100 if ignore_index is None else ignore_index,
                         label_smoothing=label_smoothing)
