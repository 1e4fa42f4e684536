"""RNN, LSTM, GRU and their cells: PyTorch parity, gradients through time, dropout, errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

from .._case_loop import each_case, grid, with_rng

SEQUENCES = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}
CELLS = {"RNNCell": RNNCell, "LSTMCell": LSTMCell, "GRUCell": GRUCell}


def _to_torch(torch, ours, name, **kwargs):
    theirs = getattr(torch.nn, name)(**kwargs, dtype=torch.float64)
    theirs.load_state_dict({k: torch.tensor(v._data) for k, v in ours.state_dict().items()})
    return theirs


def _flat(out):
    """(output, h_n) or (output, (h_n, c_n)) -> a flat list of tensors."""
    first, rest = out
    return [first, *(rest if isinstance(rest, tuple) else (rest,))]


@pytest.mark.kernel_free
def test_parameters_have_torch_names_shapes_and_init():
    lstm = LSTM(3, 5, num_layers=2, bidirectional=True, rng=np.random.default_rng(0))
    shapes = {k: v.shape for k, v in lstm.state_dict().items()}
    assert list(shapes)[:5] == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse"
    ]
    assert shapes["weight_ih_l0"] == (20, 3) and shapes["weight_hh_l0"] == (20, 5)
    assert shapes["weight_ih_l1_reverse"] == (20, 10) and shapes["bias_hh_l1_reverse"] == (20,)
    assert len(shapes) == 16
    bound = 1 / np.sqrt(5)
    for p in lstm.parameters():
        assert p.dtype == np.float32
        assert np.abs(p._data).max() <= bound and np.abs(p._data).max() > 0.8 * bound
    again = LSTM(3, 5, num_layers=2, bidirectional=True, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(again.weight_hh_l1._data, lstm.weight_hh_l1._data)
    assert list(GRU(2, 3, bias=False).state_dict()) == ["weight_ih_l0", "weight_hh_l0"]
    assert GRUCell(2, 3).weight_ih.shape == (9, 2)
    assert list(RNNCell(2, 3).state_dict()) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert repr(LSTM(3, 5, 2, batch_first=True)) == "LSTM(3, 5, num_layers=2, batch_first=True)"
    assert repr(RNNCell(2, 3, bias=False, nonlinearity="relu")) == (
        "RNNCell(2, 3, bias=False, nonlinearity=relu)"
    )


CONFIGS = [
    {},
    {"num_layers": 2},
    {"bidirectional": True},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"bias": False, "batch_first": True},
]


@pytest.mark.torch
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("given_state", [False, True])
def test_sequence_matches_torch(rng, name, config, given_state):
    torch = pytest.importorskip("torch")
    kwargs = {"input_size": 3, "hidden_size": 4, **config}
    if name == "RNN" and config.get("bias", True) is False:
        kwargs["nonlinearity"] = "relu"
    ours = SEQUENCES[name](**kwargs, rng=rng, dtype="float64")
    theirs = _to_torch(torch, ours, name, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    seq_shape = (2, 5, 3) if config.get("batch_first") else (5, 2, 3)
    x = cr.tensor(rng.standard_normal(seq_shape), requires_grad=True)
    tx = torch.tensor(x._data, requires_grad=True)
    args, targs = [x], [tx]
    if given_state:
        d = 2 if config.get("bidirectional") else 1
        shape = (d * config.get("num_layers", 1), 2, 4)
        states = [cr.tensor(rng.standard_normal(shape), requires_grad=True)
                  for _ in range(2 if name == "LSTM" else 1)]
        tstates = [torch.tensor(s._data, requires_grad=True) for s in states]
        args.append(tuple(states) if name == "LSTM" else states[0])
        targs.append(tuple(tstates) if name == "LSTM" else tstates[0])
    outs, touts = _flat(ours(*args)), _flat(theirs(*targs))
    for o, t in zip(outs, touts, strict=True):
        assert o.shape == tuple(t.shape)
        np.testing.assert_allclose(o._data, t.detach().numpy(), rtol=1e-10, atol=1e-12)
    grads = [rng.standard_normal(o.shape) for o in outs]
    cr.autograd.backward(outs, grads)
    torch.autograd.backward(touts, [torch.tensor(g) for g in grads])
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    if given_state:
        for s, ts in zip(states, tstates, strict=True):
            np.testing.assert_allclose(s.grad._data, ts.grad.numpy(), rtol=1e-9, atol=1e-11)
    for key, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, key).grad._data, p.grad.numpy(), rtol=1e-9,
                                   atol=1e-11)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_unbatched_sequence_matches_torch(rng, name):
    torch = pytest.importorskip("torch")
    kwargs = {"input_size": 3, "hidden_size": 2, "num_layers": 2, "bidirectional": True}
    ours = SEQUENCES[name](**kwargs, rng=rng, dtype="float64")
    theirs = _to_torch(torch, ours, name, **kwargs)
    x = rng.standard_normal((4, 3))
    outs, touts = _flat(ours(cr.tensor(x))), _flat(theirs(torch.tensor(x)))
    assert outs[0].shape == (4, 4) and outs[1].shape == (4, 2)
    for o, t in zip(outs, touts, strict=True):
        np.testing.assert_allclose(o._data, t.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_empty_batch_gives_empty_outputs_and_gradients(rng, name):
    """A batch of N=0 sequences runs as in PyTorch (the RNN's step split failed on it)."""
    m = SEQUENCES[name](3, 4, num_layers=2, bidirectional=True, rng=rng, dtype="float64")
    x = cr.tensor(np.zeros((5, 0, 3)), requires_grad=True)
    h = cr.tensor(np.zeros((4, 0, 4)), requires_grad=True)
    out, state = m(x, (h, h) if name == "LSTM" else h)
    h_n = state[0] if name == "LSTM" else state
    assert out.shape == (5, 0, 8) and h_n.shape == (4, 0, 4)
    (out.sum() + h_n.sum()).backward()
    assert x.grad.shape == (5, 0, 3) and h.grad.shape == (4, 0, 4)
    assert not m.weight_hh_l1_reverse.grad._data.any()


@pytest.mark.torch
@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
def test_cell_matches_torch(rng, name, batched):
    torch = pytest.importorskip("torch")
    ours = CELLS[name](3, 4, rng=rng, dtype="float64")
    theirs = _to_torch(torch, ours, name, input_size=3, hidden_size=4)
    lead = (2,) if batched else ()
    x = cr.tensor(rng.standard_normal(lead + (3,)), requires_grad=True)
    states = [cr.tensor(rng.standard_normal(lead + (4,)), requires_grad=True)
              for _ in range(2 if name == "LSTMCell" else 1)]
    tx = torch.tensor(x._data, requires_grad=True)
    tstates = [torch.tensor(s._data, requires_grad=True) for s in states]
    hx = tuple(states) if name == "LSTMCell" else states[0]
    thx = tuple(tstates) if name == "LSTMCell" else tstates[0]
    out, tout = ours(x, hx), theirs(tx, thx)
    outs = list(out) if isinstance(out, tuple) else [out]
    touts = list(tout) if isinstance(tout, tuple) else [tout]
    grads = [rng.standard_normal(o.shape) for o in outs]
    for o, t in zip(outs, touts, strict=True):
        np.testing.assert_allclose(o._data, t.detach().numpy(), rtol=1e-10, atol=1e-12)
    cr.autograd.backward(outs, grads)
    torch.autograd.backward(touts, [torch.tensor(g) for g in grads])
    for ours_t, theirs_t in zip([x, *states], [tx, *tstates], strict=True):
        np.testing.assert_allclose(ours_t.grad._data, theirs_t.grad.numpy(), rtol=1e-9, atol=1e-11)
    for key, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, key).grad._data, p.grad.numpy(), rtol=1e-9,
                                   atol=1e-11)


