"""``RNNBase``'s weight bookkeeping as PyTorch keeps it: ``_all_weights`` (names per layer and
direction), ``all_weights`` (their Parameters), ``_flat_weights_names``, ``_flat_weights``.
DeepAR sets the LSTM's forget-gate biases by iterating ``self.lstm._all_weights``; chainrule had
none of these."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free

CASES = [("LSTM", {}), ("GRU", {"num_layers": 2, "bidirectional": True}),
         ("RNN", {"bias": False, "num_layers": 3}), ("LSTM", {"num_layers": 2, "bias": False})]


@pytest.mark.parametrize("kind, kwargs", CASES)
def test_the_lists_name_and_hold_the_modules_own_parameters(kind, kwargs):
    rnn = getattr(cr.nn, kind)(3, 4, **kwargs)
    assert rnn._flat_weights_names == [n for names in rnn._all_weights for n in names]
    assert {n for n, _ in rnn.named_parameters()} == set(rnn._flat_weights_names)
    for names, params in zip(rnn._all_weights, rnn.all_weights):
        assert all(getattr(rnn, n) is p for n, p in zip(names, params))
    assert all(a is b for a, b in zip(rnn._flat_weights, rnn.parameters()))
    rnn.double()  # the lists follow a conversion
    assert all(p.dtype == np.float64 for p in rnn._flat_weights)


def test_deepar_forget_gate_init_through_all_weights_writes_the_bias():
    lstm = cr.nn.LSTM(3, 4, num_layers=2)
    for names in lstm._all_weights:
        for name in filter(lambda n: "bias" in n, names):
            bias = getattr(lstm, name)
            n = bias.size(0)
            bias.data[n // 4:n // 2].fill_(1.)
    assert (lstm.bias_hh_l1.detach().numpy()[4:8] == 1).all()
    assert (lstm.bias_ih_l0.detach().numpy()[:4] != 1).all()


@pytest.mark.torch
@pytest.mark.parametrize("kind, kwargs", CASES)
def test_the_lists_match_pytorch(kind, kwargs):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(cr.nn, kind)(3, 4, **kwargs), getattr(torch.nn, kind)(3, 4, **kwargs)
    assert ours._all_weights == theirs._all_weights
    assert ours._flat_weights_names == theirs._flat_weights_names
    assert ([[tuple(p.shape) for p in g] for g in ours.all_weights]
            == [[tuple(p.shape) for p in g] for g in theirs.all_weights])
