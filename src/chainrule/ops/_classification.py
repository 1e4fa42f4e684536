"""Class-label losses (cross entropy, negative log-likelihood) and argument checks for all losses.

Both are fused Functions: one numerically stable pass over raw arrays forward, and a backward
written with chainrule ops (the softmax of the saved logits is recomputed by the softmax op when
the backward pass is recorded), so that they can be differentiated twice. Cross entropy's usual
case (2-D logits, labels, no class weights or smoothing) is the kernel ``K.softmax_cross_entropy``
(``kernels/cross_entropy.py``: the loss and, for backward, ``softmax - one_hot``)."""

from __future__ import annotations

import numbers

from ..autograd.function import Function
from ..autograd.mode import is_grad_enabled
from ..autograd.tensor import Tensor, tensor
from ..backend import MetaArray, get_array_module
from ..kernels import K
from ._class_weight import class_weight
from ._loss_args import _torch_loss_args, legacy_reduction, plain_number  # noqa: F401 - re-export
from ._promotion import promoted
from ._weighted_soft_ce import weighted_soft_cross_entropy
from .reduce import sum as _sum
from .shape import unsqueeze
from .softmax import log_softmax, softmax
from .softmax import normalize_axis as _class_axis

__all__ = ["cross_entropy", "nll_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def _reduce_array(loss, reduction, denom):
    """Reduce a per-element loss on raw arrays; ``denom`` divides the sum for "mean"."""
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    # the mean of no losses: NaN, as PyTorch's, quietly
    return total * float("nan") if type(denom) is int and denom == 0 else total / denom


def _check_reduction(op, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _float_tensor(op, name, x):
    if not isinstance(x, Tensor):
        x = tensor(x)
    if x._data.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must have a floating-point dtype, got {x._data.dtype}")
    return x


def _float_target(op, x, target):
    """A float target of the shape and dtype of ``x``; arrays and lists are converted to it."""
    if not isinstance(target, Tensor):
        target = Tensor(get_array_module(x._data).asarray(target, dtype=x.dtype))
    elif target.dtype.kind != "f":
        raise TypeError(f"{op}: target must have a floating-point dtype, got {target.dtype}")
    elif target.dtype != x.dtype:
        raise TypeError(f"{op}: target has dtype {target.dtype} but input has dtype {x.dtype}; "
                        f"convert one of them, e.g. target.astype('{x.dtype}')")
    if target.shape != x.shape:
        raise ValueError(f"{op}: input shape {x.shape} and target shape {target.shape} differ "
                         "(they are not broadcast: that would silently change the loss)")
    return target


def _const(op, name, value, x, shape):
    """A non-differentiated float array (class weights, pos_weight) broadcastable to ``shape``."""
    if value is None:
        return None
    if isinstance(value, Tensor) and value.requires_grad and is_grad_enabled():
        raise RuntimeError(f"{op}: not differentiable with respect to {name}, which requires "
                           f"grad (as PyTorch's, for class labels); pass {name}.detach()")
    xp = get_array_module(x._data)
    data = value._data if isinstance(value, Tensor) else xp.asarray(value)
    if data.dtype.kind not in "fiu":
        raise TypeError(f"{op}: {name} must be numeric, got dtype {data.dtype}")
    try:
        ok = xp.broadcast_shapes(data.shape, shape) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{op}: {name} of shape {data.shape} does not broadcast to shape {shape}")
    return xp.asarray(data, dtype=x.dtype)


def _labels_picked(xp, labels, axis, ignore_index, weight, dtype):
    """Labels with the class axis kept (ignored ones set to 0), a 0/1 mask of the counted samples
    and the weight of each sample: ``weight[label]`` (1 without class weights), 0 where ignored.
    """
    lab = xp.expand_dims(labels, axis)
    counted = (lab != ignore_index).astype(dtype)
    idx = xp.where(counted > 0, lab, 0)
    wk = counted if weight is None else counted * weight[idx]
    return idx, counted, wk


def _one_hot(xp, idx, n_classes, axis, dtype):
    shape = [n_classes if i == axis else 1 for i in range(idx.ndim)]
    return (xp.arange(n_classes).reshape(shape) == idx).astype(dtype)


def _mean_denominators(xp, wk):
    """Sum of the sample weights (negative ones too); nan forward, 1 backward if 0, as PyTorch."""
    d = wk.sum()
    return xp.where(d != 0, d, xp.nan).astype(wk.dtype), xp.where(d != 0, d, 1).astype(wk.dtype)


class _ClassLoss(Function):
    """Shared backward plumbing: the incoming gradient spread over the class axis and scaled."""

    def _scaled(self, g):
        if self.reduction == "none":
            return unsqueeze(g, self.axis)
        return g / self.denom_backward if self.reduction == "mean" else g

    def _weighted_labels(self, xp, dtype):
        """The constant ``w_c q_c`` per sample: its smoothed one-hot target times class weights."""
        n = self.n_classes
        wq = _one_hot(xp, self.idx, n, self.axis, dtype) * self.wk
        eps = self.smoothing
        if eps:
            spread = self.counted * (eps / n)
            wq = wq * (1 - eps) + (spread if self.weight is None else spread * self.weight_b)
        return wq


class CrossEntropy(_ClassLoss):
    """Fused log-softmax and negative log-likelihood over the class axis; inputs (logits, target).

    With class labels, the target distribution q of a sample is its one-hot vector, smoothed to
    ``(1 - eps) q + eps / C``; with probabilities it is the target itself (smoothed the same way).
    The per-sample loss is ``-sum_c w_c q_c log p_c`` and its gradient ``(sum_c w_c q_c) p - w q``:
    ``p - t`` for one-hot targets without class weights.
    """

    def forward(self, z, t):
        xp = get_array_module(z)
        a, eps, n = self.axis, self.smoothing, z.shape[self.axis]
        self.n_classes = n
        self.gz, self.one_hot_unweighted = None, False
        if self.labels and self.weight is None and not eps and a == 1 and z.ndim == 2:
            # The usual case: each sample's -log p of its label, and, for backward, y - t.
            out = K.softmax_cross_entropy(z, t, self.ignore_index, self.needs_input_grad[0])
            if out is not None:  # None: a label is ignored, the general path below
                loss, self.gz = out
                self.one_hot_unweighted = True
                self.denom = self.denom_backward = len(t)
                if self.reduction == "mean" and self.denom:  # the usual: the mean, inline
                    return loss.sum() / self.denom
                return _reduce_array(loss, self.reduction, self.denom)
        shifted = z - z.max(axis=a, keepdims=True)
        logp = shifted - xp.log(xp.exp(shifted).sum(axis=a, keepdims=True))
        if self.weight is not None:
            self.weight_b = self.weight.reshape([n if i == a else 1 for i in range(z.ndim)])
        if self.labels:
            self._label_stats(xp, t, z.dtype)
            # Gather the target's log-probability rather than multiply by a one-hot: a logit of -inf
            # in another class must not turn 0 * -inf into nan.
            loss = -xp.take_along_axis(logp, self.idx, axis=a) * self.wk
            if eps:
                wlogp = logp if self.weight is None else logp * self.weight_b
                smooth = -wlogp.sum(axis=a, keepdims=True) * self.counted
                loss = loss * (1 - eps) + smooth * (eps / n)
            loss = loss.squeeze(a)
            self.denom, self.denom_backward = _mean_denominators(xp, self.wk)
        else:
            q = t * (1 - eps) + eps / n if eps else t
            wq = q if self.weight is None else q * self.weight_b
            loss = -(wq * logp).sum(axis=a)
            self.denom = self.denom_backward = z.size // n
        return _reduce_array(loss, self.reduction, self.denom)

    def _label_stats(self, xp, t, dtype):
        self.idx, self.counted, self.wk = _labels_picked(xp, t, self.axis, self.ignore_index,
                                                      self.weight, dtype)

    def _target_weights(self, t):
        """w q with recorded ops from the probability target, so its gradient reaches ``t``."""
        eps, n = self.smoothing, self.n_classes
        q = t * (1 - eps) + eps / n if eps else t
        return q if self.weight is None else q * self.weight_b

    def backward(self, g):
        z, t = self.inputs
        if self.one_hot_unweighted:  # the usual case; integer labels take no gradient
            # The lecture's dC/dz = y - t (softmax output minus one-hot target), times g / N.
            return SoftmaxMinusOneHot.apply(z, g, labels=t._data, known=self.gz,
                                            reduction=self.reduction, n=self.denom_backward), None
        a = self.axis
        xp = get_array_module(z._data)
        g = self._scaled(g)
        gz = gt = None
        if self.needs_input_grad[0]:
            if self.labels:
                wq = self._weighted_labels(xp, z.dtype)
                s = wq.sum(axis=a, keepdims=True)
            else:
                wq = self._target_weights(t)
                s = _sum(wq, axis=a, keepdims=True)
            gz = (softmax(z, axis=a) * s - wq) * g
        if not self.labels and self.needs_input_grad[1]:
            logp = log_softmax(z, axis=a)
            scale = 1 - self.smoothing
            wlogp = logp if self.weight is None else logp * self.weight_b
            gt = wlogp * g * -scale
        return gz, gt


class SoftmaxMinusOneHot(Function):
    """``(softmax(z) - one_hot(labels)) * g / n``: cross entropy's gradient for 2-D logits z (N, C)
    and integer labels, the lecture's y - t times the loss's incoming gradient g.

    ``reduction``: "mean" divides by ``n`` (the number of samples), "sum" does not, and for
    "none" g holds one gradient per sample (N,). ``known``: y - t when the loss's forward already
    computed it (the kernel ``K.softmax_cross_entropy`` gives it beside the loss), else None.
    One op, with g as an input, so that a first-order backward is this one line of arrays while
    a recorded one (``create_graph``) differentiates it again: in z through the softmax's
    Jacobian, ``p * (h - sum(h p))`` for h = gg g / n, and in g as ``sum(gg (y - t)) / n``.
    """

    def forward(self, z, g):
        y_minus_t = self.known
        if y_minus_t is None:
            xp = get_array_module(z)
            e = xp.exp(z - z.max(axis=1, keepdims=True))
            y_minus_t = e / e.sum(axis=1, keepdims=True)
            y_minus_t[xp.arange(len(self.labels)), self.labels] -= 1
        scale = g / g.dtype.type(self.n) if self.reduction == "mean" else g
        return y_minus_t * (scale[:, None] if self.reduction == "none" else scale)

    def backward(self, gg):
        z, g = self.inputs
        scale = g / self.n if self.reduction == "mean" else g
        if self.reduction == "none":
            scale = unsqueeze(scale, 1)
        p = softmax(z, axis=1)
        gz = gs = None
        if self.needs_input_grad[0]:
            h = gg * scale
            gz = p * (h - _sum(h * p, axis=1, keepdims=True))
        if self.needs_input_grad[1]:
            xp = get_array_module(z._data)
            one_hot = _one_hot(xp, xp.expand_dims(self.labels, 1), z.shape[1], 1, z.dtype)
            per_sample = _sum(gg * (p - one_hot), axis=1)
            gs = per_sample if self.reduction == "none" else _sum(per_sample)
            if self.reduction == "mean":
                gs = gs / self.n
        return gz, gs


class NLLLoss(_ClassLoss):
    """Negative log-likelihood of class labels given log-probabilities; linear in its input."""

    def forward(self, logp, t):
        xp = get_array_module(logp)
        self.n_classes = logp.shape[self.axis]
        self.idx, _, self.wk = _labels_picked(xp, t, self.axis, self.ignore_index, self.weight,
                                              logp.dtype)
        loss = (-xp.take_along_axis(logp, self.idx, axis=self.axis) * self.wk).squeeze(self.axis)
        self.denom, self.denom_backward = _mean_denominators(xp, self.wk)
        return _reduce_array(loss, self.reduction, self.denom)

    def backward(self, g):
        xp = get_array_module(g._data)
        return self._scaled(g) * -self._weighted_labels(xp, g.dtype), None


def _class_args(op, x, target, weight, ignore_index, axis, allow_probs):
    """Validate logits/log-probabilities and their target; returns what the class losses need."""
    if not (isinstance(x, Tensor) and x._data.dtype.kind == "f"):
        x = _float_tensor(op, "input", x)  # wraps arrays and lists; refuses integer dtypes
    shape = x._data.shape
    nd = len(shape)
    if nd == 0:
        raise ValueError(f"{op}: input must have a class axis, (C,), (N, C) or (N, C, d1, ...), "
                         "got a 0-d tensor")
    if axis == 1 and type(axis) is int and nd >= 2:  # the usual case: (N, C, ...)
        a = 1
    else:
        a = 0 if nd == 1 and axis == 1 else _class_axis(op, axis, nd, shape)
    n = shape[a]
    if n == 0:  # NumPy's "zero-size array to reduction operation maximum" otherwise
        raise ValueError(f"{op}: input of shape {shape} has no classes (its axis {a} is 0)")
    label_shape = shape[:a] + shape[a + 1:]
    xp = get_array_module(x._data)
    data = target._data if isinstance(target, Tensor) else xp.asarray(target)
    if nd == 1 and data.shape == (1,) and data.dtype.kind in "iu" and (
            shape != (1,) or not allow_probs):  # (1,) of (1,) logits: probabilities, refused
        data = data.reshape(())  # PyTorch: a (C,) input takes its one label as (1,) too

    def expected():  # built only for an error message: formatting shapes takes time on every call
        probs = f" or class probabilities of shape {shape}" if allow_probs else ""
        return f"class labels of shape {label_shape}{probs}"

    if data.dtype.kind not in "fiu":
        raise TypeError(f"{op}: target must hold integer {expected()}, got dtype {data.dtype}")
    if data.shape not in (label_shape, shape):
        raise ValueError(f"{op}: target of shape {data.shape} does not match input of shape "
                         f"{shape}: expected {expected()}")
    if data.dtype.kind == "f":
        if data.shape != shape or not allow_probs:
            raise TypeError(f"{op}: target has floating-point dtype {data.dtype} and shape "
                            f"{data.shape}; pass integer class labels (e.g. target.astype('int64'))"
                            + (f" or class probabilities of shape {shape}" if allow_probs
                               else ""))
        if isinstance(ignore_index, numbers.Real) and ignore_index >= 0:  # refused, as PyTorch
            raise ValueError(f"{op}: ignore_index={ignore_index!r} does not apply to class "
                             "probabilities (a float target); zero those samples' rows instead")
        if isinstance(target, Tensor) and target.dtype != x.dtype:  # promoted, as PyTorch's
            x, target = promoted(x, target)
        target, labels = _float_target(op, x, target), False
    else:
        if data.shape != label_shape:
            raise ValueError(f"{op}: integer target of shape {data.shape} must hold {expected()}; "
                             "pass class probabilities with a floating-point dtype")
        if type(ignore_index) is not int and (not isinstance(ignore_index, numbers.Integral)
                                              or isinstance(ignore_index, bool)):
            raise TypeError(f"{op}: ignore_index must be an int, got {ignore_index!r}")
        target, labels = data.astype(xp.int64, copy=False), True
        bad = None
        if target.size and type(target) is not MetaArray and not (
                0 <= int(target.min()) and int(target.max()) < n):
            bad = (target != ignore_index) & ((target < 0) | (target >= n))
        if bad is not None and bool(bad.any()):
            raise ValueError(f"{op}: target contains class {int(target[bad][0])} but input has {n} "
                             f"classes (labels lie in [0, {n - 1}] or equal ignore_index="
                             f"{ignore_index})")
        target = Tensor(target)  # a constant of the graph, as Function.apply would wrap it
    if weight is not None:  # any dtype with class probabilities, as PyTorch
        weight = class_weight(op, weight, x, n, strict=labels)
    return x, target, a, labels, weight


def cross_entropy(input, target, weight=None, size_average=None,  # noqa: A002 - torch's names
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0, *, axis: int = 1) -> Tensor:
    """Cross entropy between softmax(input) and the target, fused and numerically stable.

    One node computes log-softmax and the negative log-likelihood. Its gradient with respect to the
    logits is the lecture's ``y - t`` (softmax output minus one-hot target), divided by N for the
    mean; with class weights it is ``(sum_c w_c t_c) y - w t``. The backward pass is written with
    chainrule ops, so the loss can be differentiated twice (e.g. for gradient penalties).

    Args:
        input: logits of shape (N, C) or (N, C, d1, ...) (the class axis is ``axis``), or (C,) for
            one unbatched sample.
        target: integer class labels of shape (N,) / (N, d1, ...), or class probabilities of the
            input's shape (these receive a gradient too).
        weight: optional class weights (C,), the third positional argument as in PyTorch;
            differentiated with class probabilities (refused with labels, as PyTorch's).
        size_average, reduce: PyTorch's removed options; anything but None is a TypeError.
        ignore_index: samples whose label equals this contribute nothing (labels only).
        reduction: "mean" (over samples, weighted by the target's class weight as in PyTorch),
            "sum" or "none" (one loss per sample, the labels' shape).
        label_smoothing: eps in [0, 1]: the target becomes ``(1 - eps) t + eps / C``.
        axis: the class axis of ``input`` (default 1, as in PyTorch).

    Returns:
        A 0-d Tensor, or per-sample losses for ``reduction="none"``.

    Shape:
        input (N, C, *), target (N, *) or (N, C, *) -> () or (N, *)

    >>> import chainrule as cr
    >>> z = cr.tensor([[0.0, 0.0]], requires_grad=True)
    >>> loss = cr.F.cross_entropy(z, cr.tensor([1]))
    >>> round(loss.item(), 4)
    0.6931
    >>> loss.backward()
    >>> z.grad.tolist()
    [[0.5, -0.5]]
    """
    op = "cross_entropy"
    if (weight is not None or size_average is not None or reduce is not None
            or reduction not in _REDUCTIONS):
        reduction = _torch_loss_args(op, weight, size_average, reduce, reduction)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    label_smoothing, ignore_index = plain_number(label_smoothing), plain_number(ignore_index)
    if (type(label_smoothing) is not float and (not isinstance(label_smoothing, numbers.Real)
                                                or isinstance(label_smoothing, bool))
            or not 0.0 <= label_smoothing <= 1.0):
        raise ValueError(f"{op}: label_smoothing must be a number in [0, 1], got "
                         f"{label_smoothing!r}")
    z, target, a, labels, weight = _class_args(op, input, target, weight, ignore_index, axis,
                                               allow_probs=True)
    if isinstance(weight, Tensor):  # it requires grad (probabilities): PyTorch differentiates it
        return weighted_soft_cross_entropy(z, target, weight, a, reduction, float(label_smoothing))
    return CrossEntropy.apply(z, target, axis=a, labels=labels, weight=weight,
                              ignore_index=int(ignore_index), reduction=reduction,
                              smoothing=float(label_smoothing))


def nll_loss(input, target, weight=None, size_average=None,  # noqa: A002 - torch's names
             ignore_index: int = -100, reduce=None, reduction: str = "mean", *,
             axis: int = 1) -> Tensor:
    """Negative log-likelihood ``-input[n, target[n]]`` of integer class labels.

    ``nll_loss(log_softmax(z, axis=1), t)`` equals ``cross_entropy(z, t)``; the fused
    ``cross_entropy`` is faster. The positional order is PyTorch's (``weight`` third).

    Args:
        input: log-probabilities of shape (N, C) or (N, C, d1, ...), or (C,).
        target: integer class labels of shape (N,) or (N, d1, ...).
        weight: optional class weights of shape (C,).
        size_average, reduce: PyTorch's removed options; anything but None is a TypeError.
        ignore_index: label of samples that contribute nothing.
        reduction: "mean" (weighted as in ``cross_entropy``), "sum" or "none".
        axis: the class axis of ``input``.
    """
    op = "nll_loss"
    ignore_index = plain_number(ignore_index)  # a 0-d tensor too, as PyTorch's
    reduction = _torch_loss_args(op, weight, size_average, reduce, reduction)
    _check_reduction(op, reduction)
    log_probs, target, a, _, weight = _class_args(op, input, target, weight, ignore_index, axis,
                                                  allow_probs=False)
    return NLLLoss.apply(log_probs, target, axis=a, weight=weight, ignore_index=int(ignore_index),
                         reduction=reduction, smoothing=0.0)


