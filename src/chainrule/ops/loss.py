"""Loss functions: regression (mse, l1, huber) and classification (cross entropy, nll, binary ce).

The regression losses are compositions of elementwise ops and reductions (the squared error is one
fused node with the same operations). The classification losses
are fused Functions: a numerically stable forward pass over raw arrays and a backward written with
chainrule ops, so that every loss can be differentiated twice. Targets receive a gradient where
PyTorch gives one (regression and binary targets, class probabilities); class weights do not. The
class-label losses live in ``_classification.py`` and are exported from here.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module, quiet
from ._classification import (
    _check_reduction,
    _const,
    _float_target,
    _float_tensor,
    _reduce_array,
    _torch_loss_args,
    cross_entropy,
    nll_loss,
)
from ._loss_args import plain_number
from ._loss_dtypes import float_pair
from ._wide import in_float32
from .activation import logsigmoid, sigmoid
from .elementwise import abs as _abs
from .elementwise import clip, log, maximum, where
from .reduce import mean as _mean
from .reduce import sum as _sum

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "huber_loss",
    "l1_loss", "mse_loss", "nll_loss", "smooth_l1_loss",
]


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return _sum(loss)
    # The mean of no losses is NaN, as PyTorch's (and mse_loss's and the other losses').
    return _sum(loss) * math.nan if loss.numel() == 0 else _mean(loss)


def _no_weight(op, weight):
    if weight is not None:
        raise TypeError(f"{op}: weight is not supported (PyTorch's weighted mean divides by "
                        "sum(weight)); multiply reduction='none' by the weights instead")


@in_float32()
def mse_loss(input, target, size_average=None, reduce=None,  # noqa: A002 - torch's names
             reduction: str = "mean", weight=None) -> Tensor:
    """Mean squared error: the mean (or sum) of ``(input - target) ** 2``.

    The lecture's quadratic cost 1/2 sum (y - f)^2 is ``0.5 * mse_loss(y, f, reduction="sum")``.
    The target may require grad (both get a gradient).

    The positional order is PyTorch's: ``reduction`` is the fifth argument (pass it by name).

    Args:
        input, target: Tensors of the same shape.
        size_average, reduce: PyTorch's removed options; anything but None is a TypeError.
        reduction: "mean", "sum" or "none" (the elementwise squared errors).
        weight: PyTorch's option, not supported (anything but None is a TypeError).

    Returns:
        A 0-d Tensor, or a Tensor of the input's shape for ``reduction="none"``.

    >>> import chainrule as cr
    >>> y, f = cr.tensor([1.0, 2.0]), cr.tensor([0.0, 4.0])
    >>> (0.5 * cr.F.mse_loss(y, f, reduction="sum")).item()
    2.5
    """
    reduction = _torch_loss_args("mse_loss", None, size_average, reduce, reduction)
    _no_weight("mse_loss", weight)
    _check_reduction("mse_loss", reduction)
    x, target = float_pair("mse_loss", _float_tensor("mse_loss", "input", input), target,
                           integers="biu")
    return SquaredError.apply(x, target, reduction=reduction, weight=None)


def l1_loss(input, target, size_average=None, reduce=None,  # noqa: A002 - torch's names
            reduction: str = "mean", weight=None) -> Tensor:
    """Mean (or sum) absolute error ``|input - target|``; its gradient at 0 is 0, as in PyTorch.
    Complex input and target (one dtype) give the real mean modulus of the difference, as PyTorch.

    Args:
        input, target: Tensors of the same shape (the target may require grad).
        size_average, reduce, reduction, weight: as in ``mse_loss`` (PyTorch's order).
    """
    reduction = _torch_loss_args("l1_loss", None, size_average, reduce, reduction)
    _no_weight("l1_loss", weight)
    _check_reduction("l1_loss", reduction)
    if isinstance(input, Tensor) and input.dtype.kind == "c":
        return _reduce(_abs(input - _complex_target("l1_loss", input, target)), reduction)
    x, target = float_pair("l1_loss", _float_tensor("l1_loss", "input", input), target,
                           integers="iu")
    return _reduce(_abs(x - target), reduction)


def _complex_target(op, x, target):
    """A target Tensor of the shape and (complex) dtype of ``x``."""
    if not isinstance(target, Tensor) or target.dtype != x.dtype or target.shape != x.shape:
        got = (f"{target.dtype} of shape {tuple(target.shape)}" if isinstance(target, Tensor)
               else type(target).__name__)
        raise TypeError(f"{op}: target must be a Tensor of input's dtype {x.dtype} and shape "
                        f"{tuple(x.shape)}, got {got}")
    return target


def huber_loss(input, target, reduction: str = "mean",  # noqa: A002 - torch's name
               delta: float = 1.0, weight=None) -> Tensor:
    """Huber loss: quadratic near 0 and linear in the tails, so outliers pull with bounded force.

    With d = input - target it is ``d^2 / 2`` where ``|d| < delta``, else
    ``delta (|d| - delta / 2)``.

    Args:
        input, target: Tensors of the same shape (the target may require grad).
        reduction: "mean", "sum" or "none".
        delta: where the quadratic part turns linear (> 0).
        weight: PyTorch's option, not supported (anything but None is a TypeError).
    """
    _no_weight("huber_loss", weight)
    reduction = _torch_loss_args("huber_loss", None, None, None, reduction)
    _check_reduction("huber_loss", reduction)
    delta = plain_number(delta)  # a 0-d tensor too, as PyTorch's
    if not isinstance(delta, numbers.Real) or isinstance(delta, bool) or not delta > 0:
        raise ValueError(f"huber_loss: delta must be a positive number, got {delta!r}")
    x, target = float_pair("huber_loss", _float_tensor("huber_loss", "input", input), target)
    d = x - target
    ad = _abs(d)
    near = ad < delta
    # the square of d only where it is taken (and at NaN, whose gradient stays NaN): at an
    # infinite d the unused square's gradient, inf times 0, was NaN where PyTorch's is +-delta
    dn = where(near | (d != d), d, 0.0)
    loss = where(near, 0.5 * dn * dn, delta * (ad - 0.5 * delta))  # recorded: exportable
    return _reduce(loss, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None,  # noqa: A002 - torch's names
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1 loss: ``d^2 / (2 beta)`` where ``|d| < beta``, else ``|d| - beta / 2``
    (d = input - target), that is ``huber_loss(delta=beta) / beta``; ``beta=0`` is ``l1_loss``.

    Args: as ``huber_loss`` (PyTorch's order, ``size_average``/``reduce`` as in ``mse_loss``);
    ``beta`` >= 0.
    """
    reduction = _torch_loss_args("smooth_l1_loss", None, size_average, reduce, reduction)
    beta = plain_number(beta)
    if not isinstance(beta, numbers.Real) or isinstance(beta, bool) or not beta >= 0:
        raise ValueError(f"smooth_l1_loss: beta must be a non-negative number, got {beta!r}")
    x, target = float_pair("smooth_l1_loss", _float_tensor("smooth_l1_loss", "input", input),
                           target, integers="biu")  # named here: huber_loss refuses integers
    if beta == 0:
        return l1_loss(x, target, reduction=reduction)
    return huber_loss(x, target, reduction, delta=beta) / beta


# PyTorch's floor of p (1 - p) in binary cross entropy's gradient: a C float 1e-12, so in float64
# the float32 value (``float(numpy.float32(1e-12))``), not 1e-12 itself.
_BCE_EPS = 9.999999960041972e-13


def _clamped_log_array(x):
    """log(x) clamped to >= -100 as PyTorch's binary cross entropy does (no warning at x = 0)."""
    xp = get_array_module(x)
    return xp.maximum(xp.log(xp.maximum(x, xp.finfo(x.dtype).smallest_subnormal)), -100)


def _clamped_log1m_array(p):
    """log(1 - p) clamped to >= -100, from ``log1p(-p)`` as PyTorch's: exact for a small p, where
    ``log(1 - p)`` loses it (float32 rounds 1 - 1e-8 to 1: a loss of 0 for 1e-8)."""
    xp = get_array_module(p)
    with quiet(xp):  # no warning at p = 1 (log1p(-1) is -inf, clamped)
        return xp.maximum(xp.log1p(-p), -100)


def _clamped_log(x):
    """The same with recorded ops (the clamps are constant where they bind)."""
    tiny = float(get_array_module(x._data).finfo(x.dtype).smallest_subnormal)
    return clip(log(clip(x, low=tiny)), low=-100.0)


class _BinaryLoss(Function):
    """Shared plumbing of the elementwise binary losses: reduction and per-element weights."""

    def _finish(self, loss):
        if self.weight is not None:
            loss = loss * self.weight
        if loss.dtype.itemsize == 2 and self.reduction != "none":
            # float16 summed in float32, as PyTorch's: a float16 sum passes 65504, and a count
            # past it was inf (the mean of 70000 losses: 0 or NaN)
            wide = _reduce_array(loss.astype("float32"), self.reduction, loss.size)
            return wide.astype(loss.dtype)
        return _reduce_array(loss, self.reduction, loss.size)

    def _scaled(self, g):
        if self.reduction == "mean":
            g = g / self.inputs[0].numel()
        return g if self.weight is None else g * self.weight


class SquaredError(_BinaryLoss):
    """``(x - t) ** 2``, reduced, as one node: the same array operations and bits as the
    composition ``_reduce((x - t) * (x - t))``, without a node (and a gradient array) for each
    of its operations; the backward ``2 g (x - t)`` is written in chainrule ops, so it can be
    differentiated again."""

    def forward(self, x, t):
        d = x - t
        d *= d
        return self._finish(d)

    def backward(self, g):
        x, t = self.inputs
        g2 = self._scaled(g) * 2  # doubling is exact: the bits of g d + g d
        gd = g2 * (x - t)
        return (gd if self.needs_input_grad[0] else None,
                -gd if self.needs_input_grad[1] else None)


class BinaryCrossEntropy(_BinaryLoss):
    """-(t log p + (1 - t) log(1 - p)) for probabilities p, with the logs clamped to >= -100."""

    def forward(self, p, t):
        logp, log1mp = _clamped_log_array(p), _clamped_log1m_array(p)
        return self._finish((t - 1) * log1mp - t * logp)

    def backward(self, g):
        p, t = self.inputs
        g = self._scaled(g)
        gp = gt = None
        if self.needs_input_grad[0]:
            # PyTorch's guard: the derivative is finite even at p = 0 or 1.
            gp = g * (p - t) / maximum(p * (1 - p), _BCE_EPS)
        if self.needs_input_grad[1]:
            gt = g * (_clamped_log(1 - p) - _clamped_log(p))
        return gp, gt


class BinaryCrossEntropyWithLogits(_BinaryLoss):
    """Binary cross entropy of sigmoid(z), computed from the logits without forming sigmoid(z).

    The loss is ``(1 - t) softplus(z) + pos_weight t softplus(-z)`` (pos_weight 1 without it),
    with ``softplus(z) = max(z, 0) + log(1 + exp(-|z|))``, which never overflows. At an
    infinite logit it is its limit, the term of a zero coefficient 0: a logit of -inf (masked)
    with target 0 costs 0, where PyTorch's ``inf - inf`` is NaN (docs/pytorch.md, "What differs
    on purpose").
    """

    def forward(self, z, t):
        xp = get_array_module(z)
        with quiet(xp):  # no warning for an infinite logit's inf - inf (its limit replaces it)
            log_term = xp.log1p(xp.exp(-xp.abs(z)))
            pw = self.pos_weight
            # (1 - t) softplus(z) + pw t softplus(-z): two non-negative terms, so nothing cancels
            # (z - z t lost a small 1 - t, (1 - t) z - z a small t, in float32)
            loss = (1 - t) * (xp.maximum(z, 0) + log_term) + (
                t if pw is None else pw * t) * (xp.maximum(-z, 0) + log_term)
            infinite = xp.isinf(z)
            if infinite.any():
                c = xp.where(z > 0, 1 - t, t if pw is None else pw * t)  # of the infinite term
                loss = xp.where(infinite, xp.where(c == 0, 0, c * xp.inf), loss).astype(z.dtype)
        return self._finish(loss)

    def backward(self, g):
        z, t = self.inputs
        g = self._scaled(g)
        pw = self.pos_weight
        gz = gt = None
        if self.needs_input_grad[0]:
            if pw is None:
                gz = g * (sigmoid(z) - t)
            else:  # the same two terms' slopes: nothing cancels
                gz = g * ((1 - t) * sigmoid(z) - pw * t * sigmoid(-z))
        if self.needs_input_grad[1]:
            gt = -(g * z) if pw is None else g * (logsigmoid(z) * (1 - pw) - z)
        return gz, gt


def binary_cross_entropy(input, target, weight=None,  # noqa: A002 - torch's names
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross entropy ``-(t log p + (1 - t) log(1 - p))`` of probabilities p = input.

    Each log is clamped to >= -100, as in PyTorch, so p = 0 or 1 gives a finite loss. Prefer
    ``binary_cross_entropy_with_logits`` on logits: it is stable without clamping.

    Args:
        input: probabilities in [0, 1].
        target: Tensor of the same shape, values in [0, 1] (it may require grad).
        weight: optional rescaling weight broadcastable to the input's shape (not differentiated);
            the third positional argument, as in PyTorch.
        size_average, reduce: PyTorch's removed options; anything but None is a TypeError.
        reduction: "mean", "sum" or "none".
    """
    op = "binary_cross_entropy"
    reduction = _torch_loss_args(op, weight, size_average, reduce, reduction)
    _check_reduction(op, reduction)
    p = _float_tensor(op, "input", input)
    target = _float_target(op, p, target)
    if not bool(((p._data >= 0) & (p._data <= 1)).all()):  # NaN too, as PyTorch
        raise ValueError(f"{op}: input must hold probabilities in [0, 1], got values in "
                         f"[{float(p._data.min())}, {float(p._data.max())}]; "
                         "for logits use binary_cross_entropy_with_logits")
    t = target._data
    if not bool(((t >= 0) & (t <= 1)).all()):  # NaN too, as PyTorch
        raise ValueError(f"{op}: target must hold values in [0, 1], got values in "
                         f"[{float(t.min())}, {float(t.max())}]")
    weight = _const(op, "weight", weight, p, p.shape)
    return BinaryCrossEntropy.apply(p, target, reduction=reduction, weight=weight)


def binary_cross_entropy_with_logits(input, target, weight=None,  # noqa: A002 - torch's names
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """Binary cross entropy of ``sigmoid(input)``, computed stably from the logits.

    Uses ``max(z, 0) - z t + log(1 + exp(-|z|))``, which neither overflows nor takes log(0).

    Args:
        input: logits z.
        target: Tensor of the same shape, values in [0, 1] (it may require grad).
        weight: optional rescaling weight broadcastable to the input (not differentiated); the
            third positional argument, as in PyTorch.
        size_average, reduce: PyTorch's removed options; anything but None is a TypeError.
        reduction: "mean", "sum" or "none".
        pos_weight: optional weight of the positive term, broadcastable to the input (e.g. one per
            class along the last axis); > 1 raises recall. Not differentiated.
    """
    op = "binary_cross_entropy_with_logits"
    reduction = _torch_loss_args(op, weight, size_average, reduce, reduction)
    _check_reduction(op, reduction)
    z = _float_tensor(op, "input", input)
    # two float dtypes: computed in the promoted one, the result in the target's (PyTorch's
    # composition writes into a buffer of the target's dtype)
    mixed = isinstance(target, Tensor) and target.dtype.kind == "f" and target.dtype != z.dtype
    out_dtype = target.dtype if mixed else None
    z, target = float_pair(op, z, target)
    weight = _const(op, "weight", weight, z, z.shape)
    pos_weight = _const(op, "pos_weight", pos_weight, z, z.shape)
    out = BinaryCrossEntropyWithLogits.apply(z, target, reduction=reduction, weight=weight,
                                             pos_weight=pos_weight)
    return out if out_dtype is None or out.dtype == out_dtype else out.to(out_dtype)
