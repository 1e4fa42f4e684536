"""Recurrent layers: Elman RNN, LSTM and GRU, as one-step cells and as multi-layer sequence models.

The Elman RNN is unrolled in time over the same weights, so backpropagation through time is the
engine walking back through the unrolled graph. The input projection of every time step is one
matrix product before the loop; only the hidden-to-hidden product runs step by step. The LSTM and
the GRU run each layer's direction as one node (``ops.lstm_sequence``, ``ops.gru_sequence``):
forward over all steps and backpropagation through time in one call each, the same mathematics.
Parameter names, shapes, gate order and initialization follow PyTorch, so state dicts load
unchanged either way: LSTM gates are (i, f, g, o), GRU gates (r, z, n) with ``n = tanh(W_in x +
b_in + r * (W_hn h + b_hn))``.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.gru_sequence import gru_sequence
from ..ops.join import concat, stack
from ..ops.lstm_sequence import lstm_sequence
from ..ops.shape import getitem, transpose, unsqueeze
from . import init
from ._checks import float_dtype, positive_int, reset_with, resolve_rng
from ._recurrent_steps import (
    _GATES,
    _STEPS,
    ELMAN_CELL_MODE,
    SEQUENCE_ARGS,
    _cell_kind,
    _check_input,
    _check_proj_size,
    _initial_state,
    _project,
    _run_steps,
    _state_shapes,
    _WeightLists,
    _zero_start,
    _zero_state,
)
from ._rnn_helpers import LSTMHelpers, RNNHelpers
from .module import Module, Parameter
from .packing import PackedSequence, _in_batch_order, _order, _pad_packed
from .packing import _positions as packed_positions

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]

class _Recurrent(Module):
    """Shared hyperparameters, parameter creation and PyTorch's initialization."""

    def __init__(self, input_size, hidden_size, bias, nonlinearity, dtype, kind):
        super().__init__()
        who = type(self).__name__
        self._kind = kind
        self.input_size = positive_int(who, "input_size", input_size, int(kind != "CELL" and 1))
        self.hidden_size = positive_int(who, "hidden_size", hidden_size)
        self.bias = bool(bias)
        if self._kind == "RNN" and nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"{who}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        if self._kind == "RNN":
            self.nonlinearity = nonlinearity
        self._mode = f"RNN_{nonlinearity.upper()}" if self._kind == "RNN" else self._kind
        self._new_dtype = float_dtype(dtype, who)

    @property
    def _dtype(self):
        """The parameters' dtype (``Module.to`` may change it), from the stored Parameters: a
        parametrized weight is computed once per forward pass, as in PyTorch, not also here."""
        return next(self.parameters()).dtype

    def _add_weights(self, suffix, input_size, proj_size=0):
        xp = get_array_module()
        rows = _GATES.get(self._mode, getattr(self, "_chunks", 0)) * self.hidden_size
        shapes = {"weight_ih": (rows, input_size),
                  "weight_hh": (rows, proj_size or self.hidden_size)}
        if self.bias:
            shapes.update(bias_ih=(rows,), bias_hh=(rows,))
        if proj_size:
            shapes.update(weight_hr=(proj_size, self.hidden_size))
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
        for name in names[:4 + bool(proj_size)]:
            if name in shapes:
                empty = xp.empty(shapes[name], dtype=self._new_dtype)
                setattr(self, name + suffix, Parameter(empty))
            else:
                self.register_parameter(name + suffix, None)

    def reset_parameters(self, *, rng=None) -> None:
        """Draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (rng
        None: the default generator, which ``chainrule.manual_seed`` seeds)."""
        bound, rng = 1.0 / math.sqrt(self.hidden_size), resolve_rng(rng, type(self).__name__)
        for p in self.parameters():
            init.uniform_(p, -bound, bound, rng=rng)

    def _repr_flags(self) -> str:
        return (", bias=False" if not self.bias else "") + (
            ", nonlinearity=relu" if self._mode == "RNN_RELU" else "")


