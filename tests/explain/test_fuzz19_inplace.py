"""Nineteenth fuzz wave, explain: models built with ``ReLU(inplace=True)`` against Captum 0.9.0.

An in-place ReLU overwrites the tensor it is given (values and graph node). The deconvnet kept
the forward pass's mask then (its rule ran after the overwrite), and the layer methods kept the
overwritten activation: ``layer_activations``, ``grad_cam`` and ``layer_conductance`` of a layer
followed by an in-place ReLU gave the ReLU's output and its gradient, and
``layer_integrated_gradients`` raised. Captum's answers for the same weights are those of the
model without ``inplace``; chainrule's now are too.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

from chainrule import nn  # noqa: E402
from chainrule.explain import (  # noqa: E402
    deconvnet,
    grad_cam,
    guided_backprop,
    guided_grad_cam,
    layer_activations,
    layer_conductance,
    layer_integrated_gradients,
)

pytestmark = [
    pytest.mark.torch,
    pytest.mark.filterwarnings("ignore:Setting backward hooks on ReLU activations:UserWarning"),
]


def _twins(kind, inplace, seed=3):
    rng = np.random.default_rng(seed)
    if kind == "mlp":
        ours = nn.Sequential(
            nn.Linear(5, 7, rng=rng), nn.ReLU(inplace=inplace), nn.Linear(7, 3, rng=rng)
        )
        theirs = torch.nn.Sequential(
            torch.nn.Linear(5, 7), torch.nn.ReLU(inplace=inplace), torch.nn.Linear(7, 3)
        )
        shape = (4, 5)
    else:
        ours = nn.Sequential(
            nn.Conv2d(2, 3, 3, padding=1, rng=rng),
            nn.ReLU(inplace=inplace),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(48, 4, rng=rng),
            nn.ReLU(inplace=inplace),
            nn.Linear(4, 3, rng=rng),
        )
        theirs = torch.nn.Sequential(
            torch.nn.Conv2d(2, 3, 3, padding=1),
            torch.nn.ReLU(inplace=inplace),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(48, 4),
            torch.nn.ReLU(inplace=inplace),
            torch.nn.Linear(4, 3),
        )
        shape = (3, 2, 8, 8)
    ours = ours.to(dtype="float64")
    theirs = theirs.double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = rng.standard_normal(shape)
    return ours, theirs.eval(), x, rng.integers(0, 3, shape[0])


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_guided_backprop_and_deconvnet_through_in_place_relus_match_captum(kind):
    ours, theirs, x, t = _twins(kind, inplace=True)
    for fn, cls in (
        (guided_backprop, captum_attr.GuidedBackprop),
        (deconvnet, captum_attr.Deconvolution),
    ):
        want = (
            cls(theirs)
            .attribute(torch.tensor(x, requires_grad=True), target=torch.tensor(t))
            .detach()
            .numpy()
        )
        np.testing.assert_allclose(fn(ours, x, t), want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_a_layer_followed_by_an_in_place_relu_keeps_its_own_activation(kind):
    ours, theirs, x, t = _twins(kind, inplace=True)
    xt, tt = torch.tensor(x, requires_grad=True), torch.tensor(t)
    want = captum_attr.LayerActivation(theirs, theirs[0]).attribute(xt).detach().numpy()
    np.testing.assert_allclose(layer_activations(ours, "0", x), want, rtol=1e-12, atol=1e-14)
    want = (
        captum_attr.LayerConductance(theirs, theirs[0])
        .attribute(xt, target=tt, n_steps=6)
        .detach()
        .numpy()
    )
    np.testing.assert_allclose(
        layer_conductance(ours, "0", x, t, steps=6), want, rtol=1e-9, atol=1e-12
    )
    if kind == "cnn":
        for layer in ("0", "1"):
            want = (
                captum_attr.LayerGradCam(theirs, theirs[int(layer)])
                .attribute(xt, target=tt)
                .detach()
                .numpy()
            )
            np.testing.assert_allclose(
                grad_cam(ours, layer, x, t, relu=False), want, rtol=1e-12, atol=1e-14
            )
        want = (
            captum_attr.GuidedGradCam(theirs, theirs[0]).attribute(xt, target=tt).detach().numpy()
        )
        np.testing.assert_allclose(guided_grad_cam(ours, "0", x, t), want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("layer, to_input", [("0", False), ("1", True)])
def test_layer_integrated_gradients_into_an_in_place_relu(kind, layer, to_input):
    # Captum raises here (its injected leaf meets the in-place ReLU); its answer for the model
    # without inplace is the attribution of the same function
    ours, _, x, t = _twins(kind, inplace=True)
    _, plain, _, _ = _twins(kind, inplace=False)
    got = layer_integrated_gradients(ours, layer, x, t, steps=6, attribute_to_layer_input=to_input)
    want = (
        captum_attr.LayerIntegratedGradients(plain, plain[int(layer)])
        .attribute(
            torch.tensor(x, requires_grad=True),
            target=torch.tensor(t),
            n_steps=6,
            attribute_to_layer_input=to_input,
        )
        .detach()
        .numpy()
    )
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
