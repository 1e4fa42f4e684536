"""More of PyTorch's losses: ``kl_div``, ``gaussian_nll_loss``, ``poisson_nll_loss``, the margin
losses (ranking, hinge embedding, cosine embedding, triplet) and the soft-margin losses.

Each is a composition of recorded ops following PyTorch's formula step by step, so none needs a
gradient rule of its own and all differentiate again. Labels (``target`` of the margin losses)
are constants.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._class_weight import class_weight
from ._classification import _check_reduction, _float_tensor, _torch_loss_args
from ._loss_args import plain_number
from ._loss_dtypes import float_pair
from .activation import logsigmoid, relu, softplus
from .distance import _ClampMinStraight, pairwise_distance
from .elementwise import clip, exp, log, minimum, sqrt, where
from .indexing import gather
from .reduce import mean as _mean
from .reduce import sum as _sum
from .shape import broadcast_to, reshape, unsqueeze

__all__ = [
    "cosine_embedding_loss", "gaussian_nll_loss", "hinge_embedding_loss", "kl_div",
    "margin_ranking_loss", "multi_margin_loss", "multilabel_soft_margin_loss", "poisson_nll_loss",
    "soft_margin_loss", "triplet_margin_loss",
]


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return _sum(loss)
    # The mean of no losses is NaN, as PyTorch's (and chainrule's mse_loss/cross_entropy).
    return _sum(loss) * math.nan if loss.numel() == 0 else _mean(loss)


def _start(op, size_average, reduce, reduction):
    reduction = _torch_loss_args(op, None, size_average, reduce, reduction)
    _check_reduction(op, reduction)
    return reduction


def _real(op, name, value) -> float:
    value = plain_number(value)  # a 0-d tensor too, as PyTorch's
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r}")
    return float(value)


def _xlogx(t):
    """t * log(t), 0 where t is 0 (and a 0 gradient there); NaN where t < 0, as PyTorch's."""
    nonzero = t != 0  # a recorded comparison (chainrule.trace, ONNX export follow it)
    return where(nonzero, t * log(where(nonzero, t, 1.0)), 0.0)


def _labels(op, x, target, shape):
    """A constant array of +-1 labels (or any numbers) that broadcasts with ``shape``, as
    PyTorch's losses broadcast it (TransE's ``MarginRankingLoss`` target ``tensor([-1])``)."""
    xp = get_array_module(x._data)
    data = target._data if isinstance(target, Tensor) else xp.asarray(target)
    _broadcast(op, ("target", data.shape), ("input", shape))
    return data


def _broadcast(op, *named):
    """The shape PyTorch's loss broadcasts its (name, shape) arguments to, or a ValueError."""
    shapes = [tuple(shape) for _, shape in named]
    try:
        return tuple(get_array_module().broadcast_shapes(*shapes))
    except ValueError:
        listed = ", ".join(f"{name} shape {shape}" for (name, _), shape in zip(named, shapes))
        raise ValueError(f"{op}: {listed} do not broadcast") from None


