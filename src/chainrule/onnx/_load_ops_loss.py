"""ONNX's loss operators, which PyTorch exports ``F.cross_entropy`` and ``F.nll_loss`` as:
NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (``reduction``, ``ignore_index``, class
weights; inputs (N, C) or (N, C, d1, ...))."""

from __future__ import annotations

from .. import ops
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._load_ops import op

__all__: list[str] = []


def _loss_check(attrs, n_inputs, used, opset):
    reduction = attrs.get("reduction", "mean")
    return None if reduction in ("none", "sum", "mean") else f"reduction={reduction!r}"


def _nll(attrs, log_prob, target, weight):
    """-log_prob at each target class, weighted; ignored targets count 0 (and do not count in a
    mean, which divides by the sum of the weights of the targets kept)."""
    if log_prob.ndim < 2 or target.shape != log_prob.shape[:1] + log_prob.shape[2:]:
        raise ValueError(f"NegativeLogLikelihoodLoss: input of shape {tuple(log_prob.shape)} "
                         f"needs target of shape (N, d1, ...), got {tuple(target.shape)}")
    t = target._data.astype("int64")
    xp = get_array_module(t)
    ignore = attrs.get("ignore_index")
    kept = xp.ones(t.shape, bool) if ignore is None else t != ignore
    n_classes = log_prob.shape[1]
    safe = xp.where(kept, t, 0)
    if safe.size and (int(safe.min()) < 0 or int(safe.max()) >= n_classes):
        raise IndexError(f"NegativeLogLikelihoodLoss: a target is outside [0, {n_classes})")
    picked = ops.reshape(ops.gather(log_prob, 1, Tensor(xp.expand_dims(safe, 1))), t.shape)
    w = Tensor(kept.astype(log_prob._data.dtype))
    if weight is not None:
        w = ops.getitem(weight, Tensor(safe)) * w
    loss = -picked * w
    reduction = attrs.get("reduction", "mean")
    if reduction == "none":
        return loss
    if reduction == "sum":
        return ops.sum(loss)
    return ops.sum(loss) / ops.sum(w)


@op("NegativeLogLikelihoodLoss", check=_loss_check)
def _negative_log_likelihood(ctx, attrs, log_prob, target, weight=None):
    return _nll(attrs, log_prob, target, weight)


@op("SoftmaxCrossEntropyLoss", check=_loss_check)
def _softmax_cross_entropy(ctx, attrs, scores, labels, weights=None):
    """The loss and (a second output) the log-probabilities, log_softmax over axis 1."""
    log_prob = ops.log_softmax(scores, axis=1)
    return _nll(attrs, log_prob, labels, weights), log_prob