def test_default_state_is_zeros(rng):
    gru = GRU(3, 4, rng=rng, dtype="float64")
    x = cr.tensor(rng.standard_normal((5, 2, 3)))
    out, h = gru(x)
    out0, h0 = gru(x, cr.tensor(np.zeros((1, 2, 4))))
    np.testing.assert_array_equal(out._data, out0._data)
    np.testing.assert_array_equal(h._data[0], out._data[-1])
    cell = LSTMCell(3, 4, rng=rng)
    h, c = cell(cr.tensor(np.ones((2, 3), "float32")))
    assert h.dtype == np.float32 and c.shape == (2, 4)


def _cast_with_to_takes_float64_inputs_case(rng, cls):
    """Module.to(dtype=...) casts the weights, and the layer then checks inputs against that."""
    layer = cls(3, 4, rng=rng).to(dtype="float64")
    out = layer(cr.tensor(rng.standard_normal((2, 3))))
    first = out[0] if isinstance(out, tuple) else out
    assert first.dtype == np.float64
    with pytest.raises(TypeError, match="input has dtype float32 but the parameters have float64"):
        layer(cr.tensor(np.ones((2, 3), "float32")))


def test_cast_with_to_takes_float64_inputs():
    each_case(with_rng(_cast_with_to_takes_float64_inputs_case), grid(
        ("cls", [RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell]),
    ))


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_gradcheck_through_time(rng, name):
    kwargs = {"nonlinearity": "tanh"} if name == "RNN" else {}
    model = SEQUENCES[name](2, 3, bidirectional=True, rng=rng, dtype="float64", **kwargs)
    x = cr.tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    n_state = 2 if name == "LSTM" else 1
    states = [cr.tensor(rng.standard_normal((2, 2, 3)) * 0.5, requires_grad=True)
              for _ in range(n_state)]
    params = list(model.parameters())

    def f(x, *rest):
        hx = tuple(rest[:n_state]) if name == "LSTM" else rest[0]
        return tuple(_flat(model(x, hx)))

    assert cr.gradcheck(f, [x, *states, *params])