def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean",  # noqa: A002
           log_target: bool = False) -> Tensor:
    """KL divergence ``target * (log(target) - input)`` with ``input`` as log-probabilities
    (``log_target=True``: ``target`` too), PyTorch's ``F.kl_div``.

    ``reduction="batchmean"`` divides the sum by the batch size (``input.shape[0]``), the true
    KL divergence per sample; "mean" divides by the number of elements, with PyTorch's warning.
    """
    named_mean = reduction == "mean" and size_average is None and reduce is None  # warned below
    reduction = _torch_loss_args("kl_div", None, size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise ValueError(f"kl_div: reduction must be one of ('mean', 'sum', 'none', "
                         f"'batchmean'), got {reduction!r}")
    if named_mean:
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", UserWarning, stacklevel=2)
    x = _float_tensor("kl_div", "input", input)
    x, t = float_pair("kl_div", x, _target_to(x, target))
    loss = exp(t) * (t - x) if log_target else _xlogx(t) - t * x
    if reduction == "batchmean":
        total = _sum(loss)
        if x.ndim and not x.shape[0]:  # no samples: NaN, as PyTorch's, without NumPy's warning
            return total * math.nan
        return total / x.shape[0] if x.ndim else total
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6,  # noqa: A002
                      reduction: str = "mean") -> Tensor:
    """Gaussian negative log-likelihood ``0.5 * (log(var) + (input - target)^2 / var)``.

    ``var`` is the input's shape, or lacks its last axis (one variance per sample), or has size 1
    in one axis (shared along it, as PyTorch: (N, 1, H, W) for input (N, C, H, W)); a number is
    one variance for all. It is clamped to at least ``eps`` without the clamp being
    differentiated (as PyTorch does); ``full`` adds ``0.5 * log(2 pi)``. ``target`` is the
    input's shape or broadcasts to it, as PyTorch's (documented: size 1 in one axis).
    """
    _check_reduction("gaussian_nll_loss", reduction)
    eps = _real("gaussian_nll_loss", "eps", eps)
    x = _float_tensor("gaussian_nll_loss", "input", input)
    x, t = float_pair("gaussian_nll_loss", x, _target_to(x, target))  # (N, 1): documented
    if isinstance(var, numbers.Real) and not isinstance(var, bool):
        var = Tensor(get_array_module(x._data).full(x.shape, float(var), dtype=x.dtype))
    v = _float_tensor("gaussian_nll_loss", "var", var)
    if tuple(v.shape) != tuple(x.shape):
        if tuple(x.shape[:-1]) == tuple(v.shape):
            v = unsqueeze(v, -1)
        elif not _one_axis_of_1(x.shape, v.shape):
            raise ValueError(f"gaussian_nll_loss: var must have the input's shape "
                             f"{tuple(x.shape)}, that shape without its last axis, or size 1 "
                             f"in one of its axes (shared along it: (N, 1, H, W) for input "
                             f"(N, C, H, W)); got {tuple(v.shape)}")
    if bool((v._data < 0).any()):
        raise ValueError("gaussian_nll_loss: var has negative entries")
    v = _ClampMinStraight.apply(v, low=eps)
    d = x - t
    loss = 0.5 * (log(v) + d * d / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def _one_axis_of_1(shape, other) -> bool:
    """Whether ``other`` is ``shape`` with one axis of size 1 in place of another size."""
    differ = [b for a, b in zip(shape, other) if a != b]
    return len(other) == len(shape) and len(differ) == 1 and differ[0] == 1


def _target_to(x, target):
    """A target Tensor broadcast to the input's shape where it broadcasts to it, as PyTorch's
    compositions broadcast it ((C,) against (N, C)); one that would grow the loss beyond the
    input's shape is left for ``float_pair`` to refuse."""
    if not isinstance(target, Tensor) or tuple(target.shape) == tuple(x.shape):
        return target
    try:
        to = tuple(get_array_module().broadcast_shapes(tuple(target.shape), tuple(x.shape)))
    except ValueError:
        return target
    return broadcast_to(target, x.shape) if to == tuple(x.shape) else target


def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False,  # noqa: A002
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood: ``exp(input) - target * input`` for a log-rate input,
    ``input - target * log(input + eps)`` for a rate; ``full`` adds Stirling's term for target > 1.
    """
    if reduction == "elementwise_mean":  # PyTorch's poisson_nll_loss refuses the old name
        _check_reduction("poisson_nll_loss", reduction)
    reduction = _start("poisson_nll_loss", size_average, reduce, reduction)
    eps = _real("poisson_nll_loss", "eps", eps)
    x = _float_tensor("poisson_nll_loss", "input", input)
    x, t = float_pair("poisson_nll_loss", x, _target_to(x, target), cast_input=False,
                      integers="biu")
    loss = exp(x) - t * x if log_input else x - t * log(x + eps)
    if full:
        big = t._data > 1
        ts = where(big, t, 1.0)
        stirling = ts * log(ts) - ts + 0.5 * log(2 * math.pi * ts)
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin: float = 0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``: ranks input1 above input2 where
    target is 1, below where it is -1."""
    reduction = _start("margin_ranking_loss", size_average, reduce, reduction)
    margin = _real("margin_ranking_loss", "margin", margin)
    a = _float_tensor("margin_ranking_loss", "input1", input1)
    # PyTorch's composition: the three promote as arithmetic does (a float64 target makes a
    # float64 loss), and a float target that requires grad gets its gradient
    b = _operand("margin_ranking_loss", "input2", a, input2)
    y = _operand("margin_ranking_loss", "target", a, target)
    if not a.ndim == b.ndim == y.ndim:  # PyTorch's rule: same rank, then broadcast
        raise ValueError(f"margin_ranking_loss: input1, input2 and target must have the same "
                         f"number of dimensions, got shapes {tuple(a.shape)}, {tuple(b.shape)} "
                         f"and {tuple(y.shape)}")
    _broadcast("margin_ranking_loss", ("input1", a.shape), ("input2", b.shape),
               ("target", y.shape))
    return _reduce(clip(-y * (a - b) + margin, 0.0), reduction)


def _operand(op, name, x, value):
    """A Tensor operand of a loss composed of arithmetic, as given (signed integer and float dtypes
    promote as arithmetic does); numbers, lists and bool or unsigned labels become constants of
    ``x``'s dtype (PyTorch negates a uint8 target modulo 256)."""
    if isinstance(value, Tensor) and value.dtype.kind in "if":
        return value
    xp = get_array_module(x._data)
    try:
        data = xp.asarray(value._data if isinstance(value, Tensor) else value)
    except (TypeError, ValueError):
        data = None
    if data is None or data.dtype.kind not in "biuf":  # complex too: no silent real part
        got = data.dtype if data is not None else type(value).__name__
        raise TypeError(f"{op}: {name} must be a real Tensor or numbers, got {got}")
    return Tensor(data.astype(x.dtype))


def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None,  # noqa: A002
                         reduce=None, reduction: str = "mean") -> Tensor:
    """``input`` where target is 1, ``max(0, margin - input)`` where it is -1."""
    reduction = _start("hinge_embedding_loss", size_average, reduce, reduction)
    margin = _real("hinge_embedding_loss", "margin", margin)
    x = _float_tensor("hinge_embedding_loss", "input", input)
    y = _labels("hinge_embedding_loss", x, target, x.shape)
    loss = where(y != 1, clip(margin - x, 0.0), 0.0) + where(y != -1, x, 0.0)
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None,  # noqa: A002
                     reduction: str = "mean") -> Tensor:
    """Two-class logistic loss ``log(1 + exp(-target * input))`` for labels +-1."""
    reduction = _start("soft_margin_loss", size_average, reduce, reduction)
    x = _float_tensor("soft_margin_loss", "input", input)
    if isinstance(target, Tensor) and target.dtype.kind == "f" and target.dtype != x.dtype:
        target = target.to(x.dtype)  # PyTorch's result has the input's dtype, not the promoted one
    x, t = float_pair("soft_margin_loss", x, _target_to(x, target), integers="iu")
    return _reduce(softplus(-x * t, 1.0, math.inf), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None,  # noqa: A002
                                reduce=None, reduction: str = "mean") -> Tensor:
    """Per-class logistic loss averaged over the classes (the last axis), one value per sample.

    ``target``: 0/1 labels, float (of the input's dtype) or integer as in PyTorch (which
    refuses bool ones, as this does).
    ``weight``: one rescaling weight per class (a constant), or None."""
    if reduction == "elementwise_mean":  # PyTorch's refuses the old name of "mean" here
        _check_reduction("multilabel_soft_margin_loss", reduction)
    reduction = _torch_loss_args("multilabel_soft_margin_loss", weight, size_average, reduce,
                                 reduction)
    _check_reduction("multilabel_soft_margin_loss", reduction)
    x = _float_tensor("multilabel_soft_margin_loss", "input", input)
    x, t = float_pair("multilabel_soft_margin_loss", x, _target_to(x, target),
                      integers="iu")  # 0/1 labels
    if x.ndim == 0:
        raise ValueError("multilabel_soft_margin_loss: input must have a class axis, got 0-d")
    loss = -(t * logsigmoid(x) + (1.0 - t) * logsigmoid(-x))
    if weight is not None:
        w = weight if isinstance(weight, Tensor) else Tensor(
            get_array_module(x._data).asarray(weight, dtype=x.dtype))
        try:
            get_array_module(x._data).broadcast_shapes(tuple(w.shape), tuple(x.shape))
        except ValueError:
            raise ValueError(f"multilabel_soft_margin_loss: weight of shape {tuple(w.shape)} "
                             f"does not broadcast to input shape {tuple(x.shape)}") from None
        loss = loss * w
    loss = _sum(loss, x.ndim - 1) / x.shape[-1]
    return _reduce(loss, reduction)


