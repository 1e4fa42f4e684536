"""Gamma, Beta, Dirichlet, Poisson and Binomial, with their same-family KL divergences.

Their densities need log-gamma and digamma (``_special``). Samples come from NumPy's gamma,
Poisson and binomial generators; Gamma, Beta and Dirichlet draws are reparameterised (``rsample``)
by implicit differentiation of the gamma CDF, as in PyTorch.
"""

from __future__ import annotations

import math

from ..autograd import no_grad, tensor
from ..backend import asnumpy
from ..ops import arange, argmax, exp, floor, log, log1p, one_hot, ones_like, stack, where
from ..ops.special_fns import xlogy
from . import constraints
from ._beta_grad import dirichlet_rsample
from ._special import digamma, gammainc, lgamma, standard_gamma
from ._utils import (
    broadcast_all,
    count_and_param,
    logits_to_probs,
    pick_rng,
    probs_to_logits,
    softplus,
)
from .distribution import Distribution, lazy_property
from .exp_family import ExponentialFamily
from .kl import register_kl

__all__ = ["Beta", "Binomial", "Dirichlet", "Gamma", "Poisson"]


def _xlogy(x, y):
    """``torch.xlogy``: x log y in the promoted dtype (a float64 value and float32 parameters:
    in float64), 0 where x is 0 unless y is NaN; its gradients PyTorch's (log y for x)."""
    return xlogy(x, y)


_POISSON_MAX = (2.0**63 - 1) - 10 * (2.0**63 - 1) ** 0.5  # NumPy's POISSON_LAM_MAX


def _draw(who, rng, generator, like, fn):
    """``fn(numpy Generator)`` (drawn on the host) as a Tensor of ``like``'s dtype and device."""
    # a 0-D draw comes back from NumPy as a Python number (NegativeBinomial(5, 0.3).sample())
    values = asnumpy(fn(pick_rng(who, rng, generator))).astype(like.dtype, copy=False)
    return tensor(values, device=like.device)


class Gamma(ExponentialFamily):
    """The gamma distribution with shape ``concentration`` and inverse scale ``rate``."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.shape, (), validate_args)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate ** 2

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        a = self.concentration.expand(tuple(self._extended_shape(sample_shape)))
        z = standard_gamma(a, pick_rng("Gamma.rsample", rng, generator, a))
        return z / self.rate

    def log_prob(self, value):
        # in the parameters' dtype, as PyTorch's (a float64 value of float32 Gamma: float32)
        value = value.to(self.rate.dtype) if hasattr(value, "to") else tensor(
            value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration, self.rate
        return _xlogy(a, b) + _xlogy(a - 1, value) - b * value - lgamma(a)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return gammainc(self.concentration, self.rate * value)

    def entropy(self):
        a = self.concentration
        return a - log(self.rate) + lgamma(a) + (1.0 - a) * digamma(a)

    # the exponential-family forms (ExponentialFamily: the Bregman KL of a family)
    @property
    def _natural_params(self):
        return self.concentration - 1, -self.rate

    def _log_normalizer(self, x, y):
        return lgamma(x + 1) + (x + 1) * log(-1 / y)


class Dirichlet(ExponentialFamily):
    """The Dirichlet distribution on the simplex, with ``concentration`` (..., K)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.ndim < 1:
            raise ValueError(f"Dirichlet: concentration must be at least one-dimensional, got "
                             f"shape {tuple(concentration.shape)}")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        c1 = (self.concentration - 1).clamp(min=0.0)
        mode = c1 / c1.sum(-1, keepdim=True)
        corner = one_hot(argmax(mode, dim=-1), c1.shape[-1]).to(mode.dtype)
        return where((self.concentration < 1).all(-1, keepdim=True), corner, mode)

    @property
    def variance(self):
        c0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (c0 - self.concentration) / (c0 ** 2 * (c0 + 1))

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        a = self.concentration.expand(tuple(self._extended_shape(sample_shape)))
        return dirichlet_rsample(a, pick_rng("Dirichlet.rsample", rng, generator, a))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return _xlogy(c - 1.0, value).sum(-1) + lgamma(c.sum(-1)) - lgamma(c).sum(-1)

    def entropy(self):
        c = self.concentration
        k = c.shape[-1]
        c0 = c.sum(-1)
        return (lgamma(c).sum(-1) - lgamma(c0) - (k - c0) * digamma(c0)
                - ((c - 1.0) * digamma(c)).sum(-1))

    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        return lgamma(x).sum(-1) - lgamma(x.sum(-1))


class Beta(ExponentialFamily):
    """The beta distribution on [0, 1] with ``concentration1`` (alpha) and ``concentration0``
    (beta)."""

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        super().__init__(self.concentration1.shape, (), validate_args)

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        a, b = self.concentration1, self.concentration0
        total = (a - 1).clamp(min=0) + (b - 1).clamp(min=0)
        # NaN where both are at most 1 (as PyTorch's 0/0), without 0/0's RuntimeWarning
        interior = (a - 1).clamp(min=0) / where(total > 0, total, math.nan)
        # Both below 1: the density is infinite at 0 and at 1; PyTorch (Dirichlet's mode of
        # (a, b), the first corner) and so chainrule return 1 whichever exponent is larger.
        return where((a < 1) & (b < 1), ones_like(interior), interior)

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total ** 2 * (total + 1))

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        shape = tuple(self._extended_shape(sample_shape))
        pair = stack([self.concentration1.expand(shape), self.concentration0.expand(shape)], -1)
        return dirichlet_rsample(pair, pick_rng("Beta.rsample", rng, generator, pair))[..., 0]

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        return (_xlogy(a - 1.0, value) + _xlogy(b - 1.0, 1.0 - value) + lgamma(a + b)
                - lgamma(a) - lgamma(b))

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        return (lgamma(a) + lgamma(b) - lgamma(a + b) - (a - 1) * digamma(a)
                - (b - 1) * digamma(b) + (a + b - 2) * digamma(a + b))

    @property
    def _natural_params(self):
        return self.concentration1, self.concentration0

    def _log_normalizer(self, x, y):
        return lgamma(x) + lgamma(y) - lgamma(x + y)