@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell"])
def test_cell_second_derivatives(rng, name):
    cell = CELLS[name](2, 2, rng=rng, dtype="float64")
    x = cr.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    h = cr.tensor(rng.standard_normal((2, 2)), requires_grad=True)

    def f(x, h, w):
        if name == "GRUCell":
            return cell(x, h)
        return cell(x, (h, h * 0.5))[1]

    assert cr.gradgradcheck(f, [x, h, cell.weight_hh])


def test_dropout_between_layers(rng):
    kwargs = {"input_size": 3, "hidden_size": 4, "num_layers": 2, "dtype": "float64"}
    plain = LSTM(**kwargs, rng=np.random.default_rng(5))
    dropped = LSTM(**kwargs, dropout=0.5, rng=np.random.default_rng(5))
    x = cr.tensor(rng.standard_normal((6, 2, 3)))
    out_plain = plain(x)[0]._data
    out_train = dropped(x)[0]._data
    assert not np.allclose(out_train, out_plain)
    dropped.eval()
    np.testing.assert_array_equal(dropped(x)[0]._data, out_plain)
    with pytest.warns(UserWarning, match="dropout=0.5 has no effect with num_layers=1"):
        GRU(3, 4, dropout=0.5)


@pytest.mark.kernel_free
def test_recurrent_errors(rng):
    lstm = LSTM(3, 4, num_layers=2, rng=rng)
    x = cr.tensor(np.zeros((5, 2, 3), "float32"))
    with pytest.raises(ValueError, match=r"LSTM: expected input of shape \(L, N, H_in\) or "
                                         r"\(L, H_in\) with H_in=3, got shape \(5, 2, 4\)"):
        lstm(cr.tensor(np.zeros((5, 2, 4), "float32")))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, L, H_in\)"):
        GRU(3, 4, batch_first=True)(cr.tensor(np.zeros((1, 2, 3, 3), "float32")))
    with pytest.raises(TypeError, match="LSTM: hx must be a tuple \\(h_0, c_0\\), got Tensor"):
        lstm(x, cr.tensor(np.zeros((2, 2, 4), "float32")))
    with pytest.raises(ValueError, match=r"LSTM: expected c_0 of shape \(2, 2, 4\), got shape "
                                         r"\(1, 2, 4\)"):
        lstm(x, (cr.tensor(np.zeros((2, 2, 4), "float32")),
                 cr.tensor(np.zeros((1, 2, 4), "float32"))))
    with pytest.raises(TypeError, match="LSTM: input has dtype float64 but the parameters have "
                                        "float32"):
        lstm(cr.tensor(np.zeros((5, 2, 3))))
    with pytest.raises(ValueError, match="LSTM: the input sequence is empty"):
        lstm(cr.tensor(np.zeros((0, 2, 3), "float32")))
    with pytest.raises(ValueError, match=r"GRUCell: expected input of shape \(N, H_in\) or "
                                         r"\(H_in,\) with H_in=3, got shape \(2, 2\)"):
        GRUCell(3, 4)(cr.tensor(np.zeros((2, 2), "float32")))
    with pytest.raises(ValueError, match=r"RNNCell: expected hx of shape \(2, 4\), got shape "
                                         r"\(4,\)"):
        RNNCell(3, 4)(cr.tensor(np.zeros((2, 3), "float32")), cr.tensor(np.zeros(4, "float32")))
    with pytest.raises(ValueError, match="RNN: nonlinearity must be 'tanh' or 'relu', got 'gelu'"):
        RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"GRU: dropout must be a number in \[0, 1\], got 1.5"):
        GRU(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="LSTM: hidden_size must be at least 1, got 0"):
        LSTM(3, 0)
    with pytest.raises(TypeError, match="LSTMCell: input must be a Tensor, got ndarray"):
        LSTMCell(3, 4)(np.zeros((2, 3), "float32"))