class RNNCellBase(_Recurrent):
    """The cells' base (PyTorch's): ``num_chunks`` gates, 1 for the Elman cell (``nonlinearity``
    "tanh" or "relu"), 4 for the LSTM's, 3 for the GRU's; ``forward`` runs one step."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, *,
                 rng=None, dtype=None, nonlinearity: str = "tanh"):
        self._chunks = num_chunks  # before the weights are made: _add_weights reads it
        super().__init__(input_size, hidden_size, bias, nonlinearity, dtype,
                         _cell_kind(type(self).__name__, num_chunks))
        self._add_weights("", self.input_size)
        reset_with(self, resolve_rng(rng, type(self).__name__))  # a subclass's own, if any

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name: cell(input=x, hx=h) runs
        """One time step: the new hidden state (for LSTMCell the pair (h', c')).

        Args:
            input: shaped (N, input_size) or, unbatched, (input_size,).
            hx: the previous state, shaped (N, hidden_size) or (hidden_size,); for LSTMCell a pair
                (h, c). None means zeros.
        """
        who, x = type(self).__name__, input
        if self._mode not in _STEPS:  # a subclass's cell of its own gates, without its forward
            raise NotImplementedError(f'Module [{who}] is missing the required "forward" function')
        _check_input(who, x, self.input_size, self._dtype, (1, 2), "(N, H_in) or (H_in,)")
        batched = x.ndim == 2
        shapes = _state_shapes(self._mode, x.shape[:-1], self.hidden_size)
        if hx is None:
            state = _zero_state(x, shapes)
        else:
            state = _initial_state(who, self._mode, hx, shapes, self._dtype)
        if not batched:
            x, state = unsqueeze(x, 0), tuple(unsqueeze(t, 0) for t in state)
        xw, b_hh = _project(self._mode, x, self.weight_ih, self.bias_ih, self.bias_hh)
        state = _STEPS[self._mode](xw, state, self.weight_hh, b_hh)
        if not batched:
            state = tuple(t[0] for t in state)
        return state if self._mode == "LSTM" else state[0]

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + self._repr_flags()


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``, act tanh or relu.

    Args:
        input_size: features of the input.
        hidden_size: features of the hidden state.
        bias: learn ``bias_ih`` and ``bias_hh``.
        nonlinearity: "tanh" or "relu".
        rng: numpy Generator for the initial weights (None: the default generator).
        dtype: floating-point dtype of the parameters.

    Shape:
        input (N, H_in), hx (N, H) -> h' (N, H); unbatched (H_in,), (H,) -> (H,).
    """

    _mode = ELMAN_CELL_MODE

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", *, rng=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, rng=rng, dtype=dtype,
                         nonlinearity=nonlinearity)


class LSTMCell(RNNCellBase):
    """One step of an LSTM: gates (i, f, g, o) from ``W_ih x + b_ih + W_hh h + b_hh``.

    ``c' = sigmoid(f) * c + sigmoid(i) * tanh(g)`` and ``h' = sigmoid(o) * tanh(c')``.

    Args:
        input_size, hidden_size, bias, rng, dtype: as for RNNCell.

    Shape:
        input (N, H_in), hx a pair of (N, H) -> the pair (h', c'), each (N, H).

    >>> import numpy as np
    >>> import chainrule as cr
    >>> from chainrule.nn.recurrent import LSTMCell
    >>> cell = LSTMCell(3, 5, rng=np.random.default_rng(0))
    >>> h, c = cell(cr.tensor(np.ones((2, 3), dtype="float32")))
    >>> h.shape, cell.weight_ih.shape
    ((2, 5), (20, 3))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *, rng=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, rng=rng, dtype=dtype)


class GRUCell(RNNCellBase):
    """One step of a GRU, gates (r, z, n) as in PyTorch.

    ``r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)``, ``z`` likewise, ``n = tanh(W_in x + b_in +
    r * (W_hn h + b_hn))`` and ``h' = (1 - z) * n + z * h``.

    Args:
        input_size, hidden_size, bias, rng, dtype: as for RNNCell.

    Shape:
        input (N, H_in), hx (N, H) -> h' (N, H).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *, rng=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, rng=rng, dtype=dtype)


