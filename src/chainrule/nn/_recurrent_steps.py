"""The step mathematics of the recurrent layers (nn.recurrent): one time step of the Elman RNN,
LSTM and GRU, the input projection done once for all steps, and the checks of inputs and states.
"""

from __future__ import annotations

from functools import partial

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.activation import relu, sigmoid, tanh
from ..ops.elementwise import where
from ..ops.join import split, stack
from ..ops.linalg import linear
from ..ops.shape import reshape, squeeze

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _elman_step(act):
    def step(xw, state, w_hh, b_hh):
        return (act(xw + linear(state[0], w_hh, b_hh)),)

    return step


def _lstm_step(xw, state, w_hh, b_hh, w_hr=None):
    """With ``w_hr`` (an LSTM with projections) the new h is ``W_hr (o * tanh(c))``."""
    h, c = state
    i, f, g, o = split(xw + linear(h, w_hh, b_hh), c.shape[-1], axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h = sigmoid(o) * tanh(c)
    return (h if w_hr is None else linear(h, w_hr)), c


def _gru_step(xw, state, w_hh, b_hh):
    (h,) = state
    x_r, x_z, x_n = split(xw, h.shape[-1], axis=-1)
    h_r, h_z, h_n = split(linear(h, w_hh, b_hh), h.shape[-1], axis=-1)
    r = sigmoid(x_r + h_r)
    z = sigmoid(x_z + h_z)
    n = tanh(x_n + r * h_n)
    return (n + z * (h - n),)  # = (1 - z) * n + z * h


# Each step maps (input projection, state tuple, W_hh, b_hh) to the new state tuple, whose first
# entry is the output h: (h,) for the RNN and GRU, (h, c) for the LSTM.
_STEPS = {"RNN_TANH": _elman_step(tanh), "RNN_RELU": _elman_step(relu), "LSTM": _lstm_step,
          "GRU": _gru_step}


def _project(mode, x, w_ih, b_ih, b_hh):
    """The input projection of ``x`` (rows of inputs) and the bias the recurrent step adds itself.

    Except for the GRU, whose hidden bias sits inside ``r * (W_hn h + b_hn)``, both biases are
    added to the input projection once instead of at every step.
    """
    if mode == "GRU" or b_ih is None:
        return linear(x, w_ih, b_ih), b_hh
    return linear(x, w_ih, b_ih + b_hh), None


def _run_steps(mode, x, state, weights, reverse, active):
    """One direction of one layer, time-major ``x`` (L, N, H_in), as recorded steps: (outputs
    (L, N, H), final state). ``weights`` are W_ih, W_hh, b_ih, b_hh and, for an LSTM with
    projections, W_hr; ``active`` as for ``RNNBase._run``."""
    steps, batch = x.shape[:2]
    w_hh = weights[1]
    xw, b_hh = _project(mode, reshape(x, steps * batch, x.shape[2]), weights[0],
                        weights[2], weights[3])
    # One split node for all steps: its backward joins the step gradients in one concat. Split
    # along a time axis of its own, so that the cuts do not depend on the batch size (which
    # chainrule.onnx.export may leave dynamic).
    xs = [squeeze(t, 0) for t in split(reshape(xw, steps, batch, xw.shape[-1]), 1, axis=0)]
    step = _STEPS[mode] if len(weights) == 4 else partial(_lstm_step, w_hr=weights[4])
    outputs = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        new = step(xs[t], state, w_hh, b_hh)
        if active is not None and not active[t].all():
            keep = active[t]
            new = tuple(where(keep, n, s) for n, s in zip(new, state, strict=True))
            outputs[t] = new[0] * Tensor(keep.astype(x.dtype))
        else:
            outputs[t] = new[0]
        state = new
    return stack(outputs, axis=0), state


def _check_input(who, x, size, dtype, ranks, layout):
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in ranks or x.shape[-1] != size:
        raise ValueError(f"{who}: expected input of shape {layout} with H_in={size}, "
                         f"got shape {x.shape}")
    if x.dtype != dtype:
        raise TypeError(f"{who}: input has dtype {x.dtype} but the parameters have {dtype}; "
                        f"cast one of them (e.g. .astype('{dtype}'))")


def _cell_kind(who, num_chunks):
    """A cell's step from its ``num_chunks`` gates: "RNN" (1), "GRU" (3), "LSTM" (4), or "CELL"
    for another count, which PyTorch's ``RNNCellBase`` takes too (a subclass's own cell, its
    weights ``num_chunks * hidden_size`` rows, defines its forward)."""
    if isinstance(num_chunks, bool) or not isinstance(num_chunks, int) or num_chunks < 1:
        raise ValueError(f"{who}: num_chunks must be a positive int (1: RNN, 3: GRU, 4: LSTM), "
                         f"got {num_chunks!r}")
    return {1: "RNN", 3: "GRU", 4: "LSTM"}.get(num_chunks, "CELL")


def _check_proj_size(who, mode, proj_size, hidden_size):
    """``proj_size`` as PyTorch checks it: an int, 0 or in [1, hidden_size), for the LSTM only."""
    if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
        raise ValueError(f"{who}: proj_size must be a non-negative int (0: no projection), got "
                         f"{proj_size!r}")
    if proj_size and mode != "LSTM":
        raise ValueError(f"{who}: proj_size is only supported for the LSTM, got "
                         f"proj_size={proj_size} for mode {mode!r}")
    if proj_size >= hidden_size:
        raise ValueError(f"{who}: proj_size must be smaller than hidden_size={hidden_size}, got "
                         f"{proj_size}")
    return proj_size


def _state_shapes(mode, lead, hidden_size, proj_size=0):
    """The shapes of the state entries, ``lead`` + (features,): (h,) or, for the LSTM, (h, c),
    where h has ``proj_size`` features when the LSTM projects."""
    if mode != "LSTM":
        return (lead + (hidden_size,),)
    return lead + (proj_size or hidden_size,), lead + (hidden_size,)


def _initial_state(who, mode, hx, shapes, dtype):
    """``hx`` as a checked tuple (h,) or, for the LSTM, (h, c), of the ``shapes`` given."""
    lstm = mode == "LSTM"
    if lstm and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
        raise TypeError(f"{who}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
    states = tuple(hx) if lstm else (hx,)
    for name, t, shape in zip(("h_0", "c_0") if lstm else ("hx",), states, shapes, strict=True):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: {name} must be a Tensor, got {type(t).__name__}")
        if t.shape != shape:
            raise ValueError(f"{who}: expected {name} of shape {shape}, got shape {t.shape}")
        if t.dtype != dtype:
            raise TypeError(f"{who}: {name} has dtype {t.dtype} but the parameters have {dtype}")
    return states


def _zero_start(mode, x, hidden_size, proj_size):
    """The zero initial state of one layer and direction. The recorded steps (Elman RNN, LSTM
    with projections) start from one zero row that broadcasts over the batch: a constant whose
    size does not follow the batch, so that chainrule.onnx.export can leave the batch dynamic."""
    stepped = proj_size or mode not in ("LSTM", "GRU")
    lead = (1,) * (x.ndim - 2) if stepped else x.shape[1:-1]
    return _zero_state(x, _state_shapes(mode, lead, hidden_size, proj_size))


def _zero_state(x, shapes):
    xp = get_array_module(x._data)
    return tuple(Tensor(xp.zeros(shape, dtype=x.dtype)) for shape in shapes)


SEQUENCE_ARGS = """
    Args:
        input_size: features of the input at each step (H_in).
        hidden_size: features of the hidden state (H).
        num_layers: stacked layers; each layer after the first reads the previous one's outputs.
        bias: learn ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
        batch_first: input and output are (N, L, features) instead of (L, N, features).
        dropout: drop probability applied to the outputs of every layer but the last, in training.
        bidirectional: add a second direction per layer that reads the sequence backwards (its
            parameters end in ``_reverse``); outputs of both directions are concatenated.
        rng: numpy Generator for the initial weights and the dropout masks (None: a fresh one).
        dtype: floating-point dtype of the parameters.
"""


_UNSET = object()  # an entry of _flat_weights not yet taken from the module


class _WeightLists:
    """PyTorch's ``RNNBase`` bookkeeping over the parameters, read by programs that walk them
    (DeepAR's forget-gate bias init iterates ``self.lstm._all_weights``): ``_all_weights`` the
    names per layer and direction, ``all_weights`` their Parameters, ``_flat_weights_names`` and
    ``_flat_weights`` the same flattened; the last two, as PyTorch's lists, may be set."""

    @property
    def mode(self) -> str:
        """PyTorch's ``RNNBase.mode``: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU" (programs branch
        on ``rnn.mode == "LSTM"`` to build an (h, c) pair)."""
        return self._mode

    @property
    def _all_weights(self) -> list[list[str]]:
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else []) + (
            ["weight_hr"] if self.proj_size else [])
        suffixes = ("", "_reverse") if self.bidirectional else ("",)
        return [[f"{name}_l{layer}{suffix}" for name in names]
                for layer in range(self.num_layers) for suffix in suffixes]

    @property
    def all_weights(self) -> list[list]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    @property
    def _flat_weights_names(self) -> list[str]:
        """``_all_weights`` flattened, or the list a program set (a checkpoint's names given to
        the parameters: forward then finds each weight by its position)."""
        named = self.__dict__.get("_flat_names")
        return named if named is not None else [n for names in self._all_weights for n in names]

    @_flat_weights_names.setter
    def _flat_weights_names(self, names) -> None:
        self.__dict__["_flat_names"] = list(names)
        self.__dict__.pop("_flat_basis", None)

    @property
    def _flat_weights(self) -> list:
        """The weights ``forward`` runs with, in ``_flat_weights_names``' order: PyTorch's list,
        which a program may assign or edit in place (recurrent dropout swaps in dropped copies
        of the hidden weights for one call). An entry holds the module's weight again once that
        weight is replaced (``self.weight_hh_l0 = ...``, a parametrization, ``functional_call``),
        as PyTorch's list follows such a change."""
        names = self._flat_weights_names
        for i, name in enumerate(names):
            self._flat_entry(i, name, len(names))
        return self.__dict__["_flat_list"]

    def _flat_entry(self, i: int, name: str, size: int):
        """Entry ``i`` of ``_flat_weights`` (``size`` entries), the weight named ``name``: the
        list's, unless the module's weight of that name was replaced since the list was set (or
        last read)."""
        d, now = self.__dict__, getattr(self, name, None)
        if len(d.get("_flat_basis", ())) != size or "_flat_list" not in d:  # a fresh list
            d["_flat_list"], d["_flat_basis"] = [None] * size, [_UNSET] * size
        flat, basis = d["_flat_list"], d["_flat_basis"]
        if basis[i] is not now:
            flat[i] = basis[i] = now
        return flat[i]

    @_flat_weights.setter
    def _flat_weights(self, weights) -> None:
        weights, names = list(weights), self._flat_weights_names
        if len(weights) != len(names):
            raise ValueError(f"{type(self).__name__}: _flat_weights must hold one weight per name "
                             f"of _flat_weights_names ({len(names)}), got {len(weights)}")
        self.__dict__["_flat_list"] = weights
        self.__dict__["_flat_basis"] = [getattr(self, name, None) for name in names]

    def _weights(self, suffix: str) -> list:
        """W_ih, W_hh, b_ih, b_hh (None without biases) and, with projections, W_hr of one layer
        and direction (``suffix`` "_l0", "_l1_reverse"...), as ``_flat_weights`` holds them."""
        names = self._flat_weights_names
        out = []
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") + (
                ("weight_hr",) if self.proj_size else ()):
            name = kind + suffix
            if kind.startswith("bias") and not self.bias:
                out.append(None)
                continue
            if name in names:
                where = names.index(name)
            else:  # renamed by a program: by its position among the names as built
                canonical = [n for ns in self._all_weights for n in ns]
                if name not in canonical or len(names) != len(canonical):
                    raise AttributeError(f"{type(self).__name__}: no weight {name!r} in "
                                         f"_flat_weights_names {names}")
                where = canonical.index(name)
            w = self._flat_entry(where, names[where], len(names))  # each read once per forward
            # a weight deleted and not set again: getattr raises PyTorch's AttributeError
            out.append(getattr(self, names[where]) if w is None and kind[0] == "w" else w)
        return out

    def _apply(self, fn, recurse: bool = True):
        """``Module._apply`` (``to``, ``double``...), after which ``_flat_weights`` holds the
        module's weights again, as PyTorch's."""
        out = super()._apply(fn, recurse)
        self._init_flat_weights()
        return out

    def _init_flat_weights(self) -> None:
        """PyTorch's refresh of ``_flat_weights`` from the module's weights (pruning, weight
        drop and quantization code call it after replacing one), then ``flatten_parameters()``."""
        self.__dict__.pop("_flat_basis", None)
        self.flatten_parameters()

    def _update_flat_weights(self) -> None:
        """PyTorch's ``_init_flat_weights`` when a weight was replaced since (``_flat_weights``
        refreshes itself then, so nothing is left to do)."""

    def _weights_have_changed(self) -> bool:
        """PyTorch's check for a replaced weight: False, ``_flat_weights`` follows them itself."""
        return False


def _elman_cell_mode(cell) -> str:
    """An Elman cell's step from its ``nonlinearity`` as it is now: PyTorch's ``RNNCell`` reads
    the attribute at every step, so one changed after construction takes effect."""
    if cell.nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{type(cell).__name__}: nonlinearity must be 'tanh' or 'relu', got "
                         f"{cell.nonlinearity!r}")
    return f"RNN_{cell.nonlinearity.upper()}"


# RNNCell's ``_mode``: the shared constructor's assignment is dropped, ``nonlinearity`` holds it
ELMAN_CELL_MODE = property(_elman_cell_mode, lambda cell, value: None)
