"""Continuous relaxations of Bernoulli and one-hot categorical draws (Concrete / Gumbel-softmax):
reparameterised samples in (0, 1) and on the simplex whose sharpness ``temperature`` sets."""

from __future__ import annotations

import math
import numbers

from ..autograd import Tensor, tensor
from ..ops import log, log1p, logsumexp
from . import constraints
from ._utils import draw, finfo, softplus
from .discrete import Bernoulli, Categorical
from .distribution import Distribution
from .transformed import TransformedDistribution
from .transforms import ExpTransform, SigmoidTransform

__all__ = ["ExpRelaxedCategorical", "LogitRelaxedBernoulli", "RelaxedBernoulli",
           "RelaxedOneHotCategorical"]


def _temperature(temperature, dist):
    """``temperature`` as a Tensor of the parameters' dtype (a number is converted)."""
    param = dist.__dict__.get("probs", dist.__dict__.get("logits"))
    if isinstance(temperature, Tensor):
        return temperature
    if not isinstance(temperature, numbers.Real) or isinstance(temperature, bool):
        raise TypeError(f"temperature must be a Tensor or a number, got "
                        f"{type(temperature).__name__}")
    return tensor(float(temperature), dtype=param.dtype, device=param.device)


class LogitRelaxedBernoulli(Distribution):
    """The logit of a RelaxedBernoulli draw: ``(logits + logistic noise) / temperature``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    has_rsample = True
    _not_expanded = ("temperature",)

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        # the parameters are checked here, so that an error names this distribution
        self._bernoulli = Bernoulli(probs, logits, validate_args=False)
        self.temperature = _temperature(temperature, self._bernoulli)
        super().__init__(self._bernoulli.batch_shape, (), validate_args=validate_args)
        self._bernoulli._validate_args = self._validate_args

    def _not_given(self, param):
        return param not in self._bernoulli.__dict__

    def __repr__(self):
        inner = repr(self._bernoulli)
        return type(self).__name__ + inner[inner.index("("):]

    @property
    def param_shape(self):
        return self._bernoulli.param_shape

    @property
    def probs(self):
        return self._bernoulli.probs

    @property
    def logits(self):
        return self._bernoulli.logits

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)
        new._bernoulli = self._bernoulli.expand(batch_shape)
        return new

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        shape = self._extended_shape(sample_shape)
        info = finfo(self.logits.dtype)
        u = draw("LogitRelaxedBernoulli.rsample", rng, generator, "random", shape, self.logits)
        u = u.clamp(min=info.eps, max=1 - info.eps)
        return (self.logits + log(u) - log1p(-u)) / self.temperature

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = self.logits - value * self.temperature
        return log(self.temperature) + diff - 2 * softplus(diff)


class RelaxedBernoulli(TransformedDistribution):
    """A relaxed coin: ``sigmoid`` of a LogitRelaxedBernoulli draw, in (0, 1)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = LogitRelaxedBernoulli(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs


class ExpRelaxedCategorical(Distribution):
    """The log of a RelaxedOneHotCategorical draw: Gumbel-perturbed logits over temperature,
    normalised with logsumexp."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True
    _not_expanded = ("temperature",)

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=False)
        self.temperature = _temperature(temperature, self._categorical)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)
        self._categorical._validate_args = self._validate_args

    def _not_given(self, param):
        return param not in self._categorical.__dict__

    def __repr__(self):
        inner = repr(self._categorical)
        return type(self).__name__ + inner[inner.index("("):]

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)
        new._categorical = self._categorical.expand(batch_shape)
        return new

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        shape = self._extended_shape(sample_shape)
        info = finfo(self.logits.dtype)
        u = draw("ExpRelaxedCategorical.rsample", rng, generator, "random", shape, self.logits)
        # clamped to [eps, 1 - eps] as PyTorch's clamp_probs does
        gumbels = -log(-log(u.clamp(min=info.eps, max=1 - info.eps)))
        scores = (self.logits + gumbels) / self.temperature
        return scores - logsumexp(scores, dim=-1, keepdim=True)

    def log_prob(self, value):
        k = self._categorical._num_events
        if self._validate_args:
            self._validate_sample(value)
        log_scale = math.lgamma(k) + (k - 1) * log(self.temperature)
        score = self.logits - value * self.temperature
        score = (score - logsumexp(score, dim=-1, keepdim=True)).sum(-1)
        return score + log_scale


class RelaxedOneHotCategorical(TransformedDistribution):
    """A relaxed one-hot draw on the simplex (Gumbel-softmax): ``exp`` of an
    ExpRelaxedCategorical draw."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs
