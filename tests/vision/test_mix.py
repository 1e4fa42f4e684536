"""v2.MixUp, v2.CutMix on batches, and the small v2-only transforms."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision.transforms import v2


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return cr.tensor(rng.random((4, 3, 8, 10)).astype(np.float32)), cr.tensor([0, 2, 1, 2])


def test_mixup_mixes_each_image_with_the_previous_one(batch):
    images, labels = batch
    out, soft = v2.MixUp(alpha=0.4, num_classes=3, rng=np.random.default_rng(7))(images, labels)
    lam = np.random.default_rng(7).beta(0.4, 0.4)
    x = images.numpy()
    np.testing.assert_allclose(out.numpy(), lam * x + (1 - lam) * np.roll(x, 1, axis=0),
                               rtol=1e-5)
    onehot = np.eye(3)[[0, 2, 1, 2]]
    np.testing.assert_allclose(soft.numpy(), lam * onehot + (1 - lam) * np.roll(onehot, 1, 0),
                               rtol=1e-5)
    assert soft.dtype == cr.float32 and soft.shape == (4, 3)
    np.testing.assert_allclose(soft.numpy().sum(axis=1), 1.0, rtol=1e-6)


def test_cutmix_pastes_a_box_and_weights_the_labels_by_area(batch):
    images, labels = batch
    cutmix = v2.CutMix(num_classes=3, rng=np.random.default_rng(3))
    out, soft = cutmix((images, labels))  # a (images, labels) tuple works too
    x1, y1, x2, y2 = cutmix.box
    x, got = images.numpy(), out.numpy()
    inside = np.zeros((8, 10), bool)
    inside[y1:y2, x1:x2] = True
    np.testing.assert_array_equal(got[:, :, inside], np.roll(x, 1, axis=0)[:, :, inside])
    np.testing.assert_array_equal(got[:, :, ~inside], x[:, :, ~inside])
    kept = 1 - inside.mean()
    onehot = np.eye(3)[[0, 2, 1, 2]]
    np.testing.assert_allclose(soft.numpy(), kept * onehot + (1 - kept) * np.roll(onehot, 1, 0),
                               rtol=1e-6)


def test_mixed_labels_train_with_cross_entropy(batch):
    images, labels = batch
    cr.manual_seed(0)
    mixed, soft = v2.CutMix(num_classes=3)(images, labels)
    logits = cr.randn(4, 3, requires_grad=True)
    loss = cr.nn.functional.cross_entropy(logits, soft)  # probabilities as targets
    loss.backward()
    assert np.isfinite(loss.item()) and logits.grad.shape == (4, 3)
    assert mixed.shape == images.shape


def test_bad_batches_are_refused(batch):
    images, labels = batch
    with pytest.raises(ValueError, match="num_classes must be passed"):
        v2.MixUp()(images, labels)
    with pytest.raises(ValueError, match=r"expected a batch of images \(N, C, H, W\) with N = 4"):
        v2.MixUp(num_classes=3)(images[0], labels)
    with pytest.raises(ValueError, match="the labels must be a Tensor"):
        v2.CutMix(num_classes=3)(images, [0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"2-D labels need num_classes \(5\) columns"):
        v2.CutMix(num_classes=5)(images, cr.ones(4, 3))


def test_small_v2_transforms():
    grey = cr.rand(1, 4, 5)
    rgb = v2.RGB()(grey)
    assert rgb.shape == (3, 4, 5) and np.array_equal(rgb.numpy()[2], grey.numpy()[0])
    x = cr.rand(3, 4, 5)
    assert v2.Identity()(x) is x and v2.RGB()(x) is x
    noisy = v2.GaussianNoise(sigma=0.5, rng=np.random.default_rng(0))(x)
    assert noisy.numpy().min() >= 0 and noisy.numpy().max() <= 1
    assert not np.array_equal(noisy.numpy(), x.numpy())
    perm = v2.RandomChannelPermutation(rng=np.random.default_rng(1))(x).numpy()
    assert sorted(map(tuple, perm.reshape(3, -1))) == sorted(map(tuple, x.numpy().reshape(3, -1)))
    with pytest.raises(TypeError, match="GaussianNoise: expected a float Tensor image"):
        v2.GaussianNoise()(cr.tensor(np.zeros((1, 2, 2), np.uint8)))


@pytest.mark.torch
def test_matches_torchvision_for_the_same_draws(batch):
    pytest.importorskip("torch")
    tv2 = pytest.importorskip("torchvision.transforms.v2")
    import torch

    images, labels = batch
    cutmix = v2.CutMix(num_classes=3, rng=np.random.default_rng(5))
    out, soft = cutmix(images, labels)
    kept = 1 - (cutmix.box[2] - cutmix.box[0]) * (cutmix.box[3] - cutmix.box[1]) / 80
    theirs = tv2.CutMix(num_classes=3)
    x, y = torch.tensor(images.numpy()), torch.tensor(labels.numpy())
    params = {"labels": y, "batch_size": 4, "box": cutmix.box, "lam_adjusted": kept}
    np.testing.assert_array_equal(out.numpy(), theirs.transform(x, params).numpy())
    np.testing.assert_allclose(soft.numpy(), theirs.transform(y, params).numpy(), rtol=1e-6)
    lam = np.random.default_rng(9).beta(1.0, 1.0)
    mixed, soft = v2.MixUp(num_classes=3, rng=np.random.default_rng(9))(images, labels)
    ref = tv2.MixUp(num_classes=3)
    params = {"labels": y, "batch_size": 4, "lam": lam}
    np.testing.assert_allclose(mixed.numpy(), ref.transform(x, params).numpy(), rtol=1e-6)
    np.testing.assert_allclose(soft.numpy(), ref.transform(y, params).numpy(), rtol=1e-6)
