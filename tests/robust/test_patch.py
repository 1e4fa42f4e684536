"""The adversarial patch: the pasting transform (exact placements, numerical gradients), and a
trained patch that really makes the model answer its target."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, robust
from chainrule.data.datasets import digits
from chainrule.robust.patch import apply_patch, paste_matrices, random_placements


def test_an_unrotated_unscaled_patch_is_copied_pixel_for_pixel(rng):
    x = rng.uniform(0, 1, (1, 2, 12, 12))
    patch = rng.uniform(0, 1, (2, 4, 4))
    mats = paste_matrices(4, (12, 12), [(0.0, 1.0, 5.5, 3.5)], xp=np, dtype="float64")
    out = apply_patch(x, patch, mats)._data
    expected = x.copy()
    expected[0, :, 4:8, 2:6] = patch
    np.testing.assert_allclose(out, expected, atol=1e-15)


def test_a_quarter_turn_rotates_the_patch(rng):
    patch = rng.uniform(0, 1, (1, 5, 5))
    mats = paste_matrices(5, (9, 9), [(90.0, 1.0, 4.0, 4.0)], xp=np, dtype="float64")
    out = apply_patch(np.zeros((1, 1, 9, 9)), patch, mats)._data[0, 0, 2:7, 2:7]
    # image (i, j) samples the patch at (j, 4 - i): numpy's quarter turn counterclockwise
    np.testing.assert_allclose(out, np.rot90(patch[0], k=1), atol=1e-12)


def test_coverage_is_a_convex_blend(rng):
    placements = random_placements(5, 6, (20, 20), rng=rng, max_rotation=180, scale=(0.7, 1.3))
    mats = paste_matrices(6, (20, 20), placements, xp=np, dtype="float64")
    cover = mats.sum(axis=2)
    assert cover.min() >= 0 and cover.max() <= 1 + 1e-12
    assert (mats >= 0).all()
    # white patch on black images: the result is the coverage itself, inside [0, 1]
    out = apply_patch(np.zeros((5, 1, 20, 20)), np.ones((1, 6, 6)), mats)._data
    np.testing.assert_allclose(out.reshape(5, -1), cover, atol=1e-12)


def test_the_gradient_through_the_pasting_transform_matches_finite_differences(rng):
    placements = random_placements(3, 4, (8, 8), rng=rng, max_rotation=60, scale=(0.8, 1.2))
    mats = paste_matrices(4, (8, 8), placements, xp=np, dtype="float64")
    x = rng.uniform(0, 1, (3, 1, 8, 8))
    weights = cr.Tensor(rng.normal(size=(3, 1, 8, 8)))
    patch = cr.tensor(rng.uniform(0.2, 0.8, (1, 4, 4)), requires_grad=True)
    assert cr.gradcheck(lambda p: (apply_patch(x, p, mats) * weights).sum(), patch)
    # and through a model: what train_patch differentiates
    rng2 = np.random.default_rng(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 8, rng=rng2), nn.Tanh(),
                        nn.Linear(8, 3, rng=rng2)).to(dtype=np.float64)
    labels = cr.Tensor(np.array([0, 1, 2]))
    assert cr.gradcheck(lambda p: cr.F.cross_entropy(net(apply_patch(x, p, mats)), labels),
                        patch)


def test_a_trained_patch_fools_the_model_far_more_than_a_random_one(digits_mlp):
    model = digits_mlp[0]
    (xtr, _), (xte, yte) = digits()
    patch = robust.train_patch(model, xtr[:, None][:512], target=0, area=0.2, epochs=3,
                               lr=0.05, rng=0)
    assert patch.shape == (1, 4, 4) and patch.min() >= 0 and patch.max() <= 1
    trained = robust.patch_success(model, xte[:, None], yte, patch, 0, rng=1)
    noise = robust.patch_success(model, xte[:, None], yte, np.random.default_rng(2).uniform(
        0, 1, (1, 4, 4)).astype(np.float32), 0, rng=1)
    assert trained["n"] == (yte != 0).sum()
    assert trained["success_rate"] > 0.5
    assert trained["success_rate"] > noise["success_rate"] + 0.3


def test_bad_areas_are_named():
    with pytest.raises(ValueError, match=r"area must be a share of the image, a number in "
                       r"\(0, 1\), got 1.5"):
        robust.patch_side(1.5, 28)
