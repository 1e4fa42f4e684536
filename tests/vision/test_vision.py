"""chainrule.vision: torchvision-shaped datasets and transforms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision import datasets, transforms

MNIST_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"


def test_to_tensor_and_normalize():
    image = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    t = transforms.ToTensor()(image)
    assert isinstance(t, cr.Tensor) and t.shape == (1, 3, 4) and t.dtype == cr.float32
    np.testing.assert_allclose(t.numpy()[0], image / 255.0, rtol=1e-6)
    rgb = np.zeros((2, 2, 3), np.float32)
    rgb[..., 1] = 0.5
    out = transforms.Compose([transforms.ToTensor(),
                              transforms.Normalize((0.0, 0.5, 1.0), (1.0, 0.5, 2.0))])(rgb)
    np.testing.assert_allclose(out.numpy()[:, 0, 0], [0.0, 0.0, -0.5])
    with pytest.raises(ValueError, match="Normalize: expected a \\(C, H, W\\) image with 2"):
        transforms.Normalize((0, 0), (1, 1))(t)


def test_random_affine_geometry():
    x = cr.tensor(np.random.default_rng(0).random((2, 5, 5)).astype(np.float32))
    np.testing.assert_array_equal(transforms.RandomAffine(0)(x).numpy(), x.numpy())
    turned = transforms.RandomAffine((90, 90))(x).numpy()
    np.testing.assert_array_equal(turned, np.rot90(x.numpy(), k=-1, axes=(1, 2)))  # clockwise
    shifted = transforms.RandomAffine(0, translate=(0.2, 0.0), rng=np.random.default_rng(1))(x)
    moved = [np.array_equal(shifted.numpy()[:, :, k:], x.numpy()[:, :, :5 - k]) or
             np.array_equal(shifted.numpy()[:, :, :5 - k], x.numpy()[:, :, k:]) for k in (0, 1)]
    assert any(moved)
    cr.manual_seed(0)
    a = transforms.RandomAffine(30, scale=(0.8, 1.2))(x).numpy()
    cr.manual_seed(0)
    np.testing.assert_array_equal(transforms.RandomAffine(30, scale=(0.8, 1.2))(x).numpy(), a)


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason="no MNIST files in ../shared/data/mnist")
def test_mnist_as_torchvision_gives_it():
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    test = datasets.MNIST(str(MNIST_DIR), train=False, transform=tf)
    assert len(test) == 10000 and test.data.shape == (10000, 28, 28)
    image, label = test[0]
    assert image.shape == (1, 28, 28) and isinstance(label, int) and 0 <= label <= 9
    np.testing.assert_allclose(image.numpy()[0],
                               (test.data.numpy()[0] / 255.0 - 0.1307) / 0.3081, rtol=1e-5)
    loader = cr.utils.data.DataLoader(test, batch_size=64, shuffle=True)
    x, y = next(iter(loader))
    assert x.shape == (64, 1, 28, 28) and y.dtype == cr.int64 and x.dtype == cr.float32


def test_normalize_as_torchvision():
    torch = pytest.importorskip("torch")
    # Found by the fuzz: a uint8 Tensor cast mean and std to uint8 (0.5 -> 0): an image of infs.
    with pytest.raises(TypeError, match="expected a float image"):
        transforms.Normalize([0.5], [0.5])(cr.Tensor(np.full((1, 2, 2), 200, np.uint8)))
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.6, 0.7]
    batch = np.random.default_rng(0).random((4, 3, 2, 5)).astype(np.float32)
    expected = ((torch.from_numpy(batch) - torch.tensor(mean).view(-1, 1, 1))
                / torch.tensor(std).view(-1, 1, 1)).numpy()
    np.testing.assert_allclose(transforms.Normalize(mean, std)(cr.Tensor(batch)).numpy(),
                               expected, rtol=1e-6, atol=1e-7)  # (N, C, H, W) too
    x = cr.Tensor(batch[0].copy())
    assert transforms.Normalize(mean, std, inplace=True)(x) is x  # inplace was ignored
    np.testing.assert_allclose(x.numpy(), expected[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(transforms.Normalize(mean, std)(cr.Tensor(batch)).numpy()[0],
                                  x.numpy())


def test_normalize_passes_gradients():
    # Found by the fuzz: Normalize returned a new Tensor of the values, so a Normalize in front of
    # a model (torchvision's usual pattern, e.g. for attacks) cut the graph: no input gradient.
    std = np.array([0.5, 0.25, 2.0])
    for inplace in (False, True):
        x = cr.tensor(np.random.default_rng(0).random((2, 3, 2, 2)), requires_grad=True)
        z = x * 1.0  # not a leaf: inplace writes into it, as torchvision's sub_/div_
        y = transforms.Normalize([0.1, 0.2, 0.3], std, inplace=inplace)(z)
        assert y.requires_grad and (y is z) == inplace
        (y * y).sum().backward()
        want = 2 * (x.numpy() - np.array([0.1, 0.2, 0.3])[:, None, None]) / std[:, None, None] ** 2
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)


def test_normalize_inplace_on_a_tensor_that_requires_grad_is_torchvisions():
    # Before, inplace=True on a tensor that requires grad computed out of place (torchvision's
    # F.normalize writes with sub_/div_: a leaf is an error, a non-leaf is changed and recorded).
    torch = pytest.importorskip("torch")
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]
    a = np.random.default_rng(0).random((3, 2, 2))

    def theirs(t):  # torchvision's F.normalize(t, mean, std, inplace=True), step by step
        return t.sub_(torch.tensor(mean, dtype=t.dtype).view(-1, 1, 1)).div_(
            torch.tensor(std, dtype=t.dtype).view(-1, 1, 1))

    leaf = torch.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        theirs(leaf)
    with pytest.raises(RuntimeError, match=r"Normalize\(inplace=True\): the input \(shape "
                                           r"\(3, 2, 2\)\) is a leaf tensor that requires grad"):
        transforms.Normalize(mean, std, inplace=True)(cr.tensor(a, requires_grad=True))
    w_t, w_c = torch.tensor(a, requires_grad=True), cr.tensor(a, requires_grad=True)
    z_t, z_c = w_t * 3.0, w_c * 3.0
    y_t, y_c = theirs(z_t), transforms.Normalize(mean, std, inplace=True)(z_c)
    assert y_t is z_t and y_c is z_c
    np.testing.assert_allclose(y_c.numpy(), y_t.detach().numpy(), rtol=1e-12)
    (y_t ** 3).sum().backward()
    (y_c ** 3).sum().backward()
    np.testing.assert_allclose(w_c.grad.numpy(), w_t.grad.numpy(), rtol=1e-12)
    with torch.no_grad():  # under no_grad a leaf is written, in both
        leaf = torch.tensor(a, requires_grad=True)
        assert theirs(leaf) is leaf
    with cr.no_grad():
        ours = cr.tensor(a, requires_grad=True)
        assert transforms.Normalize(mean, std, inplace=True)(ours) is ours
    np.testing.assert_allclose(ours.numpy(), leaf.detach().numpy(), rtol=1e-12)


def test_color_jitter_contrast_per_image_and_grey_saturation():
    # Found by the fuzz against torchvision's tensor arithmetic: contrast blended a batch with the
    # mean grey level of the whole batch (torchvision: each image's own), and saturation changed
    # a one-channel uint8 image (f * a + (1 - f) * a rounds below a; torchvision returns it).
    a = np.random.default_rng(1).random((2, 3, 5, 5)).astype(np.float32)
    a[1] *= 0.2
    out = transforms.ColorJitter(contrast=(0.5, 0.5), rng=np.random.default_rng(0))(cr.Tensor(a))
    grey = 0.2989 * a[:, 0] + 0.587 * a[:, 1] + 0.114 * a[:, 2]
    mean = grey.mean(axis=(1, 2)).reshape(2, 1, 1, 1)
    np.testing.assert_allclose(out.numpy(), np.clip(0.5 * a + 0.5 * mean, 0, 1), rtol=1e-6,
                               atol=1e-7)
    grey_u8 = np.arange(256, dtype=np.uint8).reshape(16, 16)
    for f in (0.3, 0.7, 1.9):
        jitter = transforms.ColorJitter(saturation=(f, f), rng=np.random.default_rng(0))
        np.testing.assert_array_equal(jitter(grey_u8), grey_u8)
        np.testing.assert_array_equal(jitter(cr.Tensor(grey_u8[None])).numpy()[0], grey_u8)
