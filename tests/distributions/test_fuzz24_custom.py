"""Wave 24: a Distribution subclass written for PyTorch (``rsample(self, sample_shape)``, no
``rng``) is sampled by ``sample``, ``sample_n``, ``Independent``, ``TransformedDistribution`` and
``MixtureSameFamily``, as in PyTorch."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.distributions import (
    Categorical,
    Distribution,
    Independent,
    MixtureSameFamily,
    TransformedDistribution,
    constraints,
)
from chainrule.distributions.transforms import ExpTransform


class UnitNormal(Distribution):
    """PyTorch's recipe for a custom distribution: no rng keyword anywhere."""

    arg_constraints = {"loc": constraints.real}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, validate_args=None):
        self.loc = loc
        super().__init__(batch_shape=loc.shape, validate_args=validate_args)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return self.loc.expand(shape) + cr.randn(shape, dtype=self.loc.dtype)

    def log_prob(self, value):
        return -0.5 * (value - self.loc) ** 2 - 0.5 * math.log(2 * math.pi)


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda d: d, (3, 2)),
        (lambda d: Independent(d, 1), (3, 2)),
        (lambda d: TransformedDistribution(d, [ExpTransform()]), (3, 2)),
        (lambda d: MixtureSameFamily(Categorical(cr.tensor([0.5, 0.5])), d), (3,)),
    ],
)
def test_a_custom_distribution_without_rng_keywords_samples(make, shape):
    # each raised "TypeError: UnitNormal.rsample() got an unexpected keyword argument 'rng'"
    loc = cr.tensor([0.0, 1.0], requires_grad=True)
    d = make(UnitNormal(loc))
    cr.manual_seed(0)
    x = d.sample((3,))
    assert tuple(x.shape) == shape and not x.requires_grad
    cr.manual_seed(0)
    np.testing.assert_array_equal(d.sample((3,)).numpy(), x.numpy())  # the default generator
    assert tuple(d.sample_n(3).shape) == shape
    if d.has_rsample:
        (g,) = cr.grad(d.rsample((3,)).sum(), [loc])
        assert np.isfinite(g.numpy()).all() and np.abs(g.numpy()).sum() > 0
