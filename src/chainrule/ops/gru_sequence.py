"""A whole GRU sequence (one layer, one direction) as one node of the graph.

The GRU's twin of ``ops.lstm_sequence``: ``GRUSequence`` runs all T steps in one forward and
backpropagates through time in one backward, with ``kernels.gru`` doing the array work. For
``create_graph=True`` the engine differentiates ``composite`` instead, the same steps written with
recorded ops, so its gradients can be differentiated again.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..kernels import K
from ..kernels.gru import gru_backward
from ._sequence_args import check_sequence_args
from .activation import sigmoid, tanh
from .join import split, stack
from .linalg import linear

__all__ = ["gru_sequence"]


class GRUSequence(Function):
    """Inputs x (T, B, E), h0 (B, H), W_ih (3H, E), W_hh (3H, H) and, with biases, b_ih and b_hh
    (3H,); params ``reverse`` and ``mask`` as for ``LSTMSequence``. Outputs: every step's h
    (T, B, H) and the final h (B, H)."""

    def forward(self, x, h0, w_ih, w_hh, *biases):
        out, h, self.saved = K.gru_forward(x, h0, w_ih, w_hh, *biases, reverse=self.reverse,
                                           mask=self.mask, save=self.recording)
        return out, h

    def backward(self, g_out, g_h):
        need = self.needs_input_grad
        grads = gru_backward(self.saved, g_out._data, g_h._data, need_x=need[0],
                             need_w=any(need[2:]))
        return tuple(None if a is None or not n else Tensor(a)
                     for a, n in zip(grads, need))  # 4 inputs without biases, 6 with

    def composite(self, x, h0, w_ih, w_hh, *biases):
        """The same steps as recorded ops, for ``create_graph`` (see the module's notes)."""
        b_ih, b_hh = biases if biases else (None, None)
        steps, hidden = x.shape[0], h0.shape[-1]
        h, outs = h0, [None] * steps
        for t in range(steps - 1, -1, -1) if self.reverse else range(steps):
            i_r, i_z, i_n = split(linear(x[t], w_ih, b_ih), hidden, axis=-1)
            h_r, h_z, h_n = split(linear(h, w_hh, b_hh), hidden, axis=-1)
            r, z = sigmoid(i_r + h_r), sigmoid(i_z + h_z)
            n = tanh(i_n + r * h_n)
            h_new = n + z * (h - n)
            if self.mask is None:
                outs[t] = h = h_new
            else:  # an inactive sequence's state passes the step unchanged; its output is 0
                m = Tensor(self.mask[t][:, None].astype(x.dtype))
                outs[t], h = h_new * m, m * h_new + (1 - m) * h
        return stack(outs), h


def gru_sequence(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, reverse=False, mask=None):
    """Run a GRU layer's one direction over a whole sequence, as one node.

    Args:
        x: inputs (T, B, E), time first.
        h0: the initial state (B, H).
        w_ih, w_hh: weights (3H, E) and (3H, H), gates (r, z, n) as in PyTorch.
        b_ih, b_hh: biases (3H,), both or neither.
        reverse: read the steps from the last to the first.
        mask: (T, B) booleans or None; where False, that sequence's state passes the step
            unchanged and its output there is zero (sequences of different lengths).

    Returns:
        (output (T, B, H), h_n (B, H)).
    """
    mask = check_sequence_args("gru_sequence", 3, x, h0, w_ih, w_hh, b_ih, b_hh, mask)
    biases = () if b_ih is None else (b_ih, b_hh)
    return GRUSequence.apply(x, h0, w_ih, w_hh, *biases, reverse=bool(reverse), mask=mask)