def _forward_takes_pytorchs_keyword_names_case(rng, name):
    """PyTorch's forward is forward(input, hx=None): programs call rnn(input=x, hx=h)."""
    cls = {**SEQUENCES, **CELLS}[name]
    m = cls(3, 4, rng=rng, dtype="float64")
    x = cr.tensor(rng.standard_normal((2, 3) if name in CELLS else (5, 2, 3)))
    shape = (2, 4) if name in CELLS else (1, 2, 4)
    h = cr.tensor(rng.standard_normal(shape))
    hx = (h, h * 0.5) if "LSTM" in name else h
    got, want = m(input=x, hx=hx), m(x, hx)
    for a, b in zip(_flat_any(got), _flat_any(want), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_forward_takes_pytorchs_keyword_names():
    each_case(with_rng(_forward_takes_pytorchs_keyword_names_case), grid(
        ("name", [*SEQUENCES, *CELLS]),
    ))


def _flat_any(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat_any(o)]
    return [out]


@pytest.mark.torch
@pytest.mark.parametrize("name", list(SEQUENCES))
def test_dropout_one_and_mode_as_pytorchs(rng, name):
    """PyTorch takes dropout=1 (every layer but the first then reads zeros in training; chainrule
    refused it) and names the kind in RNNBase.mode."""
    torch = pytest.importorskip("torch")
    ours = SEQUENCES[name](3, 4, num_layers=2, dropout=1, rng=rng, dtype="float64")
    theirs = _to_torch(torch, ours, name, input_size=3, hidden_size=4, num_layers=2, dropout=1)
    assert ours.mode == theirs.mode and ours.dropout == theirs.dropout == 1.0
    x = rng.standard_normal((5, 2, 3))
    for a, b in zip(_flat(ours(cr.tensor(x))), _flat(theirs(torch.tensor(x))), strict=True):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert RNN(3, 4, nonlinearity="relu").mode == "RNN_RELU"
