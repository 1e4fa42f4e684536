"""Connectionist temporal classification (CTC) loss: the negative log-probability of a label
sequence summed over all its frame alignments (Graves et al., 2006), PyTorch's ``F.ctc_loss``.

A target ``l`` of length S is extended with blanks to ``l' = (blank, l1, blank, l2, ..., blank)``
of length 2S + 1. An alignment walks through ``l'`` one frame at a time, staying, moving one step,
or skipping a blank between two different labels. The forward variables ``alpha[t, s]`` (log of
the probability of the alignments of frames 0..t ending in state s) and the backward variables
``beta[t, s]`` (frames t..T-1 starting in s) obey a three-term recursion, run here in log space
for the whole batch and all states at once, one time step per iteration. Both include the frame's
own emission, so ``alpha[t, s] + beta[t, s] - log_probs[t, l'_s]`` is the log-probability of the
alignments passing through state s at time t, and the gradient of the loss is those occupancies,
normalized by the sequence's probability, summed per class.

The gradient is the true derivative with respect to ``log_probs``. PyTorch's adds
``exp(log_probs)`` to it (the derivative with respect to the logits of a log_softmax); the two
agree after a log_softmax, the usual case (docs/pytorch.md, "What differs on purpose").
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor, tensor
from ..backend import device_of, get_array_module, to_device
from . import _ctc_args as args
from ._classification import _check_reduction
from ._logsumexp import _errstate
from ._loss_args import legacy_reduction
from .elementwise import where
from .join import concat, stack
from .reduce import logsumexp
from .reduce import mean as _mean
from .reduce import sum as _sum
from .shape import broadcast_to, getitem

__all__ = ["ctc_loss"]


def _lse3(xp, a, b, c):
    """log(exp(a) + exp(b) + exp(c)) elementwise, -inf where all three are -inf."""
    m = xp.maximum(xp.maximum(a, b), c)
    m = xp.where(xp.isfinite(m), m, 0)
    with _errstate(xp):
        return xp.log(xp.exp(a - m) + xp.exp(b - m) + xp.exp(c - m)) + m


def _shift(xp, x, k, fill):
    """``x`` moved k places along the last axis (right for k > 0, left for k < 0), ``fill`` in."""
    out = xp.full_like(x, fill)
    if k > 0:
        out[..., k:] = x[..., :-k]
    else:
        out[..., :k] = x[..., -k:]
    return out


def _moved(x, k, floor):
    """The recorded (N, L) ``x`` moved k states right, ``floor`` in the k states it leaves."""
    n, length = x.shape
    if k >= length:
        return broadcast_to(floor, (n, length))
    return concat([broadcast_to(floor, (n, k)), getitem(x, (slice(None), slice(0, length - k)))], 1)


class CTCLoss(Function):
    """Per-sample CTC negative log-likelihood of log_probs (T, N, C); the alignment structure
    (``ext``, ``valid``, ``skip``, ``ends``, the lengths) is a constant of the node."""

    def forward(self, lp):
        xp = get_array_module(lp)
        ninf = -xp.inf
        n = lp.shape[1]
        rows = xp.arange(n)[:, None]
        e = xp.where(self.valid[None], lp[:, rows, self.ext], ninf)  # (T, N, L)
        alpha = xp.full(e.shape, ninf, dtype=lp.dtype)
        if e.shape[0]:
            alpha[0, :, :2] = e[0, :, :2]
        for t in range(1, e.shape[0]):
            prev = alpha[t - 1]
            two = xp.where(self.skip, _shift(xp, prev, 2, ninf), ninf)
            alpha[t] = _lse3(xp, prev, _shift(xp, prev, 1, ninf), two) + e[t]
        last = xp.maximum(self.il - 1, 0)
        end = alpha[last, xp.arange(n)]  # (N, L): alpha at each sample's last frame
        both = xp.take_along_axis(end, self.ends, axis=1)
        both[:, 1] = xp.where(self.tl > 0, both[:, 1], ninf)
        loglik = _lse3(xp, both[:, 0], both[:, 1], xp.full_like(both[:, 0], ninf))
        # No frames: only the empty target has an alignment (probability 1).
        loglik = xp.where(self.il == 0, xp.where(self.tl == 0, 0.0, ninf), loglik)
        nll = -loglik
        self.infinite = xp.isinf(nll)
        if self.zero_infinity:
            nll = xp.where(self.infinite, 0.0, nll)
        if self.recording:
            self.e, self.alpha, self.nll = e, alpha, -loglik
        return nll.astype(lp.dtype, copy=False)

    def backward(self, g):
        xp = get_array_module(self.e)
        e, ninf = self.e, -xp.inf
        beta = xp.full(e.shape, ninf, dtype=e.dtype)
        t_end = self.il - 1
        cols = xp.arange(e.shape[2])[None, :]
        at_end = (cols == self.ends[:, :1]) | ((cols == self.ends[:, 1:]) & (self.tl[:, None] > 0))
        skip_ahead = _shift(xp, self.skip, -2, False)
        nxt = beta[0]
        for t in range(e.shape[0] - 1, -1, -1):
            two = xp.where(skip_ahead, _shift(xp, nxt, -2, ninf), ninf)
            rec = _lse3(xp, nxt, _shift(xp, nxt, -1, ninf), two) + e[t]
            start = xp.where(at_end, e[t], ninf)
            here = (t == t_end)[:, None]
            nxt = xp.where(here, start, xp.where((t < t_end)[:, None], rec, ninf))
            beta[t] = nxt
        with _errstate(xp):
            occupancy = self.alpha + beta - xp.where(xp.isfinite(e), e, 0)
        # Posterior occupancy of each state (in [0, 1]); NaN for a sample with no alignment, as
        # the gradient of an infinite loss is undefined (PyTorch's is NaN too).
        nll = xp.where(self.infinite, 0.0, self.nll)[None, :, None]
        post = xp.exp(xp.where(self.valid[None], occupancy, ninf) + nll)
        post = xp.where(self.infinite[None, :, None], 0.0 if self.zero_infinity else xp.nan, post)
        classes = self.onehot(e.dtype)  # (N, L, C)
        grad = -xp.matmul(post.transpose(1, 0, 2), classes).transpose(1, 0, 2)
        return Tensor(grad) * g.reshape(1, -1, 1)

    def onehot(self, dtype):
        xp = get_array_module(self.ext)
        return (self.ext[:, :, None] == xp.arange(self.n_classes)).astype(dtype)

    def composite(self, lp):  # the alpha recursion as recorded ops, for create_graph
        xp = get_array_module(lp._data)
        floor = Tensor(xp.asarray(-1e30, dtype=lp.dtype))  # finite: its gradients stay finite
        n, length = self.ext.shape
        e = where(self.valid[None], getitem(lp, (slice(None), xp.arange(n)[:, None], self.ext)),
                  floor)
        alpha = where(xp.arange(length) < 2, getitem(e, 0), floor)
        end = alpha
        for t in range(1, e.shape[0]):
            two = where(self.skip, _moved(alpha, 2, floor), floor)
            step = logsumexp(stack([alpha, _moved(alpha, 1, floor), two], 0), 0)
            alpha = where(self.valid, step + getitem(e, t), floor)
            end = where((self.il - 1 == t)[:, None], alpha, end)
        rows = xp.arange(n)
        last = getitem(end, (rows, self.ends[:, 0]))
        before = where(self.tl > 0, getitem(end, (rows, self.ends[:, 1])), floor)
        nll = -logsumexp(stack([last, before], 0), 0)
        # What the first-order rule gives: no gradient from an empty input, NaN from an infinite
        # loss (0 with zero_infinity).
        scale = xp.where(self.il == 0, 0.0, 1.0)
        scale = xp.where(self.infinite, 0.0 if self.zero_infinity else xp.nan, scale)
        return nll * Tensor(scale.astype(lp.dtype))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """CTC loss of label sequences given per-frame log-probabilities, PyTorch's ``F.ctc_loss``.

    Args:
        log_probs: (T, N, C) log-probabilities over C classes (blank included) per frame, usually
            a ``log_softmax`` over the last axis; (T, C) for one unbatched sequence.
        targets: the label sequences, padded (N, S) or concatenated 1-D (the sum of
            ``target_lengths``), or (S,) unbatched; integer classes other than ``blank``.
        input_lengths: the number of frames of each sample (N,), each at most T.
        target_lengths: the number of labels of each sample (N,).
        blank: the blank class.
        reduction: "mean" (each loss divided by its target length, at least 1, then the mean over
            the batch), "sum" or "none" (per-sample losses, shape (N,)).
        zero_infinity: give 0 (and a zero gradient) for a sample no alignment fits (too few
            frames for its labels), where the loss is otherwise inf.

    Returns:
        The loss Tensor (a scalar, or (N,) for "none"; () unbatched with "none").
    """
    reduction = legacy_reduction(None, None, reduction)  # PyTorch 0.4's "elementwise_mean"
    _check_reduction("ctc_loss", reduction)
    lp = log_probs if isinstance(log_probs, Tensor) else tensor(log_probs)
    if lp._data.dtype.kind != "f":
        raise TypeError(f"ctc_loss: log_probs must have a floating-point dtype, got "
                        f"{lp._data.dtype}")
    if lp.ndim not in (2, 3):
        raise ValueError(f"ctc_loss: log_probs must be (T, N, C) or unbatched (T, C), got shape "
                         f"{tuple(lp.shape)}")
    batched = lp.ndim == 3
    if not batched:
        lp = lp.reshape(lp.shape[0], 1, lp.shape[1])
    t_max, n, c = lp.shape
    if t_max == 0 or c == 0:
        raise ValueError(f"ctc_loss: log_probs must have at least one frame and one class, got "
                         f"shape {tuple(log_probs.shape)}")
    if isinstance(blank, bool) or not isinstance(blank, int) or not 0 <= blank < c:
        raise ValueError(f"ctc_loss: blank must be a class in [0, {c - 1}], got {blank!r}")
    il = args.lengths("input_lengths", input_lengths, n, t_max, f"log_probs has T = {t_max} frames")
    padded, tl = args.padded_targets(targets, n, target_lengths, batched)
    args.check_labels(padded, tl, c, blank)
    host = args.numpy
    ext = host.full((n, 2 * padded.shape[1] + 1), blank, host.int64)
    ext[:, 1::2] = padded
    states = host.arange(ext.shape[1])
    valid = states[None, :] < 2 * tl[:, None] + 1
    skip = host.zeros(ext.shape, bool)
    skip[:, 2:] = (ext[:, 2:] != ext[:, :-2]) & (states[2:] % 2 == 1)
    skip &= valid
    ends = host.stack([2 * tl, host.maximum(2 * tl - 1, 0)], axis=1)
    dev = device_of(lp._data)
    const = {k: to_device(v, dev) for k, v in
             dict(ext=ext, valid=valid, skip=skip, ends=ends, il=il, tl=tl).items()}
    nll = CTCLoss.apply(lp, n_classes=c, zero_infinity=bool(zero_infinity), **const)
    if reduction == "none":
        return nll if batched else nll.reshape(())
    if reduction == "sum":
        return _sum(nll)
    per_label = Tensor(to_device(host.maximum(tl, 1).astype(lp._data.dtype), dev))
    return _mean(nll / per_label)
