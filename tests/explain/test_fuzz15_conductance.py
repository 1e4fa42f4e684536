"""Fifteenth fuzz wave, explain: ``layer_conductance`` against Captum 0.9.0's LayerConductance.

The same seeded MLP and CNN in chainrule and PyTorch (float64), every layer, each point rule.
Captum places the trapezoid rule's points with ``torch.linspace`` in float32, so that rule agrees
to 1e-7; the others to 1e-12.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain import layer_conductance

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

pytestmark = pytest.mark.torch

METHODS = ["gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right",
           "riemann_middle"]


def _twins(kind, rng):
    if kind == "mlp":
        ours = nn.Sequential(nn.Linear(5, 7, rng=rng), nn.Tanh(), nn.Linear(7, 3, rng=rng))
        theirs = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(),
                                     torch.nn.Linear(7, 3))
        return ours, theirs, (4, 5), (0, 1)
    ours = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(48, 4, rng=rng), nn.ReLU(),
                         nn.Linear(4, 3, rng=rng))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(),
                                 torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                 torch.nn.Linear(48, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    return ours, theirs, (3, 2, 8, 8), (0, 2, 5)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("method", METHODS)
def test_layer_conductance_matches_captum(kind, method):
    rng = np.random.default_rng(10 * (kind == "cnn") + METHODS.index(method))
    ours, theirs, shape, layers = _twins(kind, rng)
    ours = ours.to(dtype="float64")
    theirs = theirs.double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    theirs.eval()
    x, target = rng.standard_normal(shape), rng.integers(0, 3, shape[0])
    tol = 1e-7 if method == "riemann_trapezoid" else 1e-12
    for index in layers:
        got = layer_conductance(ours, str(index), x, target, baseline=0.2, steps=7,
                                method=method, batch_size=5)
        want = captum_attr.LayerConductance(theirs, theirs[index]).attribute(
            torch.tensor(x), baselines=0.2, target=torch.tensor(target), n_steps=7,
            method=method).detach().numpy()
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_layer_conductance_is_complete_with_the_trapezoid_points():
    rng = np.random.default_rng(2)
    ours = nn.Sequential(nn.Linear(4, 6, rng=rng), nn.Tanh(),
                         nn.Linear(6, 2, rng=rng)).to(dtype="float64")
    x, target = rng.standard_normal((3, 4)), np.array([0, 1, 1])
    got = layer_conductance(ours, ours[1], x, target, steps=400, method="trapezoid")
    with cr.no_grad():
        gap = (ours(cr.tensor(x)).numpy() - ours(cr.tensor(np.zeros((1, 4)))).numpy())[
            np.arange(3), target]
    np.testing.assert_allclose(got.sum(axis=1), gap, rtol=1e-4)
    with pytest.raises(ValueError, match="method must be one of"):
        layer_conductance(ours, "1", x, target, method="simpson")
    with pytest.raises(ValueError, match="model has no layer 'x'"):
        layer_conductance(ours, "x", x, target)
