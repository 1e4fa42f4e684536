"""kernels.lstm: the fast sequence routes (numba and NumPy step kernels) against the references."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import kernels
from chainrule.kernels import lstm as K

T, B, E, H = 7, 5, 3, 4


def _arrays(rng, dtype):
    shapes = [(T, B, E), (B, H), (B, H), (4 * H, E), (4 * H, H), (4 * H,)]
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    arrays[3] *= 0.5
    arrays[4] *= 0.5
    return arrays


def _mask():
    mask = np.ones((T, B), bool)
    mask[5:, 1] = False  # ends early
    mask[2:, 3] = False
    return mask


def _grads(rng, dtype):
    return [rng.standard_normal(s).astype(dtype) for s in [(T, B, H), (B, H), (B, H)]]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("jit", [True, False])
@pytest.mark.parametrize("zero_out", [False, True])
def test_fast_routes_equal_the_reference(rng, monkeypatch, dtype, reverse, masked, jit, zero_out):
    """Every route, including the one that skips an all-zero gradient of the outputs."""
    x, h0, c0, w_ih, w_hh, b = _arrays(rng, dtype)
    mask = _mask() if masked else None
    g_out, g_h, g_c = _grads(rng, dtype)
    if zero_out:
        g_out[...] = 0
    want = K.lstm_forward_reference(x, h0, c0, w_ih, w_hh, b, reverse=reverse, mask=mask)
    want_grads = K.lstm_backward_reference(want[3], g_out, g_h, g_c)
    monkeypatch.setattr(cr.config, "jit", jit)
    assert (K._jit() is not None) == (jit and K._NUMBA)
    got = K.lstm_forward(x, h0, c0, w_ih, w_hh, b, reverse=reverse, mask=mask)
    assert got[3][0] == "fast"
    got_grads = K.lstm_backward(got[3], g_out, g_h, g_c)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for a, w in zip(got[:3] + got_grads, want[:3] + want_grads, strict=True):
        assert a.dtype == dtype and a.shape == w.shape
        np.testing.assert_allclose(a, w, rtol=tol, atol=tol)


def test_masked_steps_pass_the_state_and_output_zero(rng):
    x, h0, c0, w_ih, w_hh, b = _arrays(rng, np.float64)
    mask = _mask()
    out, h, c, _ = K.lstm_forward(x, h0, c0, w_ih, w_hh, b, mask=mask)
    assert np.all(out[~mask] == 0)
    alone, h1, c1, _ = K.lstm_forward(x[:2, 3:4], h0[3:4], c0[3:4], w_ih, w_hh, b)
    np.testing.assert_allclose(out[:2, 3:4], alone, rtol=1e-13)
    np.testing.assert_allclose(h[3:4], h1, rtol=1e-13)
    np.testing.assert_allclose(c[3:4], c1, rtol=1e-13)


def test_skipped_gradients_are_none_and_the_rest_unchanged(rng):
    x, h0, c0, w_ih, w_hh, b = _arrays(rng, np.float64)
    g_out, g_h, g_c = _grads(rng, np.float64)
    saved = K.lstm_forward(x, h0, c0, w_ih, w_hh, b)[3]
    full = K.lstm_backward(saved, g_out, g_h, g_c)
    part = K.lstm_backward(saved, g_out, g_h, g_c, need_x=False, need_h0=False, need_w=False)
    assert part[0] is None and part[1] is None and part[3:] == (None, None, None)
    # Without the input's gradient the state's product is a GEMM with fewer rows, which OpenBLAS
    # may block differently (on AMD EPYC it does): equal up to float64 rounding, not bit for bit.
    np.testing.assert_allclose(part[2], full[2], rtol=1e-13, atol=1e-16)
    no_h0 = K.lstm_backward(saved, g_out, g_h, g_c, need_h0=False)
    assert no_h0[1] is None
    for a, b in zip(no_h0[:1] + no_h0[2:], full[:1] + full[2:], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-16)


def test_reference_mode_and_other_arrays_take_the_reference(rng):
    x, h0, c0, w_ih, w_hh, b = _arrays(rng, np.float64)
    assert kernels.K.lstm_forward(x, h0, c0, w_ih, w_hh, b)[3][0] == "fast"
    with cr.reference_mode():  # the table holds the reference, and the op's backward follows
        assert kernels.K.lstm_forward(x, h0, c0, w_ih, w_hh, b)[3][0] == "reference"
    args = [a.astype(np.float16) for a in (x, h0, c0, w_ih, w_hh, b)]
    assert K.lstm_forward(*args)[3][0] == "reference"
    assert K.lstm_forward(x, h0, c0, w_ih, w_hh, b, save=False)[3] is None


@pytest.mark.parametrize("jit", [True, False])
def test_forward_without_keeping_gives_the_same_values(rng, monkeypatch, jit):
    monkeypatch.setattr(cr.config, "jit", jit)
    args = _arrays(rng, np.float32)
    kept = K.lstm_forward(*args, reverse=True, mask=_mask())
    plain = K.lstm_forward(*args, reverse=True, mask=_mask(), save=False)
    for a, b in zip(kept[:3], plain[:3], strict=True):
        np.testing.assert_array_equal(a, b)
