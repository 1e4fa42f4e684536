"""Twenty-first fuzz wave, robust: labels and image dtypes of the pose, patch and DLR functions.

Before, ``pose_curves`` and ``confident_mistakes`` counted a label no output can have (7 for a
4-class model, -1) as a mistake, a plausible wrong accuracy; APGD-DLR and APGD-T failed on one
with NumPy's IndexError; and the pose and patch functions refused float64 images for a float32
model (the attacks take them, in the model's dtype). A model of one output (a binary classifier
of one logit) was attacked as if it had one class, and every example counted as robust.
"""

import numpy as np
import pytest

from chainrule import nn, robust


@pytest.fixture
def setup():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 4, rng=rng))
    x = rng.uniform(size=(5, 1, 6, 6)).astype(np.float32)
    return model, x, np.array([0, 1, 2, 3, 1])


@pytest.mark.parametrize("bad", [7, -1])
@pytest.mark.parametrize("name", ["pose_curves", "confident_mistakes"])
def test_pose_functions_refuse_labels_the_model_cannot_output(setup, name, bad):
    model, x, y = setup
    y = y.copy()
    y[2] = bad
    call = {
        "pose_curves": lambda: robust.pose_curves(model, x, y, {"rotation": [0.0]}),
        "confident_mistakes": lambda: robust.confident_mistakes(model, x, y, [0.0]),
    }[name]
    with pytest.raises(ValueError, match=rf"{name}: y must hold class labels in \[0, 4\)"):
        call()


@pytest.mark.parametrize("loss", ["dlr", "apgd-t"])
def test_dlr_attacks_refuse_labels_past_the_models_classes(setup, loss):
    model, x, y = setup
    y = y.copy()
    y[0] = 4
    with pytest.raises(ValueError, match="holds class 4 but the model has 4 outputs"):
        if loss == "dlr":
            robust.apgd(model, x, y, eps=0.1, steps=2, rng=0, loss="dlr")
        else:
            robust.apgd_targeted(model, x, y, eps=0.1, steps=2, n_target_classes=1, rng=0)


def test_float64_images_are_taken_in_a_float32_models_dtype(setup):
    model, x, y = setup
    x, x32 = x.astype(np.float64), x
    poses = {"rotation": [0.0, 30.0]}
    assert robust.pose_curves(model, x, y, poses) == robust.pose_curves(model, x32, y, poses)
    found = robust.confident_mistakes(model, x, y, [0.0, 90.0], k=3)
    expected = robust.confident_mistakes(model, x32, y, [0.0, 90.0], k=3)
    assert [f["index"] for f in found] == [e["index"] for e in expected]
    assert found[0]["image"].dtype == np.float32
    patch = robust.train_patch(model, x, 1, area=0.2, rng=0)
    assert patch.dtype == np.float32
    np.testing.assert_array_equal(patch, robust.train_patch(model, x32, 1, area=0.2, rng=0))
    assert robust.patch_success(model, x, y, patch, 1, rng=0) == robust.patch_success(
        model, x32, y, patch, 1, rng=0
    )


ONE_OUTPUT = {
    "fgsm": lambda m, x, y: robust.fgsm(m, x, y, eps=0.3),
    "pgd": lambda m, x, y: robust.pgd(m, x, y, eps=0.3, steps=2, rng=0),
    "apgd": lambda m, x, y: robust.apgd(m, x, y, eps=0.3, steps=2, rng=0),
    "cw_l2": lambda m, x, y: robust.cw_l2(m, x, y, steps=2, binary_steps=1),
    "deepfool": lambda m, x, y: robust.deepfool(m, x, y),
    "robust_accuracy": lambda m, x, y: robust.robust_accuracy(m, (x, y), eps=0.3, verbose=0),
}


@pytest.mark.parametrize("name", list(ONE_OUTPUT))
def test_a_model_of_one_output_is_refused_not_reported_robust(name):
    """Before, a binary classifier of one logit had cross-entropy 0 and label 0 everywhere: every
    attack failed and robust_accuracy reported 100% robust for labels 0."""
    rng = np.random.default_rng(0)
    model = nn.Linear(6, 1, rng=rng)
    x, y = rng.uniform(size=(4, 6)).astype(np.float32), np.zeros(4, dtype=np.int64)
    with pytest.raises(
        ValueError,
        match=r"model must give logits \(N, C\) of C >= 2 classes, "
        r"got 1 output",
    ):
        ONE_OUTPUT[name](model, x, y)


def test_counts_and_batch_sizes_are_checked(setup):
    """Before, confident_mistakes(k=0) returned every mistake (it stopped only at len == k) and
    a batch_size of 0 or -1 failed in range() or concatenate."""
    model, x, y = setup
    calls = {
        "confident_mistakes: k": lambda: robust.confident_mistakes(model, x, y, [0.0], k=0),
        "pose_curves: batch_size": lambda: robust.pose_curves(model, x, y, batch_size=0),
        "logits_of: batch_size": lambda: robust.ood.logits_of(model, x, batch_size=-1),
        "patch_success: batch_size": lambda: robust.patch_success(
            model, x, y, np.ones((1, 2, 2)), 1, batch_size=0
        ),
    }
    for message, call in calls.items():
        with pytest.raises(ValueError, match=f"{message} must be an int >= 1"):
            call()
    assert len(robust.confident_mistakes(model, x, y, [0.0, 90.0], k=1)) == 1


@pytest.mark.parametrize(
    "pose, message",
    [
        (dict(scale=0.0), "scale must be a finite number > 0, got 0.0"),
        (dict(scale=-1.0), "scale must be a finite number > 0, got -1.0"),
        (dict(angle=float("nan")), "angle must be a finite number of degrees, got nan"),
        (dict(shift=(float("inf"), 0.0)), "shift must be a pair"),
        (dict(shift=(1.0,)), "shift must be a pair"),
    ],
)
def test_warp_refuses_poses_that_give_an_image_of_nothing(setup, pose, message):
    """Before, scale 0 and angle NaN gave black images (and pose curves of them) silently."""
    _, x, _ = setup
    with pytest.raises(ValueError, match=f"warp: {message}"):
        robust.warp(x, **pose)
    shifted = robust.warp(x, angle=np.float32(30.0), shift=np.array([1.0, -2.0]))
    np.testing.assert_array_equal(shifted, robust.warp(x, angle=30.0, shift=(1.0, -2.0)))
