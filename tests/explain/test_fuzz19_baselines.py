"""Nineteenth fuzz wave, explain: a baseline with a leading 1, ``(1, *sample)``, Captum's form.

Captum broadcasts a baseline shaped ``(1, ...)`` over the batch, and so did chainrule's
occlusion, feature ablation and Shapley values; integrated gradients, DeepLIFT, layer conductance
and layer integrated gradients refused it (a clear error, but for the one shape Captum's examples
use most). All take it now, and agree with Captum on the same weights.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

from chainrule import nn  # noqa: E402
from chainrule.explain import (  # noqa: E402
    deeplift,
    integrated_gradients,
    layer_conductance,
    layer_integrated_gradients,
)

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore::UserWarning")]


def _twins(seed=5):
    rng = np.random.default_rng(seed)
    ours = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, rng=rng),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(48, 3, rng=rng),
    ).to(dtype="float64")
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(48, 3),
    ).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((3, 2, 4, 4))
    return ours, theirs.eval(), x, rng.standard_normal((1, 2, 4, 4)), rng.integers(0, 3, 3)


def _np(out):
    return out.detach().numpy()


@pytest.mark.parametrize("method", ["integrated_gradients", "deeplift", "conductance", "layer_ig"])
def test_a_baseline_with_a_leading_one_matches_captum(method):
    ours, theirs, x, base, t = _twins()
    xt, bt, tt = torch.tensor(x, requires_grad=True), torch.tensor(base), torch.tensor(t)
    if method == "integrated_gradients":
        got = integrated_gradients(ours, x, t, baseline=base, steps=8, method="riemann_left")
        want, delta = captum_attr.IntegratedGradients(theirs).attribute(
            xt, bt, target=tt, n_steps=8, method="riemann_left", return_convergence_delta=True
        )
        np.testing.assert_allclose(got.delta, _np(delta), rtol=1e-6, atol=1e-9)
        got = got.attributions
    elif method == "deeplift":
        got = deeplift(ours, x, t, baseline=base)
        want = captum_attr.DeepLift(theirs).attribute(xt, bt, target=tt)
    elif method == "conductance":
        got = layer_conductance(ours, "0", x, t, baseline=base, steps=6)
        want = captum_attr.LayerConductance(theirs, theirs[0]).attribute(
            xt, bt, target=tt, n_steps=6
        )
    else:
        got = layer_integrated_gradients(ours, "1", x, t, baseline=base, steps=6)
        want = captum_attr.LayerIntegratedGradients(theirs, theirs[1]).attribute(
            xt, bt, target=tt, n_steps=6
        )
    # Captum rounds integrated gradients' step sizes in float32 (test_fuzz15_captum.py)
    np.testing.assert_allclose(got, _np(want), rtol=1e-6, atol=1e-9)
    # the same as the baseline repeated for every sample
    full = np.repeat(base, len(x), axis=0)
    again = {
        "integrated_gradients": lambda: (
            integrated_gradients(
                ours, x, t, baseline=full, steps=8, method="riemann_left"
            ).attributions
        ),
        "deeplift": lambda: deeplift(ours, x, t, baseline=full),
        "conductance": lambda: layer_conductance(ours, "0", x, t, baseline=full, steps=6),
        "layer_ig": lambda: layer_integrated_gradients(ours, "1", x, t, baseline=full, steps=6),
    }[method]()
    np.testing.assert_array_equal(got, again)


def test_other_baseline_shapes_are_still_refused():
    ours, _, x, base, t = _twins()
    with pytest.raises(ValueError, match=r"baseline must be .*\(1, \.\.\.\)"):
        integrated_gradients(ours, x, t, baseline=np.zeros((2, 2, 4, 4)))
    with pytest.raises(ValueError, match=r"baseline must be"):
        deeplift(ours, x, t, baseline=np.zeros((1, 1, 2, 4, 4)))
