"""ops.gru_sequence: gradients (first and second order), create_graph through the composite,
PyTorch's nn.GRU as the oracle, and errors. Runs with the fast kernels and in reference mode."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.gru_sequence import gru_sequence

T, B, E, H = 4, 3, 2, 3


def _inputs(rng, bias=True):
    shapes = [(T, B, E), (B, H), (3 * H, E), (3 * H, H)] + ([(3 * H,)] * 2 if bias else [])
    return [cr.tensor(rng.standard_normal(s) * (0.6 if i >= 2 else 1.0), requires_grad=True)
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
    mask = _mask() if masked else None
    assert cr.gradcheck(lambda *a: gru_sequence(*a, reverse=reverse, mask=mask),
                        _inputs(rng, bias))


@pytest.mark.parametrize("reverse,masked", [(False, False), (True, True)])
def test_second_derivatives(rng, reverse, masked):
    mask = _mask() if masked else None
    assert cr.gradgradcheck(lambda *a: gru_sequence(*a, reverse=reverse, mask=mask),
                            _inputs(rng), max_elements=12)


@pytest.mark.parametrize("masked", [False, True])
def test_create_graph_gradients_equal_the_kernels(rng, masked):
    inputs = _inputs(rng)
    outs = gru_sequence(*inputs, mask=_mask() if masked else None)
    weights = [cr.tensor(rng.standard_normal(o.shape)) for o in outs]
    plain = cr.grad(outs, inputs, weights, retain_graph=True)
    recorded = cr.grad(outs, inputs, weights, create_graph=True)
    assert all(r.requires_grad for r in recorded)
    for p, r in zip(plain, recorded, strict=True):
        np.testing.assert_allclose(r.numpy(), p.numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.torch
@pytest.mark.parametrize("reverse", [False, True])
def test_matches_torch_gru(rng, reverse):
    torch = pytest.importorskip("torch")
    inputs = _inputs(rng)
    gru = torch.nn.GRU(E, H, dtype=torch.float64)
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    gru.load_state_dict({n: torch.tensor(t.numpy()) for n, t in zip(names, inputs[2:])})
    tx, th = (torch.tensor(t.numpy(), requires_grad=True) for t in inputs[:2])
    tout, th_n = gru(tx.flip(0) if reverse else tx, th[None])
    tout = tout.flip(0) if reverse else tout
    out, h_n = gru_sequence(*inputs, reverse=reverse)
    for ours, theirs in [(out, tout), (h_n, th_n[0])]:
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-13)
    weights = [rng.standard_normal(o.shape) for o in (out, h_n)]
    cr.autograd.backward([out, h_n], weights)
    torch.autograd.backward([tout, th_n[0]], [torch.tensor(w) for w in weights])
    theirs = [tx.grad, th.grad] + [getattr(gru, n).grad for n in names]
    for ours, want in zip(inputs, theirs, strict=True):
        np.testing.assert_allclose(ours.grad.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.kernel_free
def test_bad_arguments_are_named(rng):
    x, h0, w_ih, w_hh, b_ih, b_hh = _inputs(rng)
    with pytest.raises(ValueError, match="both biases"):
        gru_sequence(x, h0, w_ih, w_hh, None, b_hh)
    with pytest.raises(ValueError, match=r"w_hh must have shape \(9, 3\), got \(9, 2\)"):
        gru_sequence(x, h0, w_ih, w_hh[:, :2])
    with pytest.raises(ValueError, match=r"mask must have shape \(4, 3\), got \(4,\)"):
        gru_sequence(x, h0, w_ih, w_hh, mask=np.ones(4, bool))


@pytest.mark.kernel_free
def test_bad_dtypes_and_bias_shapes_are_named(rng):
    x, h0, w_ih, w_hh, b_ih, b_hh = _inputs(rng)
    with pytest.raises(TypeError, match="h0 has dtype float32 but x has float64"):
        gru_sequence(x, h0.astype("float32"), w_ih, w_hh)
    with pytest.raises(ValueError, match=r"b_ih must have shape \(9,\), got \(8,\)"):
        gru_sequence(x, h0, w_ih, w_hh, b_ih[:8], b_hh)


def test_one_step_one_sequence_one_unit(rng):
    shapes = [(1, 1, 1), (1, 1), (3, 1), (3, 1), (3,), (3,)]
    inputs = [cr.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert cr.gradcheck(lambda *a: gru_sequence(*a, reverse=True), inputs)
