"""Nineteenth fuzz wave, explain: a seeded smoothgrad is the same map whatever its batch_size.

smoothgrad drew its noise once per forward pass, (n_samples, inputs of the pass, ...), so the
noise an input got depended on how many inputs shared its pass: with the default batch_size (64
rows, 25 copies: 2 inputs a pass) a seed gave another map than with a larger batch_size, where
its docstring promised the same map for the same seed (gradient_shap, the Shapley sampling and
feature_permutation already were independent of batch_size). It now draws the noise of the whole
batch at once, copy k of input i getting row [k, i], as noise_tunnel.
"""

import numpy as np
import pytest

from chainrule import nn
from chainrule.explain import noise_tunnel, saliency, smoothgrad


@pytest.mark.parametrize("nt_type", ["smoothgrad", "vargrad"])
def test_a_seeded_smoothgrad_does_not_depend_on_the_batch_size(nt_type):
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(5, 6, rng=rng), nn.Tanh(), nn.Linear(6, 3, rng=rng))
    model = model.to(dtype="float64")
    x = rng.standard_normal((7, 5))
    maps = [
        smoothgrad(model, x, 0, n_samples=5, nt_type=nt_type, rng=3, batch_size=b)
        for b in (1, 12, 64, 1000)
    ]
    for m in maps[1:]:
        np.testing.assert_allclose(m, maps[0], rtol=1e-12, atol=1e-15)
    # and it is noise_tunnel's map of the saliency, drawn the same way
    want = noise_tunnel(saliency, model, x, 0, nt_type=nt_type, n_samples=5, stdev=0.3, rng=3)
    got = smoothgrad(model, x, 0, n_samples=5, stdev=0.3, nt_type=nt_type, rng=3, batch_size=10)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
