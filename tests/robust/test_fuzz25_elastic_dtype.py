"""pose_curves' elastic distortion for a float64 (or float16) model: elastic_distortion gives
float32 images, which the model refused (TypeError: conv2d input float32, weight float64),
though pose_curves takes images in the model's dtype; transform_images keeps the dtype now."""

import numpy as np

from chainrule import nn
from chainrule.robust import pose_curves, transform_images


def _cnn(dtype):
    model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=np.random.default_rng(0)), nn.ReLU(),
                          nn.Flatten(), nn.Linear(2 * 6 * 6, 4, rng=np.random.default_rng(1)))
    return model.to(dtype=dtype)


def test_elastic_pose_for_a_float64_model():
    x = np.random.default_rng(2).uniform(0, 1, (5, 1, 8, 8))
    y = np.array([0, 1, 2, 3, 0])
    assert transform_images(x, "elastic", 8.0, rng=0).dtype == np.float64
    got = pose_curves(_cnn(np.float64), x, y, {"elastic": [8.0]}, rng=0)["elastic"][0]
    ref = pose_curves(_cnn(np.float32), x.astype("float32"), y, {"elastic": [8.0]},
                      rng=0)["elastic"][0]
    assert got["accuracy"] == ref["accuracy"]
    np.testing.assert_allclose(got["confidence"], ref["confidence"], rtol=1e-5)
