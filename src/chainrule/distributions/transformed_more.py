"""Gumbel, Weibull, Pareto, Kumaraswamy, HalfCauchy and LogisticNormal: as in PyTorch, each is a
``TransformedDistribution`` of a Uniform, Exponential, Cauchy or Normal variable, so draws,
``log_prob``, ``cdf`` and ``icdf`` follow from the transforms; closed forms give the moments and
entropies."""

from __future__ import annotations

import math

from ..ops import digamma, exp, full_like, lgamma, log, where, zeros_like
from . import constraints
from ._utils import broadcast_all, finfo
from .continuous import Exponential, Normal, Uniform
from .distribution import Distribution
from .gamma import Gamma
from .more import Cauchy, FoldedAtZero
from .transformed import TransformedDistribution
from .transforms import AffineTransform, ExpTransform
from .transforms_extra import AbsTransform, PowerTransform, StickBreakingTransform

__all__ = ["Gumbel", "HalfCauchy", "InverseGamma", "Kumaraswamy", "LogisticNormal", "Pareto",
           "Weibull"]

_EULER = 0.57721566490153286061


class _Parameterised(TransformedDistribution):
    """A TransformedDistribution whose own parameters (``_params``) follow ``expand``."""

    _params: tuple = ()
    __repr__ = Distribution.__repr__  # by parameters, as PyTorch's

    def _check_first(self, validate_args):
        """Check this distribution's own parameters before the base distribution is built (whose
        messages would name its own parameters, or which would divide by zero first)."""
        if validate_args if validate_args is not None else self._validate_args:
            self._check_parameters()

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)
        for name in self._params:
            new.__dict__[name] = self.__dict__[name].expand(tuple(batch_shape))
        return new


