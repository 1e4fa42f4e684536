"""Normal, Laplace, Exponential and Uniform, as in ``torch.distributions``."""

from __future__ import annotations

import math

from ..ops import abs as _abs
from ..ops import erf, exp, expm1, log, log1p, sign, where
from ..ops.special_fns import ndtri  # accurate to the last digits in both tails and at 1/2
from . import constraints
from ._utils import broadcast_all, draw, finfo
from .distribution import Distribution
from .exp_family import ExponentialFamily

__all__ = ["Exponential", "Laplace", "Normal", "Uniform"]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class Normal(ExponentialFamily):
    """The normal distribution N(loc, scale^2).

    >>> import chainrule as cr
    >>> d = cr.distributions.Normal(cr.tensor([0.0, 1.0]), cr.tensor([1.0, 2.0]))
    >>> d.log_prob(cr.tensor([0.0, 1.0])).exp().tolist()  # doctest: +ELLIPSIS
    [0.398942..., 0.199471...]
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale * self.scale

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        shape = self._extended_shape(sample_shape)
        eps = draw("Normal.rsample", rng, generator, "standard_normal", shape, self.loc)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        # PyTorch's order: the variance is rounded in the parameters' dtype before a (perhaps
        # wider) value meets it, so float32 parameters and a float64 value agree to its rounding
        var = self.scale * self.scale
        diff = value - self.loc
        return -(diff * diff) / (2 * var) - log(self.scale) - _LOG_SQRT_2PI

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        # PyTorch's order: float32 parameters meet a float64 value before the sqrt(2) division
        return 0.5 * (1 + erf((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)))

    def icdf(self, value):
        return self.loc + self.scale * ndtri(value)

    def entropy(self):
        return 0.5 + _LOG_SQRT_2PI + log(self.scale)

    # the exponential-family form (ExponentialFamily): theta = (loc / var, -1 / (2 var))
    @property
    def _natural_params(self):
        return self.loc / self.scale.pow(2), -0.5 * self.scale.pow(-2)

    def _log_normalizer(self, x, y):
        return -0.25 * x.pow(2) / y + 0.5 * log(-math.pi / y)

    @property
    def _mean_carrier_measure(self):
        return 0


class Laplace(Distribution):
    """The Laplace distribution with location ``loc`` and scale ``scale``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale * self.scale

    @property
    def stddev(self):
        return math.sqrt(2) * self.scale

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        shape = self._extended_shape(sample_shape)
        low = finfo(self.loc.dtype).eps - 1
        u = draw("Laplace.rsample", rng, generator, "uniform", shape, self.loc, low=low, high=1.0)
        return self.loc - self.scale * sign(u) * log1p(-_abs(u))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -log(2 * self.scale) - _abs(value - self.loc) / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        d = value - self.loc
        return 0.5 - 0.5 * sign(d) * expm1(-_abs(d) / self.scale)

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * sign(term) * log1p(-2 * _abs(term))

    def entropy(self):
        return 1 + log(2 * self.scale)


class Exponential(ExponentialFamily):
    """The exponential distribution with rate ``rate`` (mean ``1 / rate``)."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, (), validate_args)

    @property
    def mean(self):
        return 1 / self.rate

    @property
    def mode(self):
        return self.rate * 0

    @property
    def stddev(self):
        return 1 / self.rate

    @property
    def variance(self):
        return self.rate ** -2

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        shape = self._extended_shape(sample_shape)
        e = draw("Exponential.rsample", rng, generator, "standard_exponential", shape, self.rate)
        return e / self.rate

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return log(self.rate) - self.rate * value

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 1 - exp(-self.rate * value)

    def icdf(self, value):
        return -log1p(-value) / self.rate

    def entropy(self):
        return 1 - log(self.rate)

    @property
    def _natural_params(self):
        return (-self.rate,)

    def _log_normalizer(self, x):
        return -log(-x)

    @property
    def _mean_carrier_measure(self):
        return 0


class Uniform(Distribution):
    """The uniform distribution on the half-open interval [low, high)."""

    arg_constraints = {"low": constraints.dependent(is_discrete=False, event_dim=0),
                       "high": constraints.dependent(is_discrete=False, event_dim=0)}
    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(self.low.shape, (), validate_args)
        if self._validate_args and not bool((self.low < self.high).all()):
            raise ValueError(f"Uniform: low must be below high everywhere, got low={self.low} "
                             f"and high={self.high}")

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def mode(self):
        return self.high * math.nan

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        shape = self._extended_shape(sample_shape)
        u = draw("Uniform.rsample", rng, generator, "random", shape, self.low)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        inside = (self.low <= value) & (value < self.high)
        return where(inside, -log(self.high - self.low), -math.inf)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return log(self.high - self.low)
