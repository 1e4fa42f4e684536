"""KFAC Laplace of a Conv2d with padding="same" and every padding mode (float64).

A Conv2d that pads (with zeros, by reflection, replication or wrapping around) is the same layer
unpadded applied to the input padded that way, so its Kronecker factors and linearized predictive
must be those of the unpadded twin on the padded input. padding="same" with a padding mode, and
padding_mode="circular" at all, failed in fit (a TypeError from np.pad, a KeyError).
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.bayes import KFACLaplace

_NUMPY_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _net(conv, side, rng):
    return nn.Sequential(
        conv, nn.Tanh(), nn.Flatten(), nn.Linear(3 * side * side, 3, rng=rng, dtype="float64")
    )


@pytest.mark.parametrize(
    "mode, kernel, padding",
    [
        ("zeros", 2, "same"),
        ("reflect", 3, "same"),
        ("replicate", 2, "same"),
        ("circular", 3, "same"),
        ("circular", 3, 1),
    ],
)
def test_padded_conv_is_its_unpadded_twin_on_the_padded_input(mode, kernel, padding):
    rng = np.random.default_rng(5)
    net = _net(
        nn.Conv2d(2, 3, kernel, padding=padding, padding_mode=mode, rng=rng, dtype="float64"),
        4,
        rng,
    )
    lo, hi = ((kernel - 1) // 2, kernel - 1 - (kernel - 1) // 2) if padding == "same" else (1, 1)
    plain = _net(nn.Conv2d(2, 3, kernel, rng=rng, dtype="float64"), 4, rng)
    plain.load_state_dict(net.state_dict())
    x = rng.standard_normal((5, 2, 4, 4))
    x_padded = np.pad(x, ((0, 0), (0, 0), (lo, hi), (lo, hi)), mode=_NUMPY_MODE[mode])
    np.testing.assert_allclose(
        net(cr.tensor(x)).numpy(), plain(cr.tensor(x_padded)).numpy(), rtol=1e-12
    )
    for approx in ("expand", "reduce"):
        la = KFACLaplace(net, conv_approximation=approx).fit(x)
        ref = KFACLaplace(plain, conv_approximation=approx).fit(x_padded)
        for (b, a), (b_ref, a_ref) in zip(la.factors, ref.factors):
            np.testing.assert_allclose(b, b_ref, rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(a, a_ref, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(la.predict(x), ref.predict(x_padded), rtol=1e-10)