class Gumbel(_Parameterised):
    """The Gumbel (type I extreme value) distribution: ``loc - scale * log(-log(U))``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    _params = ("loc", "scale")

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        self._check_first(validate_args)
        info = finfo(self.loc.dtype)
        base = Uniform(full_like(self.loc, info.tiny), full_like(self.loc, 1 - info.eps),
                       validate_args=validate_args)
        transforms = [ExpTransform().inv, AffineTransform(0, -full_like(self.scale, 1.0)),
                      ExpTransform().inv, AffineTransform(self.loc, -self.scale)]
        super().__init__(base, transforms, validate_args=validate_args)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = (self.loc - value) / self.scale
        return (y - exp(y)) - log(self.scale)

    @property
    def mean(self):
        return self.loc + self.scale * _EULER

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):
        return self.stddev ** 2

    def entropy(self):
        return log(self.scale) + (1 + _EULER)


class Weibull(_Parameterised):
    """The Weibull distribution: ``scale * E ** (1 / concentration)`` for E ~ Exponential(1)."""

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive
    has_rsample = True
    _params = ("scale", "concentration", "concentration_reciprocal")

    def __init__(self, scale, concentration, validate_args=None):
        self.scale, self.concentration = broadcast_all(scale, concentration)
        self._check_first(validate_args)
        self.concentration_reciprocal = 1 / self.concentration
        base = Exponential(full_like(self.scale, 1.0), validate_args=validate_args)
        transforms = [PowerTransform(self.concentration_reciprocal),
                      AffineTransform(0, self.scale)]
        super().__init__(base, transforms, validate_args=validate_args)

    @property
    def mean(self):
        return self.scale * exp(lgamma(1 + self.concentration_reciprocal))

    @property
    def mode(self):
        # NaN below concentration 1 (PyTorch's power of a negative number), without the warning.
        ratio = (self.concentration - 1) / self.concentration
        mode = self.scale * ratio.clamp(min=0) ** self.concentration_reciprocal
        return where(ratio >= 0, mode, math.nan)

    @property
    def variance(self):
        r = self.concentration_reciprocal
        return self.scale ** 2 * (exp(lgamma(1 + 2 * r)) - exp(2 * lgamma(1 + r)))

    def entropy(self):
        r = self.concentration_reciprocal
        return _EULER * (1 - r) + log(self.scale * r) + 1


class Pareto(_Parameterised):
    """The Pareto (type I) distribution: ``scale * exp(E)`` for E ~ Exponential(alpha)."""

    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}
    has_rsample = True
    _params = ("scale", "alpha")

    def __init__(self, scale, alpha, validate_args=None):
        self.scale, self.alpha = broadcast_all(scale, alpha)
        self._check_first(validate_args)
        base = Exponential(self.alpha, validate_args=validate_args)
        super().__init__(base, [ExpTransform(), AffineTransform(0, self.scale)],
                         validate_args=validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.greater_than_eq(self.scale)

    @property
    def mean(self):
        a = self.alpha.clamp(min=1)  # infinite at alpha <= 1
        return where(a > 1, a * self.scale / where(a > 1, a - 1, 1.0), math.inf)

    @property
    def mode(self):
        return self.scale

    @property
    def variance(self):
        a = self.alpha.clamp(min=2)  # infinite at alpha <= 2
        safe = where(a > 2, a, 3.0)
        return where(a > 2, self.scale ** 2 * safe / ((safe - 1) ** 2 * (safe - 2)), math.inf)

    def entropy(self):
        return log(self.scale / self.alpha) + (1 + 1 / self.alpha)


def _kumaraswamy_moment(a, b, n):
    """E[X^n] = b B(1 + n/a, b)."""
    arg = 1 + n / a
    return b * exp(lgamma(arg) + lgamma(b) - lgamma(arg + b))


class Kumaraswamy(_Parameterised):
    """The Kumaraswamy distribution on [0, 1], with density ``a b x^(a-1) (1 - x^a)^(b-1)``:
    ``(1 - U ** (1 / b)) ** (1 / a)`` for U ~ Uniform(0, 1)."""

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True
    _params = ("concentration1", "concentration0")

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        self._check_first(validate_args)
        base = Uniform(zeros_like(self.concentration0), full_like(self.concentration0, 1.0),
                       validate_args=validate_args)
        transforms = [PowerTransform(1 / self.concentration0), AffineTransform(1.0, -1.0),
                      PowerTransform(1 / self.concentration1)]
        super().__init__(base, transforms, validate_args=validate_args)

    @property
    def mean(self):
        return _kumaraswamy_moment(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        """((a - 1) / (a b - 1)) ** (1 / a) where a, b >= 1 (not both 1), else NaN. PyTorch's
        ``mode`` differs (see docs/pytorch.md)."""
        a, b = self.concentration1, self.concentration0
        ok = (a >= 1) & (b >= 1) & ((a > 1) | (b > 1))
        ratio = (a - 1) / where(ok, a * b - 1, 1.0)
        return where(ok, ratio ** (1 / a), math.nan)

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        return _kumaraswamy_moment(a, b, 2) - self.mean ** 2

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        harmonic = digamma(b + 1) + _EULER
        return (1 - 1 / b) + (1 - 1 / a) * harmonic - log(a) - log(b)


class HalfCauchy(FoldedAtZero, _Parameterised):
    """|X| for X ~ Cauchy(0, scale)."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _cast_value = True

    def __init__(self, scale, validate_args=None):
        super().__init__(Cauchy(0.0, scale, validate_args=False), AbsTransform(),
                         validate_args=validate_args)

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mean(self):
        return full_like(self.scale, math.inf)

    @property
    def mode(self):
        return zeros_like(self.scale)

    @property
    def variance(self):
        return full_like(self.scale, math.inf)


class LogisticNormal(_Parameterised):
    """The stick-breaking image of a Normal(loc, scale) vector: a point of the simplex with one
    coordinate more than ``loc``'s last dimension."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        base = Normal(loc, scale, validate_args=validate_args)
        if not base.batch_shape:
            base = base.expand((1,))
        super().__init__(base, StickBreakingTransform(), validate_args=validate_args)

    @property
    def loc(self):
        return self.base_dist.base_dist.loc

    @property
    def scale(self):
        return self.base_dist.base_dist.scale


class InverseGamma(_Parameterised):
    """1 / X for X ~ Gamma(concentration, rate)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        base = Gamma(concentration, rate, validate_args=validate_args)
        super().__init__(base, PowerTransform(-1.0), validate_args=validate_args)

    @property
    def concentration(self):
        return self.base_dist.concentration

    @property
    def rate(self):
        return self.base_dist.rate

    @property
    def mean(self):
        a = self.concentration
        return where(a > 1, self.rate / where(a > 1, a - 1, 1.0), math.inf)

    @property
    def mode(self):
        return self.rate / (self.concentration + 1)

    @property
    def variance(self):
        a = self.concentration
        safe = where(a > 2, a, 3.0)
        return where(a > 2, self.rate ** 2 / ((safe - 1) ** 2 * (safe - 2)), math.inf)

    def entropy(self):
        a = self.concentration
        return a + log(self.rate) + lgamma(a) - (1 + a) * digamma(a)
