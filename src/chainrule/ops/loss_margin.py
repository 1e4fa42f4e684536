"""Two more of PyTorch's margin losses: ``triplet_margin_with_distance_loss`` (a triplet loss
over any distance function) and ``multilabel_margin_loss`` (a hinge between each sample's target
classes and its other classes). Both are compositions of recorded ops, differentiable again."""

from __future__ import annotations

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._classification import _check_reduction, _float_tensor, _torch_loss_args
from .activation import relu
from .distance import pairwise_distance
from .elementwise import clip, minimum
from .loss_extra import _real, _reduce
from .reduce import sum as _sum
from .shape import reshape, unsqueeze

__all__ = ["multilabel_margin_loss", "triplet_margin_with_distance_loss"]


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))`` for a distance function
    ``d`` of two Tensors (default ``pairwise_distance``, the Euclidean distance along the last
    axis); ``swap`` uses the smaller of d(anchor, negative) and d(positive, negative).

    ``margin`` must be > 0; anchor, positive and negative must have the same number of axes.
    """
    op = "triplet_margin_with_distance_loss"
    _check_reduction(op, reduction)
    margin = _real(op, "margin", margin)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    if distance_function is not None and not callable(distance_function):
        raise TypeError(f"{op}: distance_function must be a function of two Tensors or None, "
                        f"got {type(distance_function).__name__}")
    a = _float_tensor(op, "anchor", anchor)
    pos = _float_tensor(op, "positive", positive)
    neg = _float_tensor(op, "negative", negative)
    if not a.ndim == pos.ndim == neg.ndim:
        raise ValueError(f"{op}: anchor, positive and negative must have the same number of "
                         f"axes, got shapes {tuple(a.shape)}, {tuple(pos.shape)}, "
                         f"{tuple(neg.shape)}")
    distance = pairwise_distance if distance_function is None else distance_function
    d_pos = distance(a, pos)
    d_neg = distance(a, neg)
    if swap:
        d_neg = minimum(d_neg, distance(pos, neg))
    return _reduce(clip(margin + d_pos - d_neg, 0.0), reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None,  # noqa: A002
                           reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: per sample, the sum over its target classes j and its other
    classes i of ``max(0, 1 - (input[j] - input[i]))``, divided by the number of classes.

    ``target`` has the input's shape, (C,) or (N, C): each row lists the sample's target classes
    first, ended by the first -1 (the rest is ignored). A class listed twice counts twice, as
    in PyTorch.
    """
    op = "multilabel_margin_loss"
    reduction = _torch_loss_args(op, None, size_average, reduce, reduction)
    _check_reduction(op, reduction)
    x = _float_tensor(op, "input", input)
    if x.ndim not in (1, 2):
        raise ValueError(f"{op}: input must be (C,) or (N, C), got shape {tuple(x.shape)}")
    xp = get_array_module(x._data)
    y = xp.asarray(target._data if isinstance(target, Tensor) else target)
    if y.dtype.kind not in "iu" or tuple(y.shape) != tuple(x.shape):
        raise ValueError(f"{op}: target must be integer class lists of the input's shape "
                         f"{tuple(x.shape)}, got dtype {y.dtype} shape {tuple(y.shape)}")
    c = x.shape[-1]
    if c == 0:
        raise ValueError(f"{op}: input of shape {tuple(x.shape)} has no classes")
    rows = reshape(x, (-1, c))
    y = y.reshape(-1, c).astype(xp.int64)
    if y.size and (int(y.min()) < -1 or int(y.max()) >= c):
        raise ValueError(f"{op}: target entries must be classes in [0, {c - 1}] or -1 (the end "
                         f"of a list), got {int(y.min())}..{int(y.max())}")
    listed = xp.cumprod(y >= 0, axis=1).astype(bool)  # the entries before the first -1
    counts = xp.zeros(rows.shape, dtype=x.dtype)  # how often each class is listed
    for k in range(c):
        counts[xp.arange(y.shape[0]), y[:, k]] += listed[:, k]
    pairs = counts[:, :, None] * (counts == 0)[:, None, :].astype(x.dtype)  # (N, j, i)
    hinge = relu(1.0 - unsqueeze(rows, 2) + unsqueeze(rows, 1))  # 1 - (x_j - x_i)
    loss = _sum(hinge * Tensor(pairs), (1, 2)) / c
    return _reduce(reshape(loss, tuple(x.shape[:-1])), reduction)
