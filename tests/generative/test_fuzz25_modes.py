"""The evaluation helpers put every module back in its own mode: a BatchNorm the user froze in
eval stayed frozen only until reconstruct, classify, penultimate_features or evaluate_samples
ran, which switched it back to training with ``model.train(was)``."""

import numpy as np
import pytest

from chainrule import nn
from chainrule.generative import classify, penultimate_features, reconstruct


def _model():
    rng = np.random.default_rng(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 3, rng=rng), nn.BatchNorm1d(3),
                         nn.Linear(3, 4, rng=rng))


@pytest.mark.parametrize("helper", [reconstruct, classify, penultimate_features])
def test_frozen_batch_norm_stays_frozen(helper):
    model = _model()
    model[2].eval()  # fine-tuning with frozen statistics
    x = np.arange(8, dtype="float32").reshape(2, 4) / 8
    out = helper(model, x)
    assert out.shape[0] == 2
    assert model.training and model[1].training and not model[2].training
    # and the statistics the frozen layer uses are its running ones, still untouched
    np.testing.assert_array_equal(model[2].running_mean.numpy(), np.zeros(3, "float32"))
    np.testing.assert_array_equal(model[2].running_var.numpy(), np.ones(3, "float32"))