# PyTorch's 1e-12 added to each squared norm is a C float: in float64 the float32 value.
_COS_EPS = 9.999999960041972e-13


def cosine_embedding_loss(input1, input2, target, margin: float = 0, size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """``1 - cos(input1, input2)`` where target is 1, ``max(0, cos - margin)`` where it is -1;
    the cosine is taken along the last axis (PyTorch adds 1e-12 to each squared norm)."""
    reduction = _start("cosine_embedding_loss", size_average, reduce, reduction)
    margin = _real("cosine_embedding_loss", "margin", margin)
    a = _float_tensor("cosine_embedding_loss", "input1", input1)
    b = _operand("cosine_embedding_loss", "input2", a, input2)  # promotes, as PyTorch's
    if a.ndim not in (1, 2) or b.ndim != a.ndim:
        raise ValueError(f"cosine_embedding_loss: inputs must be 1-D (D) or 2-D (N, D), got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    shape = _broadcast("cosine_embedding_loss", ("input1", a.shape), ("input2", b.shape))
    y = _labels("cosine_embedding_loss", a, target, shape[:-1])  # of the inputs' broadcast
    if y.ndim != a.ndim - 1:  # PyTorch's: a 0-D target for 1-D inputs, a 1-D one for 2-D inputs
        raise ValueError(f"cosine_embedding_loss: a {y.ndim}-D target needs {y.ndim + 1}-D "
                         f"inputs, got shape {tuple(a.shape)}")
    axis = a.ndim - 1
    dot = _sum(a * b, axis)
    m1 = _sum(a * a, axis) + _COS_EPS
    m2 = _sum(b * b, axis) + _COS_EPS
    cos = dot / sqrt(m1 * m2)
    loss = where(y == 1, 1.0 - cos, 0.0) + where(y == -1, clip(cos - margin, 0.0), 0.0)
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))`` with d the
    ``pairwise_distance`` (p-norm along the last axis); ``swap`` uses the smaller of d(a, n) and
    d(p, n). The three have one rank, any (PyTorch's); they broadcast."""
    reduction = _start("triplet_margin_loss", size_average, reduce, reduction)
    margin = _real("triplet_margin_loss", "margin", margin)
    if not margin > 0:  # as PyTorch
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    a = _float_tensor("triplet_margin_loss", "anchor", anchor)
    pos = _float_tensor("triplet_margin_loss", "positive", positive)
    neg = _float_tensor("triplet_margin_loss", "negative", negative)
    if not a.ndim == pos.ndim == neg.ndim:  # any one rank, as PyTorch: (D,), (N, D), (N, K, D)
        raise ValueError(f"triplet_margin_loss: anchor, positive and negative must have the same "
                         f"number of axes, got shapes {tuple(a.shape)}, {tuple(pos.shape)}, "
                         f"{tuple(neg.shape)}")
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(pos, neg, p, eps))
    return _reduce(clip(margin + d_pos - d_neg, 0.0), reduction)


