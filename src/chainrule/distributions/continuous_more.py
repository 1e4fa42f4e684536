"""ContinuousBernoulli, FisherSnedecor, VonMises and GeneralizedPareto, as in
``torch.distributions``."""

from __future__ import annotations

import math

from ..autograd import no_grad, tensor
from ..backend import asnumpy, get_array_module
from ..ops import abs as _abs
from ..ops import (
    binary_cross_entropy_with_logits,
    cos,
    exp,
    expm1,
    log,
    log1p,
    ones_like,
    where,
    zeros_like,
)
from ..ops.special_fns import i0e, i1e
from . import constraints
from ._special import lgamma
from ._utils import (
    broadcast_all,
    clamp_probs,
    draw,
    finfo,
    logits_to_probs,
    one_of,
    pick_rng,
    probs_to_logits,
)
from .distribution import Distribution, lazy_property
from .exp_family import ExponentialFamily
from .gamma import Gamma

__all__ = ["ContinuousBernoulli", "FisherSnedecor", "GeneralizedPareto", "VonMises"]


class ContinuousBernoulli(ExponentialFamily):
    """The continuous Bernoulli distribution on [0, 1] (Loaiza-Ganem and Cunningham, 2019): density
    proportional to ``probs ** x * (1 - probs) ** (1 - x)``.

    Its normaliser ``2 atanh(1 - 2p) / (1 - 2p)`` is 0/0 at ``probs`` 0.5: inside ``lims`` it and
    the moments are taken from their Taylor series about 0.5, as PyTorch does; ``cdf`` and
    ``icdf`` are exact there too (``expm1``), where PyTorch's are those of Uniform(0, 1).
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        one_of("ContinuousBernoulli", probs, logits)
        if probs is not None:
            (probs,) = broadcast_all(probs)
            self.probs = probs
            self._check_given(validate_args)
            self.probs = clamp_probs(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        self._lims = tuple(lims)
        param = self.__dict__.get("probs", self.__dict__.get("logits"))
        super().__init__(param.shape, (), validate_args)

    def _check_given(self, validate_args):
        # the given probs (before clamping into (0, 1)) must lie in [0, 1]
        if validate_args if validate_args is not None else self._validate_args:
            self._check_parameters()

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def param_shape(self):
        return self.batch_shape

    def _outside_unstable_region(self):
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self):
        return where(self._outside_unstable_region(), self.probs, self._lims[0])

    def _cont_bern_log_norm(self):
        """log C(p): C = 2 atanh(1 - 2p) / (1 - 2p), by its Taylor series near p = 0.5."""
        p = self._cut_probs()
        below = where(p <= 0.5, p, 0.0)
        above = where(p >= 0.5, p, 1.0)
        log_norm = log(_abs(log1p(-p) - log(p))) - where(p <= 0.5, log1p(-2.0 * below),
                                                         log(2.0 * above - 1.0))
        x = (self.probs - 0.5) ** 2
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self):
        p = self._cut_probs()
        mus = p / (2.0 * p - 1.0) + 1.0 / (log1p(-p) - log(p))
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x ** 2) * x
        return where(self._outside_unstable_region(), mus, taylor)

    @property
    def variance(self):
        p = self._cut_probs()
        variances = p * (p - 1.0) / (1.0 - 2.0 * p) ** 2 + 1.0 / (log1p(-p) - log(p)) ** 2
        x = (self.probs - 0.5) ** 2
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return where(self._outside_unstable_region(), variances, taylor)

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        u = draw("ContinuousBernoulli.rsample", rng, generator, "random",
                 self._extended_shape(sample_shape), self.probs)
        return self.icdf(u)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        bce = binary_cross_entropy_with_logits(logits, value, reduction="none")
        return -bce + self._cont_bern_log_norm()

    def _safe_logits(self):
        # the logits of the clamped probs, as PyTorch's cdf/icdf and as mean, variance and the
        # normaliser here: given logits beyond them (|logits| > 15.9 in float32) gave draws of
        # another law than .mean's, and expm1 overflowed to inf/NaN past 88
        eps = finfo(self.probs.dtype).eps
        bound = math.log1p(-eps) - math.log(eps)
        lam = self.logits.clamp(-bound, bound)
        return lam, where(lam == 0, 1.0, lam)

    def cdf(self, value):
        """(e^(l x) - 1) / (e^l - 1) with l = logits, by ``expm1``: exact near probs 0.5 too,
        where PyTorch returns ``value`` (see docs/pytorch.md)."""
        if self._validate_args:
            self._validate_sample(value)
        lam, safe = self._safe_logits()
        inside = where(lam == 0, value, expm1(safe * value) / expm1(safe))
        return where(value <= 0.0, zeros_like(inside),
                     where(value >= 1.0, ones_like(inside), inside))

    def icdf(self, value):
        lam, safe = self._safe_logits()
        return where(lam == 0, value, log1p(value * expm1(safe)) / safe)

    def entropy(self):
        log_p0, log_p1 = log1p(-self.probs), log(self.probs)
        return self.mean * (log_p0 - log_p1) - self._cont_bern_log_norm() - log_p0

    # the exponential-family form (ExponentialFamily): theta = logits, F = log(expm1(x) / x),
    # from its Taylor series where |x| is within the lims about 0.5 (as PyTorch)
    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        outside = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        safe = where(outside, x, self._lims[0] - 0.5)
        exact = log(_abs(expm1(safe))) - log(_abs(safe))
        return where(outside, exact, 0.5 * x + x.pow(2) / 24.0 - x.pow(4) / 2880.0)


class FisherSnedecor(Distribution):
    """The F distribution with ``df1`` and ``df2`` degrees of freedom: the ratio of two
    chi-squared variables, each over its degrees of freedom."""

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args=None):
        self.df1, self.df2 = broadcast_all(df1, df2)
        super().__init__(self.df1.shape, (), validate_args)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1, validate_args=False)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2, validate_args=False)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)
        new._gamma1 = self._gamma1.expand(batch_shape)
        new._gamma2 = self._gamma2.expand(batch_shape)
        return new

    @property
    def mean(self):
        df2 = self.df2
        return where(df2 > 2, df2 / where(df2 > 2, df2 - 2, 1.0), math.nan)

    @property
    def mode(self):
        ratio = (self.df1 - 2) / self.df1
        return where(ratio > 0, ratio * self.df2 / (self.df2 + 2), math.nan)

    @property
    def variance(self):
        df1, df2 = self.df1, self.df2
        safe = where(df2 > 4, df2, 5.0)
        value = 2 * safe ** 2 * (df1 + safe - 2) / (df1 * (safe - 2) ** 2 * (safe - 4))
        return where(df2 > 4, value, math.nan)

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        g = pick_rng("FisherSnedecor.rsample", rng, generator)
        x1 = self._gamma1.rsample(sample_shape, rng=g)
        x2 = self._gamma2.rsample(sample_shape, rng=g)
        tiny = finfo(x2.dtype).tiny
        return (x1 / x2.clamp(min=tiny)).clamp(min=tiny)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        ct1, ct2 = self.df1 * 0.5, self.df2 * 0.5
        ct3 = self.df1 / self.df2
        t1 = lgamma(ct1 + ct2) - lgamma(ct1) - lgamma(ct2)
        t2 = ct1 * log(ct3) + (ct1 - 1) * log(value)
        t3 = (ct1 + ct2) * log1p(ct3 * value)
        return t1 + t2 - t3


def _log_i0(x):
    return log(i0e(x)) + x


def _best_fisher(loc, kappa, shape, g):
    """Best and Fisher's (1979) rejection sampler of von Mises angles, in float64 (in float32 it
    can loop for ever at small concentrations), from the host arrays ``loc`` and ``kappa`` and
    the numpy Generator ``g``; angles in [-pi, pi)."""
    xp = get_array_module(loc)
    loc = xp.broadcast_to(loc.astype(xp.float64), shape)
    kappa = xp.broadcast_to(kappa.astype(xp.float64), shape)
    tiny = kappa < 1e-5
    k = xp.where(tiny, 1.0, kappa)
    tau = 1 + xp.sqrt(1 + 4 * k * k)
    rho = (tau - xp.sqrt(2 * tau)) / (2 * k)
    r = xp.where(tiny, 1 / kappa + kappa, (1 + rho * rho) / (2 * rho))
    x = xp.zeros(shape)
    done = xp.zeros(shape, dtype=bool)
    with xp.errstate(divide="ignore", invalid="ignore"):  # log(c / u2) at c = 0 or u2 = 0
        while not done.all():
            u1, u2, u3 = g.random((3,) + tuple(shape))
            z = xp.cos(math.pi * u1)
            f = (1 + r * z) / (r + z)
            c = kappa * (r - f)
            accept = (((c * (2 - c) - u2) > 0) | (xp.log(c / u2) + 1 - c >= 0)) & ~done
            x = xp.where(accept, xp.sign(u3 - 0.5) * xp.arccos(xp.clip(f, -1, 1)), x)
            done = done | accept
    return (x + math.pi + loc) % (2 * math.pi) - math.pi


class VonMises(Distribution):
    """The von Mises distribution of an angle (radians, read modulo 2 pi) about ``loc``, with
    ``concentration`` (kappa); ``mean`` and ``variance`` are the circular ones."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return 1 - i1e(self.concentration) / i0e(self.concentration)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (self.concentration * cos(value - self.loc) - math.log(2 * math.pi)
                - _log_i0(self.concentration))

    def sample(self, sample_shape=(), *, rng=None, generator=None):
        shape = tuple(self._extended_shape(sample_shape))
        g = pick_rng("VonMises.sample", rng, generator, self.loc)
        with no_grad():
            x = _best_fisher(asnumpy(self.loc._data), asnumpy(self.concentration._data), shape, g)
            return tensor(x.astype(self.loc.dtype, copy=False), device=self.loc.device)



