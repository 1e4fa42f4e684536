"""Bernoulli, Categorical and OneHotCategorical, each from ``probs`` or ``logits``."""

from __future__ import annotations

import math

from ..autograd import no_grad, tensor
from ..ops import arange, argmax, broadcast_tensors, eye, logsumexp, one_hot, where
from . import constraints
from ._utils import (
    broadcast_all,
    draw,
    finfo,
    logits_to_probs,
    one_of,
    probs_to_logits,
    softplus,
)
from .distribution import Distribution, lazy_property
from .exp_family import ExponentialFamily

__all__ = ["Bernoulli", "Categorical", "OneHotCategorical", "OneHotCategoricalStraightThrough"]


class Bernoulli(ExponentialFamily):
    """A coin that shows 1 with probability ``probs`` (or ``sigmoid(logits)``)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        one_of("Bernoulli", probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            shape = self.probs.shape
        else:
            (self.logits,) = broadcast_all(logits)
            shape = self.logits.shape
        super().__init__(shape, (), validate_args)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        return self.batch_shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        p = self.probs
        return where(p == 0.5, math.nan, (p > 0.5).to(p.dtype))

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=(), *, rng=None, generator=None):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            u = draw("Bernoulli.sample", rng, generator, "random", shape, self.probs)
            return (u < self.probs).to(self.probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return value * logits - softplus(logits)

    def entropy(self):
        return softplus(self.logits) - self.probs * self.logits

    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        return softplus(x)

    @property
    def _mean_carrier_measure(self):
        return 0

    def enumerate_support(self, expand: bool = True):
        values = arange(2, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        return values.expand((2,) + tuple(self.batch_shape)) if expand else values


class Categorical(Distribution):
    """One of ``K`` categories (the last dimension of ``probs`` or ``logits``), as an index.

    ``probs`` need not sum to 1 (each row is normalised); ``logits`` are unnormalised log
    probabilities.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        one_of(type(self).__name__, probs, logits)
        param = probs if probs is not None else logits
        if param.ndim < 1:
            raise ValueError(f"{type(self).__name__}: probs or logits must be at least "
                             f"one-dimensional, got shape {tuple(param.shape)}")
        if probs is not None:
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            self.logits = logits - logsumexp(logits, dim=-1, keepdim=True)
        self._num_events = param.shape[-1]
        super().__init__(param.shape[:-1], (), validate_args)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def param_shape(self):
        return self.batch_shape + (self._num_events,)

    @property
    def mean(self):
        return self.probs[..., 0].detach() * math.nan  # no gradient, as PyTorch's full(nan)

    @property
    def mode(self):
        return argmax(self.probs, dim=-1)

    @property
    def variance(self):
        return self.probs[..., 0].detach() * math.nan  # no gradient, as PyTorch's full(nan)

    def sample(self, sample_shape=(), *, rng=None, generator=None):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            u = draw("Categorical.sample", rng, generator, "random", shape, self.probs)
            cumulative = self.probs._data.cumsum(-1)
            index = (cumulative < u._data[..., None]).sum(-1)
            return tensor(index.clip(0, self._num_events - 1).astype("int64"),
                          device=self.probs.device)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self):
        logits = self.logits.clamp(min=finfo(self.logits.dtype).min)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True):
        values = arange(self._num_events, device=self.probs.device)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        return values.expand((-1,) + tuple(self.batch_shape)) if expand else values


class OneHotCategorical(Distribution):
    """A ``Categorical`` whose draws are one-hot vectors of length ``K``."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=False)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)
        new._categorical = self._categorical.expand(batch_shape)
        return new

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        return one_hot(self._categorical.mode, self._categorical._num_events).to(self.probs.dtype)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=(), *, rng=None, generator=None):
        index = self._categorical.sample(sample_shape, rng=rng, generator=generator)
        return one_hot(index, self._categorical._num_events).to(self.probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(argmax(value, dim=-1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True):
        n = self._categorical._num_events
        values = eye(n, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        return values.expand((n,) + tuple(self.batch_shape) + (n,)) if expand else values


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """A OneHotCategorical whose ``rsample`` is the one-hot draw in the forward pass with the
    gradient of ``probs`` (the straight-through estimator of Bengio et al., 2013)."""

    has_rsample = True

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        samples = self.sample(sample_shape, rng=rng, generator=generator)
        probs = self._categorical.probs
        return samples + (probs - probs.detach())
