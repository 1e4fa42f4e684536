"""nn.LSTM's and nn.GRU's one-node-per-direction path (ops.lstm_sequence, ops.gru_sequence)
against the unrolled per-step ops (``RNNBase._run_steps``): the same values and gradients,
first and second order."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.recurrent import GRU, LSTM
from chainrule.nn.utils import rnn
from chainrule.ops.gru_sequence import GRUSequence
from chainrule.ops.lstm_sequence import LSTMSequence

LAYERS = {"LSTM": (LSTM, LSTMSequence), "GRU": (GRU, GRUSequence)}
CONFIGS = [
    {},
    {"given_state": True},
    {"num_layers": 2, "bidirectional": True, "batch_first": True, "given_state": True},
    {"bias": False},
    {"packed": True, "bidirectional": True},
    {"packed": True, "num_layers": 2, "given_state": True},
]


def _unrolled(self, x, state, suffix, reverse, active=None):
    weights = [getattr(self, n + suffix) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    return self._run_steps(x, state, weights, reverse, active)


def _run(layer, x, states, packed, lengths):
    inp = rnn.pack_padded_sequence(x, lengths, enforce_sorted=False) if packed else x
    hx = None if not states else tuple(states) if len(states) == 2 else states[0]
    out, h = layer(inp, hx)
    if packed:
        out = rnn.pad_packed_sequence(out)[0]
    return [out, *(h if isinstance(h, tuple) else (h,))]


def _case(rng, name, config):
    cfg = dict(config)
    given, packed = cfg.pop("given_state", False), cfg.pop("packed", False)
    layer = LAYERS[name][0](3, 4, rng=rng, dtype="float64", **cfg)
    steps, batch = 5, 3
    x = cr.tensor(rng.standard_normal((batch, steps, 3) if cfg.get("batch_first")
                                      else (steps, batch, 3)), requires_grad=True)
    layers = cfg.get("num_layers", 1) * (2 if cfg.get("bidirectional") else 1)
    n_states = 2 if name == "LSTM" else 1
    states = [cr.tensor(rng.standard_normal((layers, batch, 4)), requires_grad=True)
              for _ in range(n_states)] if given else []
    return layer, x, states, packed, [3, 5, 2]


def _node_types(tensors):
    """The class of every node of the graph behind ``tensors``, once each."""
    nodes, stack, seen = [], [t._ctx for t in tensors], set()
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        nodes.append(type(fn))
        stack.extend(t._ctx for t in fn.inputs)
    return nodes


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("config", CONFIGS)
def test_one_node_equals_the_unrolled_steps(rng, monkeypatch, name, config):
    layer, x, states, packed, lengths = _case(rng, name, config)
    leaves = [x, *states, *layer.parameters()]
    results = []
    for unrolled in (False, True):
        if unrolled:
            monkeypatch.setattr(type(layer), "_run", _unrolled)
        outs = _run(layer, x, states, packed, lengths)
        assert (LAYERS[name][1] in _node_types(outs)) is not unrolled
        weights = [np.random.default_rng(7).standard_normal(o.shape) for o in outs]
        grads = cr.grad(outs, leaves, weights)
        results.append([o.numpy() for o in outs] + [g.numpy() for g in grads])
    for new, old in zip(*results, strict=True):
        np.testing.assert_allclose(new, old, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(LAYERS))
def test_the_layer_runs_one_node_per_direction(rng, name):
    layer = LAYERS[name][0](3, 4, num_layers=2, bidirectional=True, rng=rng, dtype="float64")
    out, h = layer(cr.tensor(rng.standard_normal((5, 2, 3)), requires_grad=True))
    h = list(h) if isinstance(h, tuple) else [h]
    assert _node_types([out, *h]).count(LAYERS[name][1]) == 4


@pytest.mark.parametrize("name", list(LAYERS))
def test_second_order_equals_the_unrolled_steps(rng, monkeypatch, name):
    """A gradient penalty (create_graph=True) through the layer: the same Hessian-vector product."""
    layer, x, states, packed, lengths = _case(rng, name, {"packed": True, "given_state": True})
    params = list(layer.parameters())
    results = []
    for unrolled in (False, True):
        if unrolled:
            monkeypatch.setattr(type(layer), "_run", _unrolled)
        out, h, *c = _run(layer, x, states, packed, lengths)
        loss = (out * out).sum() + h.sum() + sum((t * t).sum() for t in c)
        grads = cr.grad(loss, [x, *params], create_graph=True)
        penalty = sum((g * g).sum() for g in grads)
        results.append([g.numpy() for g in cr.grad(penalty, [x, *states, *params])])
    for new, old in zip(*results, strict=True):
        np.testing.assert_allclose(new, old, rtol=1e-9, atol=1e-11)
