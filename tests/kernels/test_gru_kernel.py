"""kernels.gru: the fast sequence route against the step-by-step reference."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import kernels
from chainrule.kernels import gru as K

T, B, E, H = 7, 5, 3, 4


def _arrays(rng, dtype, bias=True):
    shapes = [(T, B, E), (B, H), (3 * H, E), (3 * H, H)] + ([(3 * H,)] * 2 if bias else [])
    return [rng.standard_normal(s).astype(dtype) * (0.5 if i in (2, 3) else 1)
            for i, s in enumerate(shapes)]


def _mask():
    mask = np.ones((T, B), bool)
    mask[5:, 1] = False
    mask[2:, 3] = False
    return mask


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("zero_out", [False, True])
def test_fast_route_equals_the_reference(rng, dtype, reverse, masked, bias, zero_out):
    args = _arrays(rng, dtype, bias)
    mask = _mask() if masked else None
    g_out = np.zeros((T, B, H), dtype) if zero_out else rng.standard_normal((T, B, H)).astype(dtype)
    g_h = rng.standard_normal((B, H)).astype(dtype)
    want = K.gru_forward_reference(*args, reverse=reverse, mask=mask)
    want_grads = K.gru_backward_reference(want[2], g_out, g_h)
    got = K.gru_forward(*args, reverse=reverse, mask=mask)
    assert got[2][0] == "fast"
    got_grads = K.gru_backward(got[2], g_out, g_h)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for a, w in zip(got[:2] + got_grads, want[:2] + want_grads, strict=True):
        if w is None:
            assert a is None and not bias
            continue
        assert a.dtype == dtype and a.shape == w.shape
        np.testing.assert_allclose(a, w, rtol=tol, atol=tol)


def test_skipped_gradients_are_none_and_the_rest_unchanged(rng):
    args = _arrays(rng, np.float64)
    g_out, g_h = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))
    saved = K.gru_forward(*args)[2]
    full = K.gru_backward(saved, g_out, g_h)
    part = K.gru_backward(saved, g_out, g_h, need_x=False, need_w=False)
    assert part[0] is None and part[2:] == (None,) * 4
    np.testing.assert_array_equal(part[1], full[1])


def test_reference_mode_and_other_arrays_take_the_reference(rng):
    args = _arrays(rng, np.float64)
    assert kernels.K.gru_forward(*args)[2][0] == "fast"
    with cr.reference_mode():  # the table holds the reference, and the op's backward follows
        assert kernels.K.gru_forward(*args)[2][0] == "reference"
    assert K.gru_forward(*[a.astype(np.float16) for a in args])[2][0] == "reference"
    assert K.gru_forward(*args, save=False)[2] is None
