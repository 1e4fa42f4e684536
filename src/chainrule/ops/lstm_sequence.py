"""A whole LSTM sequence (one layer, one direction) as one node of the graph.

Unrolled step by step, an LSTM of T steps records about a dozen nodes per step, and the backward
pass visits each of them. ``LSTMSequence`` runs all T steps in one forward and backpropagates
through time in one backward, calling ``kernels.lstm`` for the array work (one product for the
input projection of every step, one per step for ``h @ W_hh^T``, one each after the loop for
the weight and input gradients).

Its backward serves both orders. A first-order backward (recording off) hands the arrays saved
by forward to the kernel. A recorded one (``create_graph=True``) rebuilds the steps from the
inputs with recorded ops and writes the same backpropagation-through-time formulas with them,
so the gradients it returns can be differentiated again, as every chainrule op's can.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..kernels.lstm import lstm_backward, lstm_forward
from ._sequence_args import check_sequence_args
from .activation import sigmoid, tanh
from .join import concat, split, stack
from .linalg import linear, matmul
from .reduce import sum as _sum
from .shape import reshape, transpose

__all__ = ["lstm_sequence"]


class LSTMSequence(Function):
    """Inputs x (T, B, E), h0 and c0 (B, H), W_ih (4H, E), W_hh (4H, H) and, with biases, b_ih
    and b_hh (4H,); params ``reverse`` (read the steps last to first) and ``mask`` ((T, B)
    booleans or None: an inactive sequence's state passes a step unchanged, its output is 0).
    Outputs: every step's h (T, B, H), the final h and the final c (B, H)."""

    def forward(self, x, h0, c0, w_ih, w_hh, *biases):
        b = biases[0] + biases[1] if biases else None
        out, h, c, self.saved = lstm_forward(x, h0, c0, w_ih, w_hh, b, reverse=self.reverse,
                                             mask=self.mask, keep=self.recording)
        return out, h, c

    def backward(self, g_out, g_h, g_c):
        if is_grad_enabled():  # create_graph: the same rule, recorded
            return _recorded_backward(self, g_out, g_h, g_c)
        need = self.needs_input_grad
        dx, dh, dc, dw_ih, dw_hh, db = lstm_backward(
            self.saved, g_out._data, g_h._data, g_c._data, need_x=need[0], need_h0=need[1],
            need_w=any(need[3:]))
        grads = [dx, dh, dc, dw_ih, dw_hh]
        if len(need) == 7:
            grads += [db, None if db is None else db.copy()]
        return tuple(None if a is None or not n else Tensor(a)
                     for a, n in zip(grads, need, strict=True))


def _recorded_backward(fn, g_out, g_h, g_c):
    """The gradients of ``fn``'s inputs, computed with recorded ops (see the module's notes)."""
    x, h0, c0, w_ih, w_hh, *biases = fn.inputs
    steps, batch, hidden = x.shape[0], x.shape[1], h0.shape[-1]
    b = biases[0] + biases[1] if biases else None
    masks = [None] * steps
    if fn.mask is not None:
        masks = [Tensor(fn.mask[t][:, None].astype(x.dtype)) for t in range(steps)]
    order = list(range(steps - 1, -1, -1) if fn.reverse else range(steps))
    h, c, saved = h0, c0, [None] * steps
    for t in order:
        i, f, g, o = split(linear(x[t], w_ih, b) + linear(h, w_hh), hidden, axis=-1)
        i, f, g, o = sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
        c_new = f * c + i * g
        tc = tanh(c_new)
        saved[t] = (h, c, i, f, g, o, tc)
        m = masks[t]
        h, c = (o * tc, c_new) if m is None else (m * (o * tc) + (1 - m) * h,
                                                  m * c_new + (1 - m) * c)
    dh, dc, dz = g_h, g_c, [None] * steps
    for t in reversed(order):
        h_in, c_in, i, f, g, o, tc = saved[t]
        m = masks[t]
        dh_new = dh + g_out[t] if m is None else (dh + g_out[t]) * m
        dc_new = (dc if m is None else dc * m) + dh_new * o * (1 - tc * tc)
        dz[t] = concat([dc_new * g * i * (1 - i), dc_new * c_in * f * (1 - f),
                        dc_new * i * (1 - g * g), dh_new * tc * o * (1 - o)], axis=-1)
        if m is None:
            dh, dc = matmul(dz[t], w_hh), dc_new * f
        else:  # an inactive sequence's state passed the step: so does its gradient
            dh, dc = matmul(dz[t], w_hh) + (1 - m) * dh, dc_new * f + (1 - m) * dc
    need = fn.needs_input_grad
    dz2 = reshape(stack(dz), steps * batch, 4 * hidden)
    grads = [reshape(matmul(dz2, w_ih), x.shape) if need[0] else None, dh, dc]
    grads.append(matmul(transpose(dz2, 0, 1), reshape(x, steps * batch, x.shape[2])) if need[3]
                 else None)
    h_in = reshape(stack([s[0] for s in saved]), steps * batch, hidden)
    grads.append(matmul(transpose(dz2, 0, 1), h_in) if need[4] else None)
    if biases:
        db = _sum(dz2, axis=0)
        grads += [db, db]
    return tuple(gr if n else None for gr, n in zip(grads, need, strict=True))


def lstm_sequence(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, *, reverse=False, mask=None):
    """Run an LSTM layer's one direction over a whole sequence, as one node.

    Args:
        x: inputs (T, B, E), time first.
        h0, c0: the initial state, each (B, H).
        w_ih, w_hh: weights (4H, E) and (4H, H), gates (i, f, g, o) as in PyTorch.
        b_ih, b_hh: biases (4H,), both or neither.
        reverse: read the steps from the last to the first.
        mask: (T, B) booleans or None; where False, that sequence's state passes the step
            unchanged and its output there is zero (sequences of different lengths).

    Returns:
        (output (T, B, H), h_n (B, H), c_n (B, H)).
    """
    mask = check_sequence_args("lstm_sequence", 4, x, h0, w_ih, w_hh, b_ih, b_hh, mask, c0=c0)
    biases = () if b_ih is None else (b_ih, b_hh)
    return LSTMSequence.apply(x, h0, c0, w_ih, w_hh, *biases, reverse=bool(reverse), mask=mask)
