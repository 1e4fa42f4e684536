"""Multinomial, NegativeBinomial and Chi2, as in ``torch.distributions``."""

from __future__ import annotations

import math
import numbers

from ..autograd import no_grad
from ..backend import asnumpy, get_array_module
from ..ops import exp, floor, logsigmoid, sigmoid, where
from . import constraints
from ._special import lgamma
from ._utils import broadcast_all, count_and_param, logits_to_probs, pick_rng, probs_to_logits
from .discrete import Categorical
from .distribution import Distribution, lazy_property
from .gamma import _POISSON_MAX, Binomial, Gamma, _draw

__all__ = ["Chi2", "Multinomial", "NegativeBinomial"]


class _Multinomial(constraints.Constraint):
    """Count vectors: nonnegative entries that add up to at most ``upper_bound``."""

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def _check(self, x):
        return (x >= 0).all(-1) & (x.sum(-1) <= self.upper_bound)

    def __repr__(self):
        return f"Multinomial(upper_bound={self.upper_bound})"


constraints.multinomial = _Multinomial
constraints.__all__.append("multinomial")


class Multinomial(Distribution):
    """The counts of each of K categories in ``total_count`` independent draws from a
    Categorical(``probs`` or ``logits``); one ``total_count`` (an int) for the whole batch."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, numbers.Integral) or isinstance(total_count, bool):
            raise NotImplementedError(f"Multinomial: inhomogeneous total_count is not supported "
                                      f"(total_count must be an int, got {total_count!r})")
        if total_count < 0:
            raise ValueError(f"Multinomial: total_count must be nonnegative, got {total_count}")
        self.total_count = int(total_count)
        self._categorical = Categorical(probs=probs, logits=logits, validate_args=validate_args)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args)

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self)) if _instance is None else _instance
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=(), *, rng=None, generator=None):
        shape = tuple(self._extended_shape(sample_shape))
        pvals = asnumpy(self.probs._data).astype("float64")  # drawn on the host
        pvals = pvals / pvals.sum(-1, keepdims=True)
        with no_grad():
            return _draw("Multinomial.sample", rng, generator, self.probs,
                         lambda g: g.multinomial(self.total_count, pvals, size=shape[:-1]))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        # 0 * log(0) counts as 0: a category of probability 0 that was not drawn.
        logits = where((value == 0) & (logits == -math.inf), 0.0, logits)
        return (lgamma(value.sum(-1) + 1) - lgamma(value + 1).sum(-1)
                + (logits * value).sum(-1))

    def entropy(self):
        n = self.total_count
        term1 = n * self._categorical.entropy() - math.lgamma(n + 1)
        if n == 0:
            return term1
        # sum over categories of E[log(count!)], each count Binomial(n, p_k)
        binomial = Binomial(n, probs=self.probs, validate_args=False)
        support = binomial.enumerate_support(expand=False)[1:]
        probs = exp(binomial.log_prob(support))
        return term1 + (probs * lgamma(support + 1)).sum(0).sum(-1)


class NegativeBinomial(Distribution):
    """The number of successes before ``total_count`` failures, each trial succeeding with
    ``probs`` (or ``sigmoid(logits)``)."""

    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        self.total_count, name, param = count_and_param("NegativeBinomial", total_count, probs,
                                                        logits)
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

    @property
    def mean(self):
        return self.total_count * exp(self.logits)

    @property
    def mode(self):
        return floor((self.total_count - 1) * exp(self.logits)).clamp(min=0.0)

    @property
    def variance(self):
        return self.mean / sigmoid(-self.logits)

    def sample(self, sample_shape=(), *, rng=None, generator=None):
        """A Gamma(total_count, odds) rate, then a Poisson count of that rate."""
        shape = tuple(self._extended_shape(sample_shape))
        r = asnumpy(self.total_count._data).astype("float64")  # drawn on the host
        xp = get_array_module(r)
        r = xp.broadcast_to(r, shape)
        odds = xp.broadcast_to(xp.exp(asnumpy(self.logits._data).astype("float64")), shape)
        g = pick_rng("NegativeBinomial.sample", rng, generator)
        rate = xp.where(r > 0, g.gamma(xp.where(r > 0, r, 1.0), odds), 0.0)
        if rate.size and not bool((rate <= _POISSON_MAX).all()):  # NumPy's limit: a clear error
            raise ValueError(
                f"NegativeBinomial.sample: a Gamma(total_count, exp(logits)) rate of "
                f"{rate[~(rate <= _POISSON_MAX)].flat[0]:.6g} was drawn, beyond "
                f"{_POISSON_MAX:.6g} (counts beyond it leave the int64 range): probs are too "
                f"close to 1 (largest logits {xp.max(asnumpy(self.logits._data)):.6g})")
        with no_grad():
            return _draw("NegativeBinomial.sample", g, None, self.total_count,
                         lambda g: g.poisson(rate))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        r, logits = self.total_count, self.logits
        unnormalised = r * logsigmoid(-logits) + value * logsigmoid(logits)
        normaliser = -lgamma(r + value) + lgamma(1.0 + value) + lgamma(r)
        # total_count 0 and value 0: probability 1 (Gamma(0) cancels, as PyTorch's masked_fill)
        normaliser = where(r + value == 0, 0.0, normaliser)
        return unnormalised - normaliser


class Chi2(Gamma):
    """The chi-squared distribution with ``df`` degrees of freedom: Gamma(df / 2, 1 / 2)."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        (df,) = broadcast_all(df)
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    @property
    def df(self):
        return self.concentration * 2
