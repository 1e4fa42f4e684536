"""AutoAugment, RandAugment, TrivialAugmentWide: torchvision's policies, operations, magnitudes."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.vision.transforms.functional as F  # noqa: N812 - torchvision's spelling
from chainrule.vision import transforms
from chainrule.vision.transforms._autoaugment import _POLICIES, _space, apply_op

OPS = ["Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness",
       "Color", "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize",
       "Invert"]


@pytest.fixture
def u8():
    return (np.random.default_rng(0).random((3, 24, 24)) * 200 + 20).astype(np.uint8)


def test_policies_and_magnitude_bins():
    assert {len(p) for p in _POLICIES.values()} == {25}
    assert _POLICIES[transforms.AutoAugmentPolicy.CIFAR10][1] == (("Rotate", 0.7, 2),
                                                                 ("TranslateX", 0.3, 9))
    space = _space(10, 32, 40, wide=False, identity=False, invert=True)
    np.testing.assert_allclose(space["Rotate"][0], np.linspace(0, 30, 10), rtol=1e-6)
    np.testing.assert_allclose(space["TranslateX"][0][-1], 150 / 331 * 40, rtol=1e-6)
    np.testing.assert_array_equal(space["Posterize"][0], [8, 8, 7, 7, 6, 6, 5, 5, 4, 4])
    wide = _space(31, 32, 32, wide=True, identity=True, invert=False)
    assert list(wide)[0] == "Identity" and "Invert" not in wide and len(wide) == 14
    assert wide["Rotate"][0][-1] == 135.0 and wide["Posterize"][0][-1] == 2


def test_each_operation(u8):
    t = cr.tensor(u8)
    for name in OPS:
        out = apply_op(t, name, 0.3 if name not in ("Posterize", "Solarize") else 4, "nearest",
                       None)
        assert out.shape == t.shape and out.dtype == cr.uint8, name
    np.testing.assert_array_equal(apply_op(t, "TranslateX", 5.7, "nearest", None).numpy(),
                                  F.affine(t, 0.0, (5, 0), 1.0, (0.0, 0.0)).numpy())
    np.testing.assert_array_equal(apply_op(t, "Brightness", -0.5, "nearest", None).numpy(),
                                  F.adjust_brightness(t, 0.5).numpy())
    # ShearX turns about the top-left corner of the top-left pixel: the centre of row y,
    # y + 0.5 below it, moves by magnitude * (y + 0.5) (2y + 1 pixels for magnitude 2)
    sheared = apply_op(t, "ShearX", 2.0, "nearest", None).numpy()
    np.testing.assert_array_equal(sheared[:, 0, :-1], u8[:, 0, 1:])
    np.testing.assert_array_equal(sheared[:, 3, :-7], u8[:, 3, 7:])
    assert not sheared[:, 3, -7:].any()
    with pytest.raises(ValueError, match="unknown operation 'Blur'"):
        apply_op(t, "Blur", 1.0, "nearest", None)


@pytest.mark.parametrize("make", [
    lambda: transforms.AutoAugment(transforms.AutoAugmentPolicy.CIFAR10),
    lambda: transforms.AutoAugment("svhn", fill=128),
    lambda: transforms.RandAugment(num_ops=3, magnitude=12),
    lambda: transforms.TrivialAugmentWide(interpolation=transforms.InterpolationMode.BILINEAR),
])
def test_augmenters_are_reproducible_and_keep_the_kind(u8, make):
    hwc = u8.transpose(1, 2, 0).copy()
    for image in (cr.tensor(u8), hwc):
        cr.manual_seed(7)
        first = [np.asarray(make()(image)) for _ in range(6)]
        cr.manual_seed(7)
        again = [np.asarray(make()(image)) for _ in range(6)]
        for a, b in zip(first, again, strict=True):
            np.testing.assert_array_equal(a, b)
            assert a.shape == np.asarray(image).shape and a.dtype == np.uint8
        assert any(not np.array_equal(a, np.asarray(image)) for a in first)
    pil = pytest.importorskip("PIL.Image")
    out = make()(pil.fromarray(hwc))
    assert isinstance(out, pil.Image) and out.size == (24, 24)


def test_float_images_and_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="AutoAugment: expected a uint8 image .* float32"):
        transforms.AutoAugment()(cr.rand(3, 8, 8))
    with pytest.raises(ValueError, match="magnitude must be in 0..num_magnitude_bins - 1"):
        transforms.RandAugment(magnitude=31)
    with pytest.raises(ValueError, match="'cifar100' is not a valid AutoAugmentPolicy"):
        transforms.AutoAugment("cifar100")


@pytest.mark.torch
def test_policies_and_operations_match_torchvision(u8):
    pytest.importorskip("torch")
    auto = pytest.importorskip("torchvision.transforms.autoaugment")
    import torch

    for policy in transforms.AutoAugmentPolicy:
        theirs = auto.AutoAugment(auto.AutoAugmentPolicy(policy.value)).policies
        assert _POLICIES[policy] == theirs
    # magnitudes whose shears put no pixel centre at an exact tie between two pixels, where the
    # nearest pixel depends on the last bit of float32 arithmetic (PyTorch's order is its own)
    for name in OPS:
        magnitudes = {"Posterize": (3, 6), "Solarize": (100.0, 200.0)}.get(name, (0.37, -0.23))
        for magnitude in magnitudes:
            ours = apply_op(cr.tensor(u8), name, magnitude, transforms.InterpolationMode.NEAREST,
                            [1.0, 2.0, 3.0]).numpy()
            ref = auto._apply_op(torch.tensor(u8), name, magnitude,
                                 auto.InterpolationMode.NEAREST, [1.0, 2.0, 3.0]).numpy()
            np.testing.assert_array_equal(ours, ref, err_msg=f"{name} {magnitude}")


def test_augmix_blends_the_image_with_its_augmented_chains(u8):
    class InvertOnly(transforms.AugMix):
        def _op(self, image, name, magnitude, fill):
            return F.invert(image)

    seed, alpha = 4, 0.7
    out = InvertOnly(mixture_width=1, chain_depth=1, alpha=alpha,
                     rng=np.random.default_rng(seed))(cr.tensor(u8)).numpy()
    rng = np.random.default_rng(seed)  # the same draws: Beta (as a 2-Dirichlet), then the mix
    m = rng.dirichlet([alpha, alpha]).astype(np.float32)
    weight = rng.dirichlet([alpha]).astype(np.float32) * m[1]
    expected = m[0] * u8.astype(np.float32) + weight[0] * (255 - u8).astype(np.float32)
    np.testing.assert_array_equal(out, expected.astype(np.uint8))  # truncated, as torchvision
    batch = cr.tensor(np.stack([u8, u8]))
    mixed = transforms.AugMix(rng=np.random.default_rng(0))(batch)
    assert mixed.shape == (2, 3, 24, 24) and mixed.dtype == cr.uint8
    hwc = u8.transpose(1, 2, 0).copy()
    cr.manual_seed(2)
    a = transforms.AugMix(severity=5, all_ops=False)(hwc)
    cr.manual_seed(2)
    np.testing.assert_array_equal(transforms.AugMix(severity=5, all_ops=False)(hwc), a)
    with pytest.raises(ValueError, match="severity must be in 1..10"):
        transforms.AugMix(severity=11)
