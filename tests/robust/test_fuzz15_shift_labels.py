"""pose_curves and confident_mistakes with labels of other forms: before, labels of length one
broadcast against the predictions (pose_curves gave accuracy 0.0 for 6 images), a Tensor of
labels made confident_mistakes find 1 mistake instead of 4, and (N, 1) labels failed deep inside
with an IndexError."""

import re

import numpy as np
import pytest

from chainrule import Tensor, nn, robust

POSE = {"rotation": [0.0, 90.0]}


@pytest.fixture
def setup():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3, rng=rng)).eval()
    x = rng.uniform(0, 1, (6, 1, 8, 8)).astype("float32")
    return model, x, np.array([0, 1, 2, 0, 1, 2])


def _strip_images(found):
    return [{k: v for k, v in row.items() if k != "image"} for row in found]


@pytest.mark.parametrize("form", [list, Tensor, lambda y: y.astype(np.uint8)])
def test_labels_as_lists_tensors_or_other_ints_give_the_arrays_answers(setup, form):
    model, x, y = setup
    expected = robust.pose_curves(model, x, y, POSE)
    assert robust.pose_curves(model, x, form(y), POSE) == expected  # no NaN in this case
    mistakes = robust.confident_mistakes(model, x, y, [0.0, 90.0])
    assert len(mistakes) >= 2  # the case has mistakes to find
    got = robust.confident_mistakes(model, x, form(y), [0.0, 90.0])
    assert _strip_images(got) == _strip_images(mistakes)


@pytest.mark.parametrize("labels, shape", [(np.zeros(1, int), "(1,)"),
                                           (np.zeros((6, 1), int), "(6, 1)"),
                                           (np.zeros(6), "(6,)")])
@pytest.mark.parametrize("fn", ["pose_curves", "confident_mistakes"])
def test_labels_of_another_shape_or_kind_are_refused(setup, labels, shape, fn):
    model, x, _ = setup
    args = (POSE,) if fn == "pose_curves" else ([0.0],)
    message = f"{fn}: y must be 6 integer class labels (one per image), got shape {shape} of"
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(robust, fn)(model, x, labels, *args)


def test_a_single_image_is_refused_clearly(setup):
    model, x, y = setup
    with pytest.raises(ValueError, match="pose_curves: x must be a batch of images"):
        robust.pose_curves(model, x[0], y[:1], POSE)
