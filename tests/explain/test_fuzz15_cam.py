"""Fifteenth fuzz wave, explain: Grad-CAM and guided Grad-CAM against Captum 0.9.0.

The same seeded two-channel ReLU CNN in chainrule and PyTorch (float64); each case compares
``grad_cam`` with Captum's ``LayerGradCam`` (layers by name or as modules, convolutional and
linear, with and without the ReLU), its resized map with ``LayerAttribution.interpolate``,
``guided_grad_cam`` with ``GuidedGradCam``, and ``upsample_nearest`` with PyTorch's
``interpolate(mode="nearest")``.
"""

import numpy as np
import pytest

from chainrule import nn
from chainrule.explain import grad_cam, guided_grad_cam, upsample_nearest

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings(
    "ignore:Setting backward hooks on ReLU activations:UserWarning")]


def _twins(seed, size=8):
    rng = np.random.default_rng(seed)
    flat = 3 * (size // 2) ** 2
    ours = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(flat, 4, rng=rng), nn.ReLU(),
                         nn.Linear(4, 3, rng=rng)).to(dtype="float64")
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(),
                                 torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                 torch.nn.Linear(flat, 4), torch.nn.ReLU(),
                                 torch.nn.Linear(4, 3)).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = rng.uniform(-1, 1, size=(3, 2, size, size))
    return ours, theirs.eval(), x, rng.integers(0, 3, 3)


@pytest.mark.parametrize("index", [0, 1, 2, 4, 5])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("by", ["name", "module"])
def test_grad_cam_matches_captums_layer_grad_cam(index, relu, by):
    ours, theirs, x, target = _twins(index + 10 * relu)
    layer = str(index) if by == "name" else ours[index]
    got = grad_cam(ours, layer, x, target, relu=relu, batch_size=2)
    want = captum_attr.LayerGradCam(theirs, theirs[index]).attribute(
        torch.tensor(x), target=torch.tensor(target), relu_attributions=relu).detach().numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("size", [6, 8, 10])
@pytest.mark.parametrize("index", [0, 2])
def test_resized_grad_cam_and_guided_grad_cam_match_captum(size, index):
    ours, theirs, x, target = _twins(size + index, size)
    cam = captum_attr.LayerGradCam(theirs, theirs[index]).attribute(
        torch.tensor(x), target=torch.tensor(target), relu_attributions=True)
    want = captum_attr.LayerAttribution.interpolate(cam, (size, size)).detach().numpy()
    np.testing.assert_allclose(grad_cam(ours, str(index), x, target, resize=True), want,
                               rtol=1e-12, atol=1e-15)
    want = captum_attr.GuidedGradCam(theirs, theirs[index]).attribute(
        torch.tensor(x, requires_grad=True), target=torch.tensor(target)).detach().numpy()
    got = guided_grad_cam(ours, str(index), x, target)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert got.shape == x.shape


def test_upsample_nearest_matches_torch_interpolate():
    """In float32. PyTorch's 2-D kernel places a float64 map's source rows in float32 for small
    outputs and in float64 for larger ones (a 6 x 6 map resized to 74 x 54 reads row 2 at output
    row 37, resized to 74 x 55 it reads row 3); ops.interpolate always takes the second rule."""
    rng = np.random.default_rng(0)
    for h, w, oh, ow in ((3, 5, 7, 11), (6, 12, 74, 74), (14, 4, 46, 9), (5, 5, 5, 5),
                         (7, 3, 28, 13)):
        maps = rng.standard_normal((2, 3, h, w)).astype(np.float32)
        want = torch.nn.functional.interpolate(torch.tensor(maps), size=(oh, ow),
                                               mode="nearest").numpy()
        np.testing.assert_array_equal(upsample_nearest(maps, (oh, ow)), want)
    line = rng.standard_normal((1, 2, 9)).astype(np.float32)
    np.testing.assert_array_equal(upsample_nearest(line, 31), torch.nn.functional.interpolate(
        torch.tensor(line), size=31, mode="nearest").numpy())


def test_grad_cam_errors_name_the_layer():
    ours, _, x, target = _twins(1)
    with pytest.raises(ValueError, match="model has no layer 'conv9'"):
        grad_cam(ours, "conv9", x, target)
    with pytest.raises(ValueError, match="layer Conv2d is not a module of Sequential"):
        grad_cam(ours, nn.Conv2d(2, 3, 3), x, target)
    with pytest.raises(ValueError, match="resize needs a map"):
        grad_cam(ours, "4", x, target, resize=True)
    with pytest.raises(ValueError, match="size must have one entry per spatial axis"):
        upsample_nearest(np.zeros((1, 1, 4, 4)), 8)
