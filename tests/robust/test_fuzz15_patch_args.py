"""The patch functions' arguments: before, a target outside the model's classes (5, -1) or not an
int (1.5) gave a success rate of 0.0 (and train_patch trained towards class 1 for 1.5), labels as
a list failed with "too many values to unpack", and images outside [0, 1] were patched silently."""

import numpy as np
import pytest

from chainrule import Tensor, nn, robust


@pytest.fixture
def setup():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=rng), nn.Flatten(),
                          nn.Linear(72, 3, rng=rng)).eval()
    x = rng.uniform(0, 1, (6, 1, 8, 8)).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 2])
    return model, x, y, robust.train_patch(model, x, 1, rng=0)


@pytest.mark.parametrize("target", [5, -1, 1.5, True, "1"])
def test_a_target_outside_the_models_classes_is_refused(setup, target):
    model, x, y, patch = setup
    message = f"target must be one of the model's classes, an int in \\[0, 3\\), got {target!r}"
    with pytest.raises(ValueError, match="train_patch: " + message):
        robust.train_patch(model, x, target, rng=0)
    with pytest.raises(ValueError, match="patch_success: " + message):
        robust.patch_success(model, x, y, patch, target, rng=0)


def test_labels_as_a_list_a_tensor_or_an_array_agree(setup):
    model, x, y, patch = setup
    expected = robust.patch_success(model, x, y, patch, np.int64(1), rng=0)
    assert expected["n"] == 4
    for labels in (list(y), Tensor(y), y.astype(np.uint8)):
        assert robust.patch_success(model, x, labels, patch, 1, rng=0) == expected
    assert robust.patch_success(model, Tensor(x), y, Tensor(patch), 1, rng=0) == expected


@pytest.mark.parametrize("labels, shape", [(np.zeros(5, int), "(5,)"),
                                           (np.zeros(6), "(6,)")])
def test_bad_labels_are_refused(setup, labels, shape):
    model, x, _, patch = setup
    with pytest.raises(ValueError, match=f"patch_success: y must be 6 integer class labels .*"
                                         f"got shape \\{shape[:-1]}\\)"):
        robust.patch_success(model, x, labels, patch, 1, rng=0)


def test_images_outside_the_unit_box_and_bad_patches_are_refused(setup):
    model, x, y, patch = setup
    with pytest.raises(ValueError, match="train_patch: x must hold finite values in \\[0, 1\\]"):
        robust.train_patch(model, x * 3, 1, rng=0)
    with pytest.raises(ValueError, match="patch_success: x must hold finite values in"):
        robust.patch_success(model, x - 1, y, patch, 1, rng=0)
    with pytest.raises(ValueError, match="train_patch: x must be a batch of images \\(N, C"):
        robust.train_patch(model, x[0], 1, rng=0)
    with pytest.raises(ValueError, match="patch_success: patch must be square with the images' 1 "
                                         "channel"):
        robust.patch_success(model, x, y, np.zeros((2, 3, 3)), 1, rng=0)