def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None,  # noqa: A002
                      size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: per sample, the mean over the other classes i of
    ``max(0, margin - input[y] + input[i]) ** p`` (times ``weight[y]``), p 1 or 2."""
    reduction = _torch_loss_args("multi_margin_loss", weight, size_average, reduce,
                                 reduction)
    _check_reduction("multi_margin_loss", reduction)
    p = plain_number(p)
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"multi_margin_loss: p must be 1 or 2, got {p!r}")
    margin = _real("multi_margin_loss", "margin", margin)
    x = _float_tensor("multi_margin_loss", "input", input)
    if x.ndim not in (1, 2):
        raise ValueError(f"multi_margin_loss: input must be (C,) or (N, C), got shape "
                         f"{tuple(x.shape)}")
    xp = get_array_module(x._data)
    y = xp.asarray(target._data if isinstance(target, Tensor) else target)
    c = x.shape[-1]
    if y.dtype.kind not in "iu" or tuple(y.shape) != tuple(x.shape[:-1]):
        raise ValueError(f"multi_margin_loss: target must hold one integer class per sample "
                         f"(shape {tuple(x.shape[:-1])}), got dtype {y.dtype} shape "
                         f"{tuple(y.shape)}")
    if y.size and (int(y.min()) < 0 or int(y.max()) >= c):
        raise ValueError(f"multi_margin_loss: target classes must be in [0, {c - 1}], got "
                         f"{int(y.min())}..{int(y.max())}")
    rows = reshape(x, (-1, c))
    ids = y.reshape(-1, 1).astype(xp.int64)
    z = relu(margin - gather(rows, 1, Tensor(ids)) + rows)
    h = z if p == 1 else z * z
    if weight is not None:
        w = class_weight("multi_margin_loss", weight, x, c)
        h = h * Tensor(w[ids])
    h = where(xp.arange(c)[None, :] == ids, 0.0, h)
    loss = reshape(_sum(h, 1) / c, tuple(x.shape[:-1]))
    return _reduce(loss, reduction)
