"""A whole GRU sequence (one layer, one direction) as one node of the graph.

The GRU's twin of ``ops.lstm_sequence``: ``GRUSequence`` runs all T steps in one forward and
backpropagates through time in one backward, with ``kernels.gru`` doing the array work. A
first-order backward hands the arrays saved by forward to the kernel; a recorded one
(``create_graph=True``) rebuilds the steps from the inputs with recorded ops and writes the same
formulas with them, so its gradients can be differentiated again.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..kernels.gru import gru_backward, gru_forward
from ._sequence_args import check_sequence_args
from .activation import sigmoid, tanh
from .join import concat, split, stack
from .linalg import linear, matmul
from .reduce import sum as _sum
from .shape import reshape, transpose

__all__ = ["gru_sequence"]


class GRUSequence(Function):
    """Inputs x (T, B, E), h0 (B, H), W_ih (3H, E), W_hh (3H, H) and, with biases, b_ih and b_hh
    (3H,); params ``reverse`` and ``mask`` as for ``LSTMSequence``. Outputs: every step's h
    (T, B, H) and the final h (B, H)."""

    def forward(self, x, h0, w_ih, w_hh, *biases):
        out, h, self.saved = gru_forward(x, h0, w_ih, w_hh, *biases, reverse=self.reverse,
                                         mask=self.mask, keep=self.recording)
        return out, h

    def backward(self, g_out, g_h):
        if is_grad_enabled():  # create_graph: the same rule, recorded
            return _recorded_backward(self, g_out, g_h)
        need = self.needs_input_grad
        grads = gru_backward(self.saved, g_out._data, g_h._data, need_x=need[0],
                             need_w=any(need[2:]))
        return tuple(None if a is None or not n else Tensor(a)
                     for a, n in zip(grads, need))  # 4 inputs without biases, 6 with


def _recorded_backward(fn, g_out, g_h):
    """The gradients of ``fn``'s inputs, computed with recorded ops."""
    x, h0, w_ih, w_hh, *biases = fn.inputs
    b_ih, b_hh = biases if biases else (None, None)
    steps, batch, hidden = x.shape[0], x.shape[1], h0.shape[-1]
    masks = [None] * steps
    if fn.mask is not None:
        masks = [Tensor(fn.mask[t][:, None].astype(x.dtype)) for t in range(steps)]
    order = list(range(steps - 1, -1, -1) if fn.reverse else range(steps))
    h, saved = h0, [None] * steps
    for t in order:
        i_r, i_z, i_n = split(linear(x[t], w_ih, b_ih), hidden, axis=-1)
        h_r, h_z, h_n = split(linear(h, w_hh, b_hh), hidden, axis=-1)
        r, z = sigmoid(i_r + h_r), sigmoid(i_z + h_z)
        n = tanh(i_n + r * h_n)
        saved[t] = (h, r, z, n, h_n)
        h_new, m = n + z * (h - n), masks[t]
        h = h_new if m is None else m * h_new + (1 - m) * h
    dh, dgi, dgh = g_h, [None] * steps, [None] * steps
    for t in reversed(order):
        h_in, r, z, n, h_n = saved[t]
        m = masks[t]
        dh_new = dh + g_out[t] if m is None else (dh + g_out[t]) * m
        dan = dh_new * (1 - z) * (1 - n * n)
        dar = dan * h_n * r * (1 - r)
        daz = dh_new * (h_in - n) * z * (1 - z)
        dgi[t] = concat([dar, daz, dan], axis=-1)
        dgh[t] = concat([dar, daz, dan * r], axis=-1)
        carried = None if m is None else (1 - m) * dh  # an inactive sequence's, unchanged
        dh = dh_new * z + matmul(dgh[t], w_hh)
        if carried is not None:
            dh = dh + carried
    need, rows = fn.needs_input_grad, steps * batch
    dgi2 = reshape(stack(dgi), rows, 3 * hidden)
    dgh2 = reshape(stack(dgh), rows, 3 * hidden)
    h_in = reshape(stack([s[0] for s in saved]), rows, hidden)
    grads = [reshape(matmul(dgi2, w_ih), x.shape) if need[0] else None, dh,
             matmul(transpose(dgi2, 0, 1), reshape(x, rows, x.shape[2])) if need[2] else None,
             matmul(transpose(dgh2, 0, 1), h_in) if need[3] else None]
    if biases:
        grads += [_sum(dgi2, axis=0), _sum(dgh2, axis=0)]
    return tuple(gr if n else None for gr, n in zip(grads, need, strict=True))


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
