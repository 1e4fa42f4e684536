"""train_patch on a float16 model: Adam's moments were kept in float16, where the squared
gradients underflow to 0 and the 1e-8 is 0, so a pixel's step was m / 0 = inf: it jumped to 0 or
1 (with a RuntimeWarning). The moments are float32 at least now; the patch is the float32
model's to float16 precision."""

import numpy as np

from chainrule import nn
from chainrule.robust import train_patch


def _cnn(dtype):
    model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=np.random.default_rng(0)), nn.ReLU(),
                          nn.Flatten(), nn.Linear(2 * 6 * 6, 4, rng=np.random.default_rng(1)))
    return model.half().to(dtype=dtype)  # the same (float16-rounded) weights in both


def test_float16_patch_matches_float32():
    x = np.random.default_rng(2).uniform(0, 1, (5, 1, 8, 8)).astype("float16")
    half = train_patch(_cnn(np.float16), x, 2, area=0.1, epochs=2, batch_size=2, rng=0)
    full = train_patch(_cnn(np.float32), x.astype("float32"), 2, area=0.1, epochs=2,
                       batch_size=2, rng=0)
    assert half.dtype == np.float16 and half.shape == (1, 3, 3)
    np.testing.assert_allclose(half.astype("float32"), full, atol=3e-3)
