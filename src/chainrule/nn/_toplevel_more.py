"""PyTorch's top-level losses, grid sampling and recurrent cells (``torch.kl_div``,
``torch.grid_sampler``, ``torch.lstm_cell``...), each the ``nn.functional`` computation called with
PyTorch's top-level arguments: a reduction is the int 0 ("none"), 1 ("mean") or 2 ("sum"),
a sampling mode and padding mode are ints too, and nothing is keyword-only but ``log_target``.

An omitted reduction is 0, "none": PyTorch's schemas say ``reduction=Mean``, but its Python
binding reads that default as 0, so ``torch.kl_div(x, t)`` is elementwise while ``F.kl_div(x, t)``
is a mean; chainrule returns what PyTorch 2.13 returns.
"""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor
from ..ops.linalg import linear
from . import functional as F  # noqa: N812 - the conventional alias
from ._recurrent_steps import _STEPS, _project

__all__ = [
    "affine_grid_generator", "bilinear", "binary_cross_entropy_with_logits",
    "cosine_embedding_loss", "ctc_loss", "grid_sampler", "gru_cell", "hinge_embedding_loss",
    "kl_div", "lstm_cell", "margin_ranking_loss", "poisson_nll_loss", "rnn_relu_cell",
    "rnn_tanh_cell", "triplet_margin_loss",
]

_REDUCTIONS = ("none", "mean", "sum")


def _enum(op, name, value, names):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not 0 <= value < len(names):
        choices = ", ".join(f"{k} ({n})" for k, n in enumerate(names))
        raise ValueError(f"{op}: {name} must be one of the ints {choices}, got {value!r}")
    return names[value]


def kl_div(input, target, reduction=0, *, log_target=False):  # noqa: A002
    """``F.kl_div``; ``reduction`` 1 is the mean over all elements (without F's warning that
    "mean" is not "batchmean")."""
    reduction = _enum("kl_div", "reduction", reduction, _REDUCTIONS)
    loss = F.kl_div(input, target, reduction="none" if reduction == "mean" else reduction,
                    log_target=log_target)
    return loss.mean() if reduction == "mean" else loss


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0,
             zero_infinity=False):
    """``F.ctc_loss``."""
    reduction = _enum("ctc_loss", "reduction", reduction, _REDUCTIONS)
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, reduction,
                      zero_infinity)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-06, swap=False,
                        reduction=0):
    """``F.triplet_margin_loss``."""
    reduction = _enum("triplet_margin_loss", "reduction", reduction, _REDUCTIONS)
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                 reduction=reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=0):
    """``F.margin_ranking_loss``."""
    reduction = _enum("margin_ranking_loss", "reduction", reduction, _REDUCTIONS)
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=reduction)


def hinge_embedding_loss(input, target, margin=1.0, reduction=0):  # noqa: A002
    """``F.hinge_embedding_loss``."""
    reduction = _enum("hinge_embedding_loss", "reduction", reduction, _REDUCTIONS)
    return F.hinge_embedding_loss(input, target, margin, reduction=reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=0):
    """``F.cosine_embedding_loss``."""
    reduction = _enum("cosine_embedding_loss", "reduction", reduction, _REDUCTIONS)
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=reduction)


def poisson_nll_loss(input, target, log_input, full, eps, reduction):  # noqa: A002
    """``F.poisson_nll_loss``; every argument required, as in PyTorch's top level."""
    reduction = _enum("poisson_nll_loss", "reduction", reduction, _REDUCTIONS)
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None,  # noqa: A002
                                     reduction=0):
    """``F.binary_cross_entropy_with_logits``; note ``pos_weight`` is the fourth argument here."""
    reduction = _enum("binary_cross_entropy_with_logits", "reduction", reduction, _REDUCTIONS)
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=reduction,
                                              pos_weight=pos_weight)


def bilinear(input1, input2, weight, bias=None):
    """``F.bilinear``."""
    return F.bilinear(input1, input2, weight, bias)


def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):  # noqa: A002
    """``F.grid_sample`` with the modes as ints: interpolation 0 "bilinear", 1 "nearest",
    2 "bicubic"; padding 0 "zeros", 1 "border", 2 "reflection" (those F supports)."""
    mode = _enum("grid_sampler", "interpolation_mode", interpolation_mode,
                 ("bilinear", "nearest", "bicubic"))
    padding = _enum("grid_sampler", "padding_mode", padding_mode,
                    ("zeros", "border", "reflection"))
    return F.grid_sample(input, grid, mode, padding, bool(align_corners))


def affine_grid_generator(theta, size, align_corners):
    """``F.affine_grid``."""
    return F.affine_grid(theta, list(size), bool(align_corners))


def _cell(op, mode, input, hx, w_ih, w_hh, b_ih, b_hh):  # noqa: A002
    """One step of PyTorch's functional cell: the weights as given, batched (N, H_in) input."""
    states = tuple(hx) if mode == "LSTM" else (hx,)
    if mode == "LSTM" and len(states) != 2:
        raise ValueError(f"{op}: hx must be the pair (h, c), got {len(states)} tensors")
    tensors = {"input": input, "w_ih": w_ih, "w_hh": w_hh, **dict(zip(("h", "c"), states))}
    for name, t in tensors.items():
        if not isinstance(t, Tensor) or t.ndim != 2:
            got = tuple(t.shape) if hasattr(t, "shape") else type(t).__name__
            raise ValueError(f"{op}: {name} must be a 2-D Tensor, got {got}")
    n, hidden = input.shape[0], w_hh.shape[1]
    rows = {"LSTM": 4, "GRU": 3}.get(mode, 1) * hidden
    if w_ih.shape != (rows, input.shape[1]) or w_hh.shape != (rows, hidden):
        raise ValueError(f"{op}: with input {input.shape} and hidden size {hidden}, w_ih must be "
                         f"{(rows, input.shape[1])} and w_hh {(rows, hidden)}; got {w_ih.shape} "
                         f"and {w_hh.shape}")
    for name, t in (("h", states[0]), ("c", states[-1])):
        if t.shape != (n, hidden):
            raise ValueError(f"{op}: {name} must be {(n, hidden)}, got {t.shape}")
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None and tuple(b.shape) != (rows,):
            raise ValueError(f"{op}: {name} must be ({rows},), got {tuple(b.shape)}")
    if b_hh is None:  # _project folds b_hh into the input projection when there is one
        xw = linear(input, w_ih, b_ih)
    else:
        xw, b_hh = _project(mode, input, w_ih, b_ih, b_hh)
    out = _STEPS[mode](xw, states, w_hh, b_hh)
    return out if mode == "LSTM" else out[0]


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    """One LSTM step (gates i, f, g, o): the pair (h', c') from ``hx`` = (h, c)."""
    return _cell("lstm_cell", "LSTM", input, hx, w_ih, w_hh, b_ih, b_hh)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    """One GRU step (gates r, z, n): h'."""
    return _cell("gru_cell", "GRU", input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    """One Elman step ``tanh(W_ih x + b_ih + W_hh h + b_hh)``."""
    return _cell("rnn_tanh_cell", "RNN_TANH", input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    """One Elman step ``relu(W_ih x + b_ih + W_hh h + b_hh)``."""
    return _cell("rnn_relu_cell", "RNN_RELU", input, hx, w_ih, w_hh, b_ih, b_hh)
