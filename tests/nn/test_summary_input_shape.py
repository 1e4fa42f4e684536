"""Module.summary takes the shape of one sample (no batch axis), as Keras and torchinfo do."""

import numpy as np
import pytest

from chainrule import nn
from chainrule.models import build


def _lenet():
    return build("lenet5", rng=np.random.default_rng(0))


def test_a_sample_shape_gets_a_batch_axis_of_one():
    model = _lenet()
    with_batch, without = model.summary((1, 1, 28, 28)), model.summary((1, 28, 28))
    assert without.input_shape == (1, 1, 28, 28)
    assert str(without) == str(with_batch)
    assert without.rows[-1].output_shape == (1, 10)


def test_a_shape_the_model_accepts_is_used_as_given():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10, rng=np.random.default_rng(0)))
    assert model.summary((5, 28, 28)).input_shape == (5, 28, 28)
    assert model.summary((28, 28)).input_shape == (1, 28, 28)  # Linear rejects (28, 28)


def test_a_shape_wrong_either_way_reports_the_shape_as_given():
    # Conv2d takes (1, 32, 32) as one unbatched image and fails further on; LeNet-5's Linear
    # layers want 28 x 28 images: both errors are reported, each with the shape that was tried.
    with pytest.raises(ValueError, match=r"rejects input_shape \(1, 32, 32\) \(.*\) and, with "
                       r"a batch axis of 1, \(1, 1, 32, 32\) \(.*Linear"):
        _lenet().summary((1, 32, 32))


def test_summary_leaves_the_training_flags_after_a_retry():
    model = _lenet().train()
    model.summary((1, 28, 28))
    assert all(m.training for m in model.modules())