class GeneralizedPareto(Distribution):
    """The generalised Pareto distribution (peaks over a threshold) with location ``loc``,
    ``scale`` and shape ``concentration`` (xi): survival ``(1 + xi z) ** (-1 / xi)`` for
    z = (x - loc) / scale, ``exp(-z)`` at xi = 0; bounded above by loc - scale / xi when xi < 0.
    A concentration within 1e-8 of 0 counts as 0 (PyTorch's ``isclose``)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive,
                       "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(self.loc.shape, (), validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        c = self.concentration
        upper = where(c < 0, self.loc - self.scale / where(c < 0, c, -1.0), math.inf)
        return constraints.interval(self.loc, upper)

    def _safe_concentration(self):
        zero = _abs(self.concentration) <= 1e-8
        return zero, where(zero, 1.0, self.concentration)

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        u = draw("GeneralizedPareto.rsample", rng, generator, "random",
                 self._extended_shape(sample_shape), self.loc)
        return self.icdf(u)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        zero, c = self._safe_concentration()
        y = 1 / c + 1
        # y = 0 (xi = -1): the density is flat, 1 / scale, even at the upper end
        nonzero = where(y == 0, 0.0, y * log1p(c * where(y == 0, 0.0, z)))
        return -log(self.scale) - where(zero, z, nonzero)

    def log_survival_function(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        zero, c = self._safe_concentration()
        return where(zero, -z, -log1p(c * z) / c)

    def log_cdf(self, value):
        return log1p(-exp(self.log_survival_function(value)))

    def cdf(self, value):
        return exp(self.log_cdf(value))

    def icdf(self, value):
        zero, c = self._safe_concentration()
        log_u = log1p(-value)
        return where(zero, self.loc - self.scale * log_u,
                     self.loc + self.scale / c * expm1(-c * log_u))

    @property
    def mean(self):
        c = self.concentration
        return where(c < 1, self.loc + self.scale / (1 - where(c < 1, c, 0.5)), math.nan)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        c = self.concentration
        safe = where(c < 0.5, c, 0.25)
        return where(c < 0.5, self.scale ** 2 / ((1 - safe) ** 2 * (1 - 2 * safe)), math.nan)

    def entropy(self):
        return (log(self.scale) + self.concentration + 1).expand(tuple(self.batch_shape))
