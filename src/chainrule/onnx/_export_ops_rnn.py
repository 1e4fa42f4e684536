"""Converters of recurrent layers for ``chainrule.onnx.export``: one direction of one LSTM or GRU
layer over a whole sequence (``LSTMSequence``, ``GRUSequence``) becomes ONNX's LSTM or GRU node.

chainrule keeps PyTorch's gate order, (i, f, g, o) for the LSTM and (r, z, n) for the GRU; ONNX's
is (i, o, f, c) and (z, r, h), so the weights' row blocks are reordered by ``Gather`` nodes (the
initializers keep the state-dict names and values). PyTorch's GRU applies the reset gate after
the recurrent product, ONNX's ``linear_before_reset=1``. A zero initial state (the default when
none is passed) is left out, so a dynamic batch axis needs no state of a fixed batch size.
Packed sequences (a ``mask``) are refused: their lengths come from the input values.
"""

from __future__ import annotations

from ..backend import numpy as np
from ..ops.gru_sequence import GRUSequence
from ..ops.lstm_sequence import LSTMSequence
from ._export_ops import converts

__all__: list[str] = []


def _blocks(order, hidden):
    """Row indices taking PyTorch's gate blocks in ONNX's ``order`` (indices into PyTorch's)."""
    return np.concatenate([np.arange(k * hidden, (k + 1) * hidden) for k in order])


def _weights(g, s, w_ih, w_hh, biases, rows):
    """W, R and B inputs of ONNX's LSTM/GRU: gate rows reordered, a direction axis added."""
    index = g.const(rows.astype(np.int64), "gate_rows")
    w = g.unsqueeze(g.op("Gather", [w_ih, index], axis=0), [0])
    r = g.unsqueeze(g.op("Gather", [w_hh, index], axis=0), [0])
    if not biases:
        return w, r, ""
    b = g.op("Concat", [g.op("Gather", [b, index], axis=0) for b in biases], axis=0)
    return w, r, g.unsqueeze(b, [0])


def _state(g, x):
    return "" if x == "" else g.unsqueeze(x, [0])


def _check(s):
    if s["mask"] is not None:
        raise s.refuse("packed sequences (a mask of lengths) depend on the input values")


@converts(LSTMSequence, zeros=(1, 2))
def _lstm(g, s):
    _check(s)
    x, h0, c0, w_ih, w_hh, *biases = s.inputs
    hidden = s.in_shapes[3][0] // 4
    w, r, b = _weights(g, s, w_ih, w_hh, biases, _blocks((0, 3, 1, 2), hidden))
    y, h, c = g.op("LSTM", [x, w, r, b, "", _state(g, h0), _state(g, c0)], n_out=3,
                   hidden_size=hidden, direction="reverse" if s["reverse"] else "forward")
    return [g.squeeze(y, [1]), g.squeeze(h, [0]), g.squeeze(c, [0])]


@converts(GRUSequence, zeros=(1,))
def _gru(g, s):
    _check(s)
    x, h0, w_ih, w_hh, *biases = s.inputs
    hidden = s.in_shapes[2][0] // 3
    w, r, b = _weights(g, s, w_ih, w_hh, biases, _blocks((1, 0, 2), hidden))
    y, h = g.op("GRU", [x, w, r, b, "", _state(g, h0)], n_out=2, hidden_size=hidden,
                linear_before_reset=1, direction="reverse" if s["reverse"] else "forward")
    return [g.squeeze(y, [1]), g.squeeze(h, [0])]