class RNNBase(RNNHelpers, _WeightLists, _Recurrent):
    """RNN's, LSTM's and GRU's base (PyTorch's): ``mode`` "RNN_TANH", "RNN_RELU", "LSTM" or "GRU"
    picks the step; the other arguments as theirs below (``proj_size`` for the LSTM only)."""

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch compacts cuDNN's weight memory here; chainrule has none."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, *, rng=None, dtype=None):
        who = type(self).__name__
        if mode not in ("RNN_TANH", "RNN_RELU", "LSTM", "GRU"):
            raise ValueError(f"{who}: mode must be 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU', got "
                             f"{mode!r}")
        super().__init__(input_size, hidden_size, bias, "relu" if mode == "RNN_RELU" else "tanh",
                         dtype, mode[:3] if mode.startswith("RNN") else mode)
        self.proj_size = _check_proj_size(who, mode, proj_size, self.hidden_size)
        self.num_layers = positive_int(who, "num_layers", num_layers)
        if (isinstance(dropout, bool) or not isinstance(dropout, numbers.Real)
                or not 0 <= dropout <= 1):
            raise ValueError(f"{who}: dropout must be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and self.num_layers == 1:
            warnings.warn(
                f"{who}: dropout is applied between stacked layers only (not after the last), so "
                f"dropout={dropout} has no effect with num_layers=1", UserWarning, stacklevel=3)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        directions = 2 if self.bidirectional else 1
        for layer in range(self.num_layers):
            for d in range(directions):
                size = (self.input_size if layer == 0
                        else (self.proj_size or self.hidden_size) * directions)
                self._add_weights(f"_l{layer}" + ("_reverse" if d else ""), size, self.proj_size)
        self._rng = resolve_rng(rng, who)  # also draws the dropout masks during training
        reset_with(self, self._rng)  # a subclass's reset_parameters(self) too, as PyTorch's

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name: rnn(input=x, hx=h) runs
        """Run the whole sequence.

        Args:
            input: (L, N, H_in), or (N, L, H_in) with ``batch_first``, or unbatched (L, H_in);
                or a ``PackedSequence`` (``nn.utils.rnn.pack_padded_sequence``) of sequences of
                different lengths, each then run over its own steps only.
            hx: initial hidden state (D * num_layers, N, H) (unbatched: (D * num_layers, H)), for
                the LSTM a pair (h_0, c_0); None means zeros. D is 2 when bidirectional, else 1.
                With ``proj_size`` P > 0, h_0 is (D * num_layers, N, P) and the outputs have P
                features per direction in place of H.

        Returns:
            ``(output, h_n)``, for the LSTM ``(output, (h_n, c_n))``: output is (L, N, D * H)
            (batch first: (N, L, D * H)) and holds the last layer's hidden state at every step;
            h_n and c_n hold every layer's final state, shaped like hx. For a packed input the
            output is packed the same way, and h_n holds each sequence's state after its last
            real step (the reverse direction's after reading it from that step back to the
            first), in the batch's original order, as in PyTorch.
        """
        x = input
        if isinstance(x, PackedSequence):
            return self._forward_packed(x, hx)
        who = type(self).__name__
        layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
        _check_input(who, x, self.input_size, self._dtype, (2, 3), f"{layout} or (L, H_in)")
        batched = x.ndim == 3
        if batched and self.batch_first:
            x = transpose(x, 0, 1)
        if x.shape[0] == 0:
            raise ValueError(f"{who}: the input sequence is empty (L=0)")
        initial = None if hx is None else _initial_state(who, self._mode, hx,
                                                         self._state_shape(x), self._dtype)
        if not batched:
            x = unsqueeze(x, 1)
            initial = None if initial is None else tuple(unsqueeze(t, 1) for t in initial)
        x, h_n = self._layers(x, initial, None)
        if batched and self.batch_first:
            x = transpose(x, 0, 1)
        if not batched:
            x, h_n = x[:, 0], tuple(t[:, 0] for t in h_n)
        return x, (h_n if self._mode == "LSTM" else h_n[0])

    def _state_shape(self, x):
        lead = ((2 if self.bidirectional else 1) * self.num_layers,) + x.shape[1:-1]
        return _state_shapes(self._mode, lead, self.hidden_size, self.proj_size)

    def _forward_packed(self, packed, hx):
        """Run a PackedSequence: padded in time-major order, masked, packed again."""
        who = type(self).__name__
        _check_input(who, packed.data, self.input_size, self._dtype, (2,), "packed (steps, H_in)")
        padded, lengths = _pad_packed(packed, False, 0.0, None)
        initial = None if hx is None else _initial_state(who, self._mode, hx,
                                                         self._state_shape(padded), self._dtype)
        out, h_n = self._layers(padded, _in_batch_order(packed, initial), lengths)
        t_idx, b_idx, _ = packed_positions(lengths, _order(packed))
        data = getitem(out, (t_idx, b_idx))
        out = PackedSequence(data, packed.batch_sizes, packed.sorted_indices,
                             packed.unsorted_indices)
        return out, (h_n if self._mode == "LSTM" else h_n[0])

    def _layers(self, x, initial, lengths):
        """Every layer and direction over time-major ``x`` (L, N, H_in): (output, state tuple)."""
        directions = 2 if self.bidirectional else 1
        active = None
        if lengths is not None:  # per step, which sequences still run: (N, 1) booleans
            xp = get_array_module(x._data)
            steps = xp.arange(x.shape[0])[:, None, None]
            active = xp.asarray(lengths)[None, :, None] > steps
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for d in range(directions):
                k = layer * directions + d
                state = (tuple(getitem(t, k) for t in initial) if initial is not None
                         else _zero_start(self._mode, x, self.hidden_size, self.proj_size))
                out, state = self._run(x, state, f"_l{layer}" + ("_reverse" if d else ""), d,
                                       active)
                outputs.append(out)
                finals.append(state)
            x = outputs[0] if directions == 1 else concat(outputs, axis=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = self._drop(x)
        return x, tuple(stack(list(parts), axis=0) for parts in zip(*finals, strict=True))

    def _run(self, x, state, suffix, reverse, active=None):
        """One direction of one layer over all steps: (outputs (L, N, H), final state).

        ``active`` (L, N, 1) booleans, for sequences of different lengths: at a step where a
        sequence has ended (or, read backward, not yet begun) its state passes through unchanged
        and its output is zero, so the padding has no effect on anything.
        """
        weights = self._weights(suffix)  # from _flat_weights, as PyTorch's forward reads them
        if self.proj_size:  # no projection in the one-node kernel: the recorded steps, W_hr 5th
            return self._run_steps(x, state, weights, reverse, active)
        if self._mode == "LSTM":  # the whole sequence as one node (ops.lstm_sequence)
            out, h, c = lstm_sequence(x, *state, *weights, reverse=bool(reverse),
                                      mask=None if active is None else active[:, :, 0])
            return out, (h, c)
        if self._mode == "GRU":  # likewise (ops.gru_sequence)
            out, h = gru_sequence(x, *state, *weights, reverse=bool(reverse),
                                  mask=None if active is None else active[:, :, 0])
            return out, (h,)
        return self._run_steps(x, state, weights, reverse, active)

    def _run_steps(self, x, state, weights, reverse, active):
        """``_run`` unrolled: each step's ops recorded in the graph (the Elman RNN's way); a fifth
        weight is the LSTM's projection ``W_hr``."""
        return _run_steps(self._mode, x, state, weights, reverse, active)

    def _drop(self, x):
        """Inverted dropout between layers, with masks drawn from the module's generator."""
        keep = 1.0 - self.dropout
        mask = (self._rng.random(x.shape) < keep) / keep if keep else x.new_zeros(x.shape)._data
        return x * Tensor(get_array_module(x._data).asarray(mask, dtype=x.dtype))

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        flags = (("bias=False", not self.bias), ("batch_first=True", self.batch_first),
                 (f"dropout={self.dropout}", self.dropout),  # no nonlinearity, as PyTorch's
                 ("bidirectional=True", self.bidirectional))
        return s + "".join(f", {text}" for text, shown in flags if shown)


class RNN(RNNBase):
    """A multi-layer Elman RNN: ``h_t = act(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)``.

    ``nonlinearity`` is "tanh" or "relu"; the other arguments are described below.
    """

    __doc__ += SEQUENCE_ARGS

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, *, rng=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_" + nonlinearity.upper(), input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, rng=rng, dtype=dtype)


class LSTM(LSTMHelpers, RNNBase):
    """A multi-layer LSTM, each step as in ``LSTMCell``; ``forward`` returns (output, (h_n, c_n)).

    ``proj_size`` P > 0 adds PyTorch's projection: each step's h is ``W_hr (o * tanh(c))`` with
    ``weight_hr_l{k}`` (P, H), so h_n, the outputs and ``weight_hh_l{k}`` (4H, P) have P features.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> from chainrule.nn.recurrent import LSTM
    >>> lstm = LSTM(8, 16, num_layers=2, batch_first=True, rng=np.random.default_rng(0))
    >>> out, (h, c) = lstm(cr.tensor(np.zeros((4, 10, 8), dtype="float32")))
    >>> out.shape, h.shape
    ((4, 10, 16), (2, 4, 16))
    """

    __doc__ += SEQUENCE_ARGS

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, *, rng=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, rng=rng, dtype=dtype)


class GRU(RNNBase):
    """A multi-layer GRU, each step as in ``GRUCell``; ``forward`` returns (output, h_n)."""

    __doc__ += SEQUENCE_ARGS

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 rng=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, rng=rng, dtype=dtype)
