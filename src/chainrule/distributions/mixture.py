"""MixtureSameFamily: a Categorical choice among components of one family."""

from __future__ import annotations

from ..autograd import no_grad
from ..ops import log_softmax, logsumexp
from . import constraints
from .discrete import Categorical
from .distribution import Distribution, draw_from

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    """A mixture whose weights are ``mixture_distribution`` (a Categorical over K) and whose
    components are the last batch dimension (of size K) of ``component_distribution``."""

    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(f"The Mixture distribution needs to be an instance of "
                             f"torch.distributions.Categorical, got "
                             f"{type(mixture_distribution).__name__}")
        if not isinstance(component_distribution, Distribution):
            raise ValueError(f"The Component distribution needs to be an instance of "
                             f"torch.distributions.Distribution, got "
                             f"{type(component_distribution).__name__}")
        mix_batch = tuple(mixture_distribution.batch_shape)
        comp_batch = tuple(component_distribution.batch_shape)
        # The weights may be shared along leading batch dimensions (a mixture batch_shape that
        # broadcasts to the components', as PyTorch accepts); one that would widen the
        # components' batch (where PyTorch's batch_shape and samples disagree) is refused.
        if len(comp_batch) < 1 or len(mix_batch) > len(comp_batch) - 1 or any(
                a != b and a != 1 for a, b in zip(reversed(mix_batch),
                                                  reversed(comp_batch[:-1]))):
            raise ValueError(f"`mixture_distribution.batch_shape` ({mix_batch}) is not "
                             f"compatible with `component_distribution.batch_shape` "
                             f"({comp_batch}): it must broadcast to "
                             f"{comp_batch[:-1]}")
        k = mixture_distribution.logits.shape[-1]
        if comp_batch[-1] != k:
            raise ValueError(f"`mixture_distribution component` ({k}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({comp_batch[-1]})")
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._num_component = k
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(comp_batch[:-1], component_distribution.event_shape, validate_args)

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    @constraints.dependent_property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        batch_shape = tuple(batch_shape)
        new._component_distribution = self._component_distribution.expand(
            batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _pad_probs(self):
        probs = self._mixture_distribution.probs
        return probs.reshape(tuple(probs.shape) + (1,) * self._event_ndims)

    @property
    def mean(self):
        return (self._pad_probs() * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        probs = self._pad_probs()
        dim = -1 - self._event_ndims
        comp = self._component_distribution
        mean_cond_var = (probs * comp.variance).sum(dim)
        spread = comp.mean - self.mean.unsqueeze(dim)
        return mean_cond_var + (probs * spread * spread).sum(dim)

    def cdf(self, x):
        x = x.unsqueeze(-1 - self._event_ndims)
        return (self._component_distribution.cdf(x) * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        if self._validate_args:
            self._validate_sample(x)
        x = x.unsqueeze(-1 - self._event_ndims)
        log_prob_x = self._component_distribution.log_prob(x)
        log_mix = log_softmax(self._mixture_distribution.logits, dim=-1)
        return logsumexp(log_prob_x + log_mix, dim=-1)

    def sample(self, sample_shape=(), *, rng=None, generator=None):
        with no_grad():
            index = self._mixture_distribution.sample(sample_shape, rng=rng, generator=generator)
            comp = draw_from(self._component_distribution.sample, sample_shape, rng, generator)
            # weights shared over leading batch dimensions: the choice broadcast over them
            n_sample = comp.ndim - 1 - self._event_ndims - len(self.batch_shape)
            mix_batch = tuple(self._mixture_distribution.batch_shape)
            index = index.reshape(tuple(index.shape[:n_sample]) + (1,) * (
                len(self.batch_shape) - len(mix_batch)) + mix_batch)
            index = index.expand(tuple(comp.shape[:n_sample]) + tuple(self.batch_shape))
            gather_dim = comp.ndim - 1 - self._event_ndims
            index = index.reshape(tuple(index.shape) + (1,) * (self._event_ndims + 1))
            index = index.expand(tuple(index.shape[: gather_dim]) + (1,) + tuple(
                comp.shape[gather_dim + 1:]))
            return comp.gather(gather_dim, index).squeeze(gather_dim)

    def __repr__(self):
        return (f"MixtureSameFamily(\n  {self._mixture_distribution!r},\n  "
                f"{self._component_distribution!r})")
