"""nn.LSTM with projections (``proj_size``): PyTorch's parameters, state-dict layout, values and
gradients (float64), packed sequences, finite-difference gradients and the argument checks."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.recurrent import GRU, LSTM, RNN, RNNBase
from chainrule.nn.utils import rnn


def _to_torch(torch, ours, **kwargs):
    theirs = torch.nn.LSTM(**kwargs, dtype=torch.float64)
    theirs.load_state_dict({k: torch.tensor(v._data) for k, v in ours.state_dict().items()})
    return theirs


@pytest.mark.kernel_free
def test_parameters_state_dict_and_repr_are_pytorchs():
    torch = pytest.importorskip("torch")
    kwargs = dict(input_size=3, hidden_size=5, num_layers=2, bidirectional=True, proj_size=2)
    ours = LSTM(**kwargs, rng=np.random.default_rng(0))
    theirs = torch.nn.LSTM(**kwargs)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert ours.weight_hr_l1_reverse.shape == (2, 5) and ours.weight_ih_l1.shape == (20, 4)
    assert ours._all_weights == theirs._all_weights
    assert repr(ours) == repr(theirs)
    bound = 1 / np.sqrt(5)
    assert all(np.abs(p._data).max() <= bound for p in ours.parameters())
    ours.load_state_dict({k: cr.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    np.testing.assert_array_equal(ours.weight_hr_l0._data, theirs.weight_hr_l0.detach().numpy())
    assert LSTM(3, 5).proj_size == 0 and GRU(3, 5).proj_size == 0


CONFIGS = [
    {},
    {"num_layers": 2},
    {"bidirectional": True, "batch_first": True},
    {"num_layers": 2, "bidirectional": True, "bias": False},
]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("given_state", [False, True])
def test_values_and_all_gradients_match_torch(rng, config, given_state):
    torch = pytest.importorskip("torch")
    kwargs = {"input_size": 3, "hidden_size": 4, "proj_size": 2, **config}
    ours = LSTM(**kwargs, rng=rng, dtype="float64")
    theirs = _to_torch(torch, ours, **kwargs)
    x = cr.tensor(rng.standard_normal((2, 5, 3) if config.get("batch_first") else (5, 2, 3)),
                  requires_grad=True)
    tx = torch.tensor(x._data, requires_grad=True)
    args, targs = [x], [tx]
    if given_state:
        layers = (2 if config.get("bidirectional") else 1) * config.get("num_layers", 1)
        states = [cr.tensor(rng.standard_normal((layers, 2, n)), requires_grad=True)
                  for n in (2, 4)]
        tstates = [torch.tensor(s._data, requires_grad=True) for s in states]
        args.append(tuple(states))
        targs.append(tuple(tstates))
    out, (h, c) = ours(*args)
    tout, (th, tc) = theirs(*targs)
    for o, t in zip((out, h, c), (tout, th, tc), strict=True):
        assert o.shape == tuple(t.shape)
        np.testing.assert_allclose(o._data, t.detach().numpy(), rtol=1e-10, atol=1e-12)
    grads = [rng.standard_normal(o.shape) for o in (out, h, c)]
    cr.autograd.backward([out, h, c], grads)
    torch.autograd.backward([tout, th, tc], [torch.tensor(g) for g in grads])
    leaves = [(x, tx)] + (list(zip(states, tstates, strict=True)) if given_state else [])
    for ours_leaf, their_leaf in leaves:
        np.testing.assert_allclose(ours_leaf.grad._data, their_leaf.grad.numpy(), rtol=1e-9,
                                   atol=1e-11)
    for key, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, key).grad._data, p.grad.numpy(), rtol=1e-9,
                                   atol=1e-11)


def test_packed_sequence_and_unbatched_match_torch(rng):
    torch = pytest.importorskip("torch")
    kwargs = {"input_size": 3, "hidden_size": 4, "proj_size": 3, "bidirectional": True,
              "num_layers": 2}
    ours = LSTM(**kwargs, rng=rng, dtype="float64")
    theirs = _to_torch(torch, ours, **kwargs)
    x = rng.standard_normal((5, 3, 3))
    lengths = [3, 5, 2]
    xc = cr.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    out, (h, c) = ours(rnn.pack_padded_sequence(xc, lengths, enforce_sorted=False))
    tout, (th, tc) = theirs(torch.nn.utils.rnn.pack_padded_sequence(tx, lengths,
                                                                    enforce_sorted=False))
    out = rnn.pad_packed_sequence(out)[0]
    tout = torch.nn.utils.rnn.pad_packed_sequence(tout)[0]
    assert out.shape == (5, 3, 6) and h.shape == (4, 3, 3) and c.shape == (4, 3, 4)
    for o, t in zip((out, h, c), (tout, th, tc), strict=True):
        np.testing.assert_allclose(o._data, t.detach().numpy(), rtol=1e-10, atol=1e-12)
    grads = [rng.standard_normal(o.shape) for o in (out, h, c)]
    cr.autograd.backward([out, h, c], grads)
    torch.autograd.backward([tout, th, tc], [torch.tensor(g) for g in grads])
    np.testing.assert_allclose(xc.grad._data, tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    for key, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, key).grad._data, p.grad.numpy(), rtol=1e-9,
                                   atol=1e-11)
    single = rng.standard_normal((4, 3))
    out, (h, c) = ours(cr.tensor(single))
    tout, (th, tc) = theirs(torch.tensor(single))
    assert out.shape == (4, 6) and h.shape == (4, 3) and c.shape == (4, 4)
    for o, t in zip((out, h, c), (tout, th, tc), strict=True):
        np.testing.assert_allclose(o._data, t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_gradcheck_through_time(rng):
    model = LSTM(2, 3, proj_size=2, bidirectional=True, rng=rng, dtype="float64")
    x = cr.tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    h0 = cr.tensor(rng.standard_normal((2, 2, 2)) * 0.5, requires_grad=True)
    c0 = cr.tensor(rng.standard_normal((2, 2, 3)) * 0.5, requires_grad=True)

    def f(x, h0, c0, *params):
        out, (h, c) = model(x, (h0, c0))
        return out, h, c

    assert cr.gradcheck(f, [x, h0, c0, *model.parameters()])
    assert cr.gradgradcheck(f, [x, h0, c0])


@pytest.mark.kernel_free
def test_proj_size_errors():
    with pytest.raises(ValueError, match="proj_size must be smaller than hidden_size=5, got 5"):
        LSTM(3, 5, proj_size=5)
    with pytest.raises(ValueError, match="proj_size must be a non-negative int .* got -1"):
        LSTM(3, 5, proj_size=-1)
    with pytest.raises(ValueError, match=r"got 2\.0"):
        LSTM(3, 5, proj_size=2.0)
    with pytest.raises(ValueError, match="only supported for the LSTM, got proj_size=2 for mode"):
        RNNBase("GRU", 3, 5, proj_size=2)
    with pytest.raises(TypeError):
        RNN(3, 5, proj_size=2)
    lstm = LSTM(3, 5, proj_size=2, dtype="float64")
    x = cr.tensor(np.zeros((4, 1, 3)))
    zeros = cr.tensor(np.zeros((1, 1, 5)))
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(1, 1, 2\), got shape"):
        lstm(x, (zeros, zeros))
