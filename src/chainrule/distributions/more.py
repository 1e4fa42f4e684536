"""Cauchy, StudentT, HalfNormal and Geometric, as in ``torch.distributions``."""

from __future__ import annotations

import math

from ..autograd import no_grad
from ..ops import abs as _abs
from ..ops import atan, floor, full_like, log, log1p, sqrt, tan, where
from . import constraints
from ._special import digamma, lgamma, standard_gamma
from ._utils import (
    broadcast_all,
    draw,
    finfo,
    logits_to_probs,
    one_of,
    pick_rng,
    probs_to_logits,
    softplus,
)
from .continuous import Normal
from .distribution import Distribution, lazy_property
from .kl import kl_divergence, register_kl

__all__ = ["Cauchy", "Geometric", "HalfNormal", "StudentT"]


class Cauchy(Distribution):
    """The Cauchy (Lorentz) distribution: no mean, no variance."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self):
        return self.loc * 0 + math.nan

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self.loc * 0 + math.inf

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        u = draw("Cauchy.rsample", rng, generator, "random", self._extended_shape(sample_shape),
                 self.loc)
        return self.loc + tan(math.pi * (u - 0.5)) * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -math.log(math.pi) - log(self.scale) - log1p(z * z)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return atan((value - self.loc) / self.scale) / math.pi + 0.5

    def icdf(self, value):
        return tan(math.pi * (value - 0.5)) * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + log(self.scale)


class StudentT(Distribution):
    """Student's t distribution with ``df`` degrees of freedom, location and scale."""

    arg_constraints = {"df": constraints.positive, "loc": constraints.real,
                       "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        super().__init__(self.df.shape, (), validate_args)

    @property
    def mean(self):
        return where(self.df > 1, self.loc, math.nan)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        df = self.df
        finite = self.scale ** 2 * df / where(df > 2, df - 2, 1.0)
        beyond = where(df > 1, full_like(finite, math.inf), full_like(finite, math.nan))
        return where(df > 2, finite, beyond)  # in the parameters' dtype (float32 stays)

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        shape = tuple(self._extended_shape(sample_shape))
        g = pick_rng("StudentT.rsample", rng, generator)
        x = draw("StudentT.rsample", g, None, "standard_normal", shape, self.df)
        chi2 = 2.0 * standard_gamma(0.5 * self.df.expand(shape), g)
        return self.loc + self.scale * x / sqrt(chi2 / self.df)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        z = (log(self.scale) + 0.5 * log(self.df) + 0.5 * math.log(math.pi)
             + lgamma(0.5 * self.df) - lgamma(0.5 * (self.df + 1.0)))
        return -0.5 * (self.df + 1.0) * log1p(y * y / self.df) - z

    def entropy(self):
        df = self.df
        lbeta = lgamma(0.5 * df) + math.lgamma(0.5) - lgamma(0.5 * (df + 1))
        return (log(self.scale) + 0.5 * (df + 1) * (digamma(0.5 * (df + 1)) - digamma(0.5 * df))
                + 0.5 * log(df) + lbeta)


class FoldedAtZero:
    """|X| for an X symmetric about 0 (``self.base_dist``, scale ``self.scale``): HalfNormal and
    HalfCauchy. The density doubles on [0, inf) and is 0 below; the cdf is ``2 F(x) - 1``."""

    _cast_value = False

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, _ = broadcast_all(value, self.scale)
        if self._cast_value:  # PyTorch's HalfCauchy: as_tensor(value, dtype=scale.dtype)
            value = value.to(self.scale.dtype)
        return where(value >= 0, self.base_dist.log_prob(value) + math.log(2), -math.inf)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)


class HalfNormal(FoldedAtZero, Distribution):
    """|X| for X ~ Normal(0, scale)."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None):
        self.base_dist = Normal(0.0, scale, validate_args=False)
        self.scale = self.base_dist.scale
        super().__init__(self.scale.shape, (), validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)
        new.base_dist = self.base_dist.expand(batch_shape)
        return new

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def mode(self):
        return self.scale * 0

    @property
    def variance(self):
        return self.scale ** 2 * (1 - 2 / math.pi)

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        return _abs(self.base_dist.rsample(sample_shape, rng=rng, generator=generator))


class Geometric(Distribution):
    """The number of failures before the first success, each trial succeeding with ``probs``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        one_of("Geometric", probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        self._probs_given = probs is not None
        param = self.__dict__.get("probs", self.__dict__.get("logits"))
        super().__init__(param.shape, (), validate_args)
        if self._validate_args and probs is not None and not bool((self.probs._data > 0).all()):
            raise ValueError(f"Expected parameter probs of distribution {self!r} to be positive "
                             f"but found invalid values:\n{self.probs}")

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return self.probs * 0

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=(), *, rng=None, generator=None):
        tiny = finfo(self.probs.dtype).tiny
        with no_grad():
            u = draw("Geometric.sample", rng, generator, "random",
                     self._extended_shape(sample_shape), self.probs).clamp(min=tiny)
            return floor(log(u) / log1p(-self.probs))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # A sure success (probs 1) has probability 1 at 0 failures: 0 * log(0) is taken as 0.
        safe = where((probs == 1) & (value == 0), 0.0, probs)
        return value * log1p(-safe) + log(self.probs)

    def entropy(self):
        if not self.__dict__.get("_probs_given", False):
            return (softplus(self.logits) - self.probs * self.logits) / self.probs
        # From the given probs: their logits are those of probs clamped into [eps, 1 - eps],
        # which made the entropy of probs 1e-30 2e14 (it is 1 - log(probs), near 70).
        p = self.probs
        safe = where(p == 1, 0.5, p)
        return where(p == 1, 0.0, -log(safe) - (1 - safe) / safe * log1p(-safe))


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    # closed form of Chyzak & Nielsen (2019): log(((s_p + s_q)^2 + (l_p - l_q)^2) / (4 s_p s_q))
    return (log((p.scale + q.scale) ** 2 + (p.loc - q.loc) ** 2)
            - log(4 * p.scale * q.scale))


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    return kl_divergence(p.base_dist, q.base_dist)  # |X| loses nothing for zero-mean normals


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    # E_p[log p(k)] - E_p[log q(k)], with E_p[k] = (1 - p) / p
    return -p.entropy() - log1p(-q.probs) / p.probs - q.logits
