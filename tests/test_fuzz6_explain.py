"""Sixth fuzz wave, explain: what docs/explain.md says of Captum's trapezoid rule."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain import integrated_gradients

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("steps", [2, 7])
def test_captums_trapezoid_is_ours_times_n_minus_one_over_n(steps):
    torch = pytest.importorskip("torch")
    captum_attr = pytest.importorskip("captum.attr")
    rng = np.random.default_rng(0)
    ours = nn.Sequential(nn.Linear(5, 7, rng=rng), nn.Tanh(), nn.Linear(7, 3, rng=rng))
    ours = ours.to(cr.float64)
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    theirs = theirs.double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x, target = rng.standard_normal((4, 5)), np.array([0, 1, 2, 0])
    result = integrated_gradients(ours, x, target, steps=steps, method="trapezoid")
    captum = captum_attr.IntegratedGradients(theirs).attribute(
        torch.tensor(x), target=torch.tensor(target), n_steps=steps,
        method="riemann_trapezoid").detach().numpy()
    # Captum rounds its path points in float32: agreement to 1e-7, as its other rules
    np.testing.assert_allclose(result.attributions * (steps - 1) / steps, captum, atol=1e-7)
    assert not np.allclose(result.attributions, captum, atol=1e-3)