class Poisson(ExponentialFamily):
    """The Poisson distribution of counts with mean ``rate``."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, (), validate_args)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return floor(self.rate)

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=(), *, rng=None, generator=None):
        shape = tuple(self._extended_shape(sample_shape))
        lam = asnumpy(self.rate._data)
        if lam.size and not bool((lam <= _POISSON_MAX).all()):  # NumPy's limit; torch wraps
            bad = lam[~(lam <= _POISSON_MAX)].flat[0]
            raise ValueError(f"Poisson.sample: rate must be a number in [0, {_POISSON_MAX:.6g}] "
                             f"(counts beyond it leave the int64 range), got {bad}")
        with no_grad():
            return _draw("Poisson.sample", rng, generator, self.rate,
                         lambda g: g.poisson(lam, size=shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return _xlogy(value, rate) - rate - lgamma(value + 1)

    @property
    def _natural_params(self):
        return (log(self.rate),)

    def _log_normalizer(self, x):
        return exp(x)


class Binomial(Distribution):
    """The number of successes in ``total_count`` trials of probability ``probs`` (or
    ``sigmoid(logits)``)."""

    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        self.total_count, name, param = count_and_param("Binomial", total_count, probs, logits)
        setattr(self, name, param)  # the other one is computed when first read (lazy_property)
        super().__init__(param.shape, (), validate_args)

    @property
    def param_shape(self):
        """The shape of ``probs``/``logits`` (broadcast with ``total_count``), as PyTorch's."""
        return self.batch_shape

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return floor((self.total_count + 1) * self.probs).clamp(max=self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=(), *, rng=None, generator=None):
        shape = tuple(self._extended_shape(sample_shape))
        n, p = asnumpy(self.total_count._data).astype("int64"), asnumpy(self.probs._data)
        with no_grad():
            return _draw("Binomial.sample", rng, generator, self.probs,
                         lambda g: g.binomial(n, p, size=shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        # k log p + (n - k) log(1 - p) = k * logit - n * softplus(logit), stable for all logits.
        return (lgamma(n + 1) - lgamma(value + 1) - lgamma(n - value + 1)
                + value * logits - n * softplus(logits))

    def entropy(self):
        """-sum_k p(k) log p(k) over k = 0..total_count (one total_count for the whole batch)."""
        counts = self.total_count._data
        if counts.size and not bool((counts == counts.reshape(-1)[0]).all()):
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(exp(log_prob) * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True):
        counts = self.total_count._data
        if counts.size and not bool((counts == counts.reshape(-1)[0]).all()):
            raise NotImplementedError("Inhomogeneous total count not supported by "
                                      "enumerate_support.")
        n = int(counts.reshape(-1)[0]) if counts.size else 0
        values = arange(1 + n, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        return values.expand((-1,) + tuple(self.batch_shape)) if expand else values


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    t1 = q.concentration * log(p.rate / q.rate)
    t2 = lgamma(q.concentration) - lgamma(p.concentration)
    t3 = (p.concentration - q.concentration) * digamma(p.concentration)
    t4 = (q.rate - p.rate) * (p.concentration / p.rate)
    return t1 + t2 + t3 + t4


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    sum_p = p.concentration1 + p.concentration0
    sum_q = q.concentration1 + q.concentration0
    t1 = lgamma(q.concentration1) + lgamma(q.concentration0) + lgamma(sum_p)
    t2 = lgamma(p.concentration1) + lgamma(p.concentration0) + lgamma(sum_q)
    t3 = (p.concentration1 - q.concentration1) * digamma(p.concentration1)
    t4 = (p.concentration0 - q.concentration0) * digamma(p.concentration0)
    t5 = (sum_q - sum_p) * digamma(sum_p)
    return t1 - t2 + t3 + t4 + t5


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    sum_p = p.concentration.sum(-1)
    sum_q = q.concentration.sum(-1)
    t1 = lgamma(sum_p) - lgamma(sum_q)
    t2 = (lgamma(p.concentration) - lgamma(q.concentration)).sum(-1)
    t3 = p.concentration - q.concentration
    t4 = digamma(p.concentration) - digamma(sum_p).unsqueeze(-1)
    return t1 - t2 + (t3 * t4).sum(-1)


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    return _xlogy(p.rate, p.rate / q.rate) - (p.rate - q.rate)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    if bool((p.total_count._data < q.total_count._data).any()):
        raise NotImplementedError("KL between Binomials where q.total_count > p.total_count is "
                                  "not implemented")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + log1p(-p.probs) - log1p(-q.probs))
    # q cannot reach p's largest counts: infinite.
    return where(p.total_count > q.total_count, math.inf, kl)

