"""Regressions found by differential fuzzing against PyTorch (helper fuzz7): special functions."""

import numpy as np
import pytest

import chainrule as cr


def test_zeta_at_a_negative_integer_q_is_a_pole_for_every_s_above_1():
    s = cr.tensor([1.41, 2.5, 2.0, 1.41, 1.41], dtype=cr.float64)
    q = cr.tensor([-2.0, -3.0, -2.0, -2.5, -0.5], dtype=cr.float64)
    got = cr.special.zeta(s, q).numpy()
    assert np.isposinf(got[:3]).all()  # q + k reaches 0: a pole, whatever s (was NaN for s = 1.41)
    assert np.isnan(got[3:]).all()     # negative q + k to a non-integer power: NaN, as before


@pytest.mark.torch
def test_zeta_poles_and_nans_match_pytorch():
    torch = pytest.importorskip("torch")
    scipy_special = pytest.importorskip("scipy.special")
    s = np.repeat([0.5, 1.0, 1.41, 2.0, 2.5, 3.0], 7)
    q = np.tile([-3.0, -2.5, -2.0, -0.0, 0.0, -100.0, -100.5], 6)
    t = torch.special.zeta(torch.tensor(s), torch.tensor(q)).numpy()
    c = cr.special.zeta(cr.tensor(s), cr.tensor(q)).numpy()
    np.testing.assert_allclose(c, t, rtol=1e-12)  # the same infinities and NaNs, finite to 1e-12
    np.testing.assert_array_equal(np.isposinf(c), np.isposinf(scipy_special.zeta(s, q)))
