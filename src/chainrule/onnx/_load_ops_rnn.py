"""ONNX's recurrent operators LSTM, GRU and RNN, unrolled over time with chainrule ops.

Gate orders are ONNX's (LSTM: input, output, forget, cell; GRU: update, reset, hidden), both
directions and both layouts are supported, peepholes too; a ``sequence_lens`` input must give
every sequence the full length (padded batches are refused at run time rather than computed
differently from the file's intent).
"""

from __future__ import annotations

from .. import ops
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._load_ops import ints, op

__all__: list[str] = []

_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
_DEFAULT_ACTIVATIONS = {"LSTM": ("Sigmoid", "Tanh", "Tanh"), "GRU": ("Sigmoid", "Tanh"),
                        "RNN": ("Tanh",)}


# The Elman RNN's activation per direction (PyTorch's nonlinearity "tanh" or "relu", and more)
_RNN_ACTIVATIONS = {"Tanh": ops.tanh, "Relu": ops.relu, "Sigmoid": ops.sigmoid}


def _rnn_activations(attrs, directions):
    acts = [a.capitalize() for a in attrs.get("activations", ())] or ["Tanh"]
    return [_RNN_ACTIVATIONS[a] for a in (acts * directions if len(acts) == 1 else acts)]


def _check(kind):
    def check(attrs, n_inputs, used, opset):
        acts = tuple(a.capitalize() for a in attrs.get("activations", ()))
        default = _DEFAULT_ACTIVATIONS[kind]
        directions = 2 if attrs.get("direction") == "bidirectional" else 1
        if kind == "RNN" and acts and len(acts) in (1, directions) and all(
                a in _RNN_ACTIVATIONS for a in acts) and "activation_alpha" not in attrs:
            acts = ()
        if acts and acts not in (default, default * 2):
            return f"{kind} activations={list(attrs['activations'])}"
        if "clip" in attrs:
            return f"{kind} with clip"
        if attrs.get("input_forget", 0):
            return f"{kind} input_forget=1"
        return None
    return check


def _gate(g, k, hidden):
    return g[..., k * hidden:(k + 1) * hidden]


def _lstm_step(gx, h, c, r, rb, p, hidden):
    g = gx + h @ ops.transpose(r, 0, 1) + rb
    i, o, f, cell = (_gate(g, k, hidden) for k in range(4))
    if p is not None:
        i, f = i + _gate(p, 0, hidden) * c, f + _gate(p, 2, hidden) * c
    c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(cell)
    if p is not None:
        o = o + _gate(p, 1, hidden) * c
    return ops.sigmoid(o) * ops.tanh(c), c


def _gru_step(gx, h, r, rb, hidden, before_reset):
    # r stacks the gates' recurrent weights along its rows: (3 * hidden, hidden)
    rz = h @ ops.transpose(r[:2 * hidden], 0, 1) + _gate(rb, 0, 2 * hidden)
    z = ops.sigmoid(_gate(gx, 0, hidden) + _gate(rz, 0, hidden))
    reset = ops.sigmoid(_gate(gx, 1, hidden) + _gate(rz, 1, hidden))
    rh, rbh = ops.transpose(r[2 * hidden:], 0, 1), _gate(rb, 2, hidden)
    if before_reset:
        cand = reset * (h @ rh + rbh)
    else:
        cand = (reset * h) @ rh + rbh
    cand = ops.tanh(_gate(gx, 2, hidden) + cand)
    return (1 - z) * cand + z * h


def _check_lengths(seq_lens, steps, batch):
    if seq_lens is None:
        return
    lengths = ints(seq_lens)
    if lengths != (steps,) * batch:
        raise ValueError(f"recurrent op: sequence_lens must all equal the sequence length "
                         f"{steps}; padded batches of lengths {list(lengths)} are not supported")


def _run(kind, ctx, attrs, x, w, r, b=None, seq_lens=None, h0=None, c0=None, p=None):
    layout = attrs.get("layout", 0)
    if layout:
        x = ops.permute(x, (1, 0, 2))
        h0 = None if h0 is None else ops.permute(h0, (1, 0, 2))
        c0 = None if c0 is None else ops.permute(c0, (1, 0, 2))
    steps, batch = x.shape[0], x.shape[1]
    hidden = int(attrs.get("hidden_size") or r.shape[-1])
    _check_lengths(seq_lens, steps, batch)
    direction = attrs.get("direction", "forward")
    orders = {"forward": [False], "reverse": [True], "bidirectional": [False, True]}[direction]
    gates = _GATES[kind] * hidden
    xp = get_array_module(x._data)
    zeros = Tensor(xp.zeros((batch, hidden), dtype=x._data.dtype))
    ys, hs, cs = [], [], []
    act = _rnn_activations(attrs, len(orders)) if kind == "RNN" else None
    for d, backwards in enumerate(orders):
        gx = x @ ops.transpose(w[d], 0, 1)  # every step's input projection at once
        if b is not None:
            gx, rb = gx + b[d, :gates], b[d, gates:]
        else:
            rb = Tensor(xp.zeros(gates, dtype=x._data.dtype))
        h = zeros if h0 is None else h0[d]
        c = zeros if c0 is None else c0[d]
        pd = None if p is None else p[d]
        out = [None] * steps
        for t in (reversed(range(steps)) if backwards else range(steps)):
            if kind == "LSTM":
                h, c = _lstm_step(gx[t], h, c, r[d], rb, pd, hidden)
            elif kind == "GRU":
                h = _gru_step(gx[t], h, r[d], rb, hidden, attrs.get("linear_before_reset", 0))
            else:
                h = act[d](gx[t] + h @ ops.transpose(r[d], 0, 1) + rb)
            out[t] = h
        ys.append(ops.stack(out, 0))
        hs.append(h)
        cs.append(c)
    y, y_h, y_c = ops.stack(ys, 1), ops.stack(hs, 0), ops.stack(cs, 0)
    if layout:
        y, y_h, y_c = ops.permute(y, (2, 0, 1, 3)), ops.permute(y_h, (1, 0, 2)), \
            ops.permute(y_c, (1, 0, 2))
    return (y, y_h, y_c) if kind == "LSTM" else (y, y_h)


@op("LSTM", const=(4,), check=_check("LSTM"))
def _lstm(ctx, attrs, x, w, r, b=None, seq_lens=None, h0=None, c0=None, p=None):
    return _run("LSTM", ctx, attrs, x, w, r, b, seq_lens, h0, c0, p)


@op("GRU", const=(4,), check=_check("GRU"))
def _gru(ctx, attrs, x, w, r, b=None, seq_lens=None, h0=None):
    return _run("GRU", ctx, attrs, x, w, r, b, seq_lens, h0)


@op("RNN", const=(4,), check=_check("RNN"))
def _rnn(ctx, attrs, x, w, r, b=None, seq_lens=None, h0=None):
    return _run("RNN", ctx, attrs, x, w, r, b, seq_lens, h0)
