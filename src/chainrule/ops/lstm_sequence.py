"""A whole LSTM sequence (one layer, one direction) as one node of the graph.

Unrolled step by step, an LSTM of T steps records about a dozen nodes per step, and the backward
pass visits each of them. ``LSTMSequence`` runs all T steps in one forward and backpropagates
through time in one backward, calling ``kernels.lstm`` for the array work (one product for the
input projection of every step, one per step for ``h @ W_hh^T``, one each after the loop for
the weight and input gradients).

Its backward hands the arrays saved by forward to the kernel. For ``create_graph=True`` the
engine differentiates ``composite`` instead: the same steps written with recorded ops, so the
gradients it returns can be differentiated again, as every chainrule op's can.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..kernels import K
from ..kernels.lstm import lstm_backward
from ._sequence_args import check_sequence_args
from .activation import sigmoid, tanh
from .join import split, stack
from .linalg import linear

__all__ = ["lstm_sequence"]


class LSTMSequence(Function):
    """Inputs x (T, B, E), h0 and c0 (B, H), W_ih (4H, E), W_hh (4H, H) and, with biases, b_ih
    and b_hh (4H,); params ``reverse`` (read the steps last to first) and ``mask`` ((T, B)
    booleans or None: an inactive sequence's state passes a step unchanged, its output is 0).
    Outputs: every step's h (T, B, H), the final h and the final c (B, H)."""

    def forward(self, x, h0, c0, w_ih, w_hh, *biases):
        b = biases[0] + biases[1] if biases else None
        out, h, c, self.saved = K.lstm_forward(x, h0, c0, w_ih, w_hh, b, reverse=self.reverse,
                                               mask=self.mask, save=self.recording)
        return out, h, c

    def backward(self, g_out, g_h, g_c):
        need = self.needs_input_grad
        dx, dh, dc, dw_ih, dw_hh, db = lstm_backward(
            self.saved, g_out._data, g_h._data, g_c._data, need_x=need[0], need_h0=need[1],
            need_w=any(need[3:]))
        grads = [dx, dh, dc, dw_ih, dw_hh]
        if len(need) == 7:
            grads += [db, None if db is None else db.copy()]
        return tuple(None if a is None or not n else Tensor(a)
                     for a, n in zip(grads, need, strict=True))

    def composite(self, x, h0, c0, w_ih, w_hh, *biases):
        """The same steps as recorded ops, for ``create_graph`` (see the module's notes)."""
        steps, hidden = x.shape[0], h0.shape[-1]
        b = biases[0] + biases[1] if biases else None
        h, c, outs = h0, c0, [None] * steps
        for t in range(steps - 1, -1, -1) if self.reverse else range(steps):
            i, f, g, o = split(linear(x[t], w_ih, b) + linear(h, w_hh), hidden, axis=-1)
            i, f, g, o = sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
            c_new = f * c + i * g
            h_new = o * tanh(c_new)
            if self.mask is None:
                outs[t], h, c = h_new, h_new, c_new
            else:  # an inactive sequence's state passes the step unchanged; its output is 0
                m = Tensor(self.mask[t][:, None].astype(x.dtype))
                outs[t] = h_new * m
                h, c = m * h_new + (1 - m) * h, m * c_new + (1 - m) * c
        return stack(outs), h, c


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
