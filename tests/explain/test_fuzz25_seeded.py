"""The random explanations draw from the default generator when no rng is given, so that
``cr.manual_seed(s)`` repeats them (PyTorch's convention, which Captum's NoiseTunnel,
GradientShap, ShapleyValueSampling and FeaturePermutation follow with torch.manual_seed). They
drew from a fresh generator seeded by the operating system, so a seeded program gave another
map on every run."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
from chainrule import explain, nn

X = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
Y = np.array([0, 1, 2])


def _model():
    return nn.Sequential(nn.Linear(4, 5, rng=np.random.default_rng(1)), nn.Tanh(),
                         nn.Linear(5, 3, rng=np.random.default_rng(2)))


CALLS = {
    "smoothgrad": lambda m, r: explain.smoothgrad(m, X, 0, n_samples=3, rng=r),
    "noise_tunnel": lambda m, r: explain.noise_tunnel(explain.saliency, m, X, 0, n_samples=2,
                                                      rng=r),
    "gradient_shap": lambda m, r: explain.gradient_shap(m, X, 0, n_samples=3, stdev=0.1, rng=r),
    "shapley_value_sampling": lambda m, r: explain.shapley_value_sampling(m, X, 0, n_samples=2,
                                                                          rng=r),
    "feature_permutation": lambda m, r: explain.feature_permutation(m, X, 0, rng=r),
    "permutation_importance": lambda m, r: explain.permutation_importance(
        m, X, Y, n_repeats=2, metric=lambda y, s: float(s[np.arange(3), y].mean()),
        rng=r)["importances"],
    "obd_hutchinson": lambda m, r: explain.obd_saliency(m, F.cross_entropy, X, Y,
                                                        method="hutchinson", n_samples=2,
                                                        rng=r)["0"],
}


@pytest.mark.parametrize("name", list(CALLS))
def test_manual_seed_repeats_a_random_explanation(name):
    m = _model()
    call = CALLS[name]
    cr.manual_seed(5)
    seeded = call(m, None)
    # the default generator after manual_seed(5) is in the state of default_rng(5)
    np.testing.assert_array_equal(seeded, call(m, np.random.default_rng(5)))
    cr.manual_seed(5)
    np.testing.assert_array_equal(call(m, None), seeded)
