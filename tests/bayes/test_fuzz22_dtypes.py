"""The Laplace classes on float16 and float32 models against the same model in float64.

``LastLayerLaplace`` checks that the model's output is its last Linear applied to the features;
for a model that is not float64 it allowed a gap of 1e-4, which float16's rounding alone exceeds
(eps ~1e-3): a float16 model was refused as one whose "forward does more than its Sequential".
The allowance is now 16 eps of the dtype (at least 1e-4); a forward that does more is still
refused.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.bayes import DiagonalLaplace, KFACLaplace, LastLayerLaplace


def _net(dtype):
    return nn.Sequential(
        nn.Linear(3, 4, dtype=dtype, rng=np.random.default_rng(0)),
        nn.Tanh(),
        nn.Linear(4, 3, dtype=dtype, rng=np.random.default_rng(1)),
    )


class _Scaled(nn.Module):
    def __init__(self, dtype):
        super().__init__()
        self.layers = _net(dtype)

    def forward(self, x):
        return self.layers(x) * 1.5


@pytest.mark.parametrize("dtype, tol", [("float16", 5e-3), ("float32", 1e-6)])
def test_low_precision_models_are_fitted_like_their_float64_twins(dtype, tol):
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((10, 3)), rng.integers(0, 3, 10)
    low, ref = _net(dtype), _net("float64")
    ref.load_state_dict(
        {k: cr.tensor(v.numpy().astype("float64")) for k, v in low.state_dict().items()}
    )
    xl = x.astype(dtype)
    for cls in (LastLayerLaplace, KFACLaplace):
        got = cls(low).fit(xl, y).predict(xl)
        want = cls(ref).fit(xl.astype("float64"), y).predict(xl.astype("float64"))
        np.testing.assert_allclose(got, want, atol=tol)
    got = DiagonalLaplace(low).fit(xl).predict(xl, samples=4, rng=0)
    assert got.dtype == np.dtype(dtype) and np.allclose(got.sum(1), 1, atol=tol)
    with pytest.raises(ValueError, match="does its forward do more than its Sequential"):
        LastLayerLaplace(_Scaled(dtype)).fit(xl, y)
