"""ops.lstm_sequence: gradients (first and second order), create_graph through the composite,
PyTorch's nn.LSTM as the oracle, and errors. Runs with the fast kernels and in reference mode."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.lstm_sequence import lstm_sequence

T, B, E, H = 4, 3, 2, 3


def _inputs(rng, bias=True):
    shapes = [(T, B, E), (B, H), (B, H), (4 * H, E), (4 * H, H)] + ([(4 * H,)] * 2 if bias else [])
    return [cr.tensor(rng.standard_normal(s) * (0.6 if i >= 3 else 1.0), requires_grad=True)
            for i, s in enumerate(shapes)]


def _mask():
    mask = np.ones((T, B), bool)
    mask[2:, 0] = False
    mask[1:, 2] = False
    return mask


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_every_input(rng, reverse, masked, bias):
    inputs = _inputs(rng, bias)
    mask = _mask() if masked else None

    def f(*args):
        return lstm_sequence(*args, reverse=reverse, mask=mask)

    assert cr.gradcheck(f, inputs)


@pytest.mark.parametrize("reverse,masked", [(False, False), (True, True)])
def test_second_derivatives(rng, reverse, masked):
    inputs = _inputs(rng)
    mask = _mask() if masked else None

    def f(*args):
        return lstm_sequence(*args, reverse=reverse, mask=mask)

    assert cr.gradgradcheck(f, inputs, max_elements=12)


@pytest.mark.parametrize("masked", [False, True])
def test_create_graph_gradients_equal_the_kernels(rng, masked):
    """create_graph=True differentiates the composite; its values are the kernel's."""
    inputs = _inputs(rng)
    mask = _mask() if masked else None
    outs = lstm_sequence(*inputs, mask=mask)
    weights = [cr.tensor(rng.standard_normal(o.shape)) for o in outs]
    plain = cr.grad(outs, inputs, weights, retain_graph=True)
    recorded = cr.grad(outs, inputs, weights, create_graph=True)
    assert all(r.requires_grad for r in recorded)
    for p, r in zip(plain, recorded, strict=True):
        np.testing.assert_allclose(r.numpy(), p.numpy(), rtol=1e-12, atol=1e-13)


def test_forward_without_recording_is_the_same(rng):
    inputs = _inputs(rng)
    recorded = lstm_sequence(*inputs, mask=_mask())
    with cr.no_grad():
        plain = lstm_sequence(*inputs, mask=_mask())
    for a, b in zip(recorded, plain, strict=True):
        assert not b.requires_grad
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("reverse", [False, True])
def test_matches_torch_lstm(rng, reverse):
    torch = pytest.importorskip("torch")
    inputs = _inputs(rng)
    lstm = torch.nn.LSTM(E, H, dtype=torch.float64)
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    lstm.load_state_dict({n: torch.tensor(t.numpy()) for n, t in zip(names, inputs[3:])})
    tx, th, tc = (torch.tensor(t.numpy(), requires_grad=True) for t in inputs[:3])
    # torch reads forward only: the reverse direction is the forward one over the flipped input
    seq = tx.flip(0) if reverse else tx
    tout, (th_n, tc_n) = lstm(seq, (th[None], tc[None]))
    tout = tout.flip(0) if reverse else tout
    out, h_n, c_n = lstm_sequence(*inputs, reverse=reverse)
    for ours, theirs in [(out, tout), (h_n, th_n[0]), (c_n, tc_n[0])]:
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-13)
    weights = [rng.standard_normal(o.shape) for o in (out, h_n, c_n)]
    cr.autograd.backward([out, h_n, c_n], weights)
    torch.autograd.backward([tout, th_n[0], tc_n[0]], [torch.tensor(w) for w in weights])
    theirs = [tx.grad, th.grad, tc.grad] + [getattr(lstm, n).grad for n in names]
    for ours, want in zip(inputs, theirs, strict=True):
        np.testing.assert_allclose(ours.grad.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.kernel_free
def test_bad_arguments_are_named(rng):
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = _inputs(rng)
    with pytest.raises(ValueError, match="both biases"):
        lstm_sequence(x, h0, c0, w_ih, w_hh, b_ih)
    with pytest.raises(ValueError, match=r"c0 must have shape \(3, 3\), got \(2, 3\)"):
        lstm_sequence(x, h0, c0[:2], w_ih, w_hh)
    with pytest.raises(ValueError, match=r"x must be \(T, B, E\), got shape \(4, 2\)"):
        lstm_sequence(x[:, 0], h0, c0, w_ih, w_hh)
    with pytest.raises(ValueError, match=r"mask must have shape \(4, 3\), got \(3, 4\)"):
        lstm_sequence(x, h0, c0, w_ih, w_hh, mask=np.ones((3, 4), bool))


@pytest.mark.kernel_free
def test_bad_dtypes_and_bias_shapes_are_named(rng):
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = _inputs(rng)
    with pytest.raises(TypeError, match="w_hh has dtype float32 but x has float64"):
        lstm_sequence(x, h0, c0, w_ih, w_hh.astype("float32"))
    with pytest.raises(ValueError, match=r"b_hh must have shape \(12,\), got \(11,\)"):
        lstm_sequence(x, h0, c0, w_ih, w_hh, b_ih, b_hh[:11])


def test_one_step_one_sequence_one_unit(rng):
    shapes = [(1, 1, 1), (1, 1), (1, 1), (4, 1), (4, 1), (4,), (4,)]
    inputs = [cr.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert cr.gradcheck(lambda *a: lstm_sequence(*a, reverse=True), inputs)
