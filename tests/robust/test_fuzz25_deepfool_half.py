"""deepfool on a float16 model: the candidate that is the current class itself (gradient
difference 0) had a step of 1e-4 / 1e-12, which overflowed float16 with a RuntimeWarning (an
error under -W error) before being discarded; it takes no step now, and the result is the
float64 model's, to float16's precision."""

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.robust import deepfool


def _linear(dtype):
    model = nn.Linear(4, 3, rng=np.random.default_rng(0))
    return model.to(dtype)


def test_deepfool_float16_matches_float64():
    x = np.random.default_rng(1).uniform(0.3, 0.7, (2, 4))
    m64 = _linear(cr.float64)
    y = m64(cr.tensor(x)).numpy().argmax(1)
    ref = deepfool(m64, x, y, steps=5)
    half = deepfool(_linear(cr.float16), x.astype("float16"), y, steps=5)
    assert half.adversarial.dtype == np.float16
    np.testing.assert_array_equal(half.success, ref.success)
    np.testing.assert_allclose(half.norms.astype("float64"), ref.norms, rtol=2e-2, atol=2e-3)
