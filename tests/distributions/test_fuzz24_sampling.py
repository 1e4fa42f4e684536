"""Wave 24: draws at the edges of NumPy's samplers are a clear error, never a wrapped count."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.distributions import NegativeBinomial


def test_negative_binomial_draw_beyond_numpys_poisson_limit_is_a_clear_error():
    # was NumPy's bare "lam value too large"; PyTorch's draws wrap to -9.2e18
    d = NegativeBinomial(cr.tensor(5.0), logits=cr.tensor([50.0, 1.0]))
    with pytest.raises(ValueError, match=r"NegativeBinomial.sample: .* beyond 9.22337e\+18"):
        d.sample((2,), rng=np.random.default_rng(0))
    ok = NegativeBinomial(cr.tensor([0.0, 5.0]), logits=cr.tensor([1.0, 2.0]))
    draws = ok.sample((400,), rng=np.random.default_rng(0)).numpy()
    assert (draws[:, 0] == 0).all() and abs(draws[:, 1].mean() / ok.mean.numpy()[1] - 1) < 0.15


def test_an_int_sample_shape_is_a_one_tuple():
    # documented in docs/pytorch.md (PyTorch raises TypeError for an int sample_shape)
    d = cr.distributions.Categorical(cr.tensor([[0.5, 0.5], [0.2, 0.8]]))
    assert tuple(d.sample(3).shape) == tuple(d.sample((3,)).shape) == (3, 2)
    assert tuple(cr.distributions.Normal(0.0, 1.0).rsample(4).shape) == (4,)
