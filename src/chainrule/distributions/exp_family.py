"""PyTorch's ``ExponentialFamily``: the base of the distributions whose density is
``exp(<t(x), theta> - F(theta) + k(x))``. A family names its natural parameters ``theta``
(``_natural_params``), its log normalizer ``F`` (``_log_normalizer``) and the expected carrier
measure ``E[k(x)]`` (``_mean_carrier_measure``); the entropy and the KL divergence between two
members of one family then follow from ``F`` and its gradient (Bregman divergences), which
autograd computes. The families override ``entropy`` with their closed forms; these generic ones
serve a family defined by the user and check the closed forms in the tests.

>>> import chainrule as cr
>>> from chainrule.distributions import ExponentialFamily, Normal
>>> d = Normal(cr.tensor(0.0), cr.tensor(2.0))
>>> isinstance(d, ExponentialFamily)
True
>>> round(ExponentialFamily.entropy(d).item(), 6) == round(d.entropy().item(), 6)
True
"""

from __future__ import annotations

from ..autograd import enable_grad, grad
from ._utils import sum_rightmost
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


def _natural_leaves(dist):
    """The natural parameters of ``dist`` as fresh leaves that require grad."""
    return [p.detach().requires_grad_() for p in dist._natural_params]


def _grad_of_normalizer(dist, params):
    """``F(params)`` and its gradient with respect to each parameter, kept differentiable."""
    with enable_grad():
        value = dist._log_normalizer(*params)
        grads = grad(value.sum(), params, create_graph=True)
    return value, grads


class ExponentialFamily(Distribution):
    """Abstract base of the exponential families (Normal, Bernoulli, Beta, Gamma, ...)."""

    @property
    def _natural_params(self):
        """The natural parameters ``theta``, a tuple of Tensors."""
        raise NotImplementedError(f"{type(self).__name__} does not define _natural_params")

    def _log_normalizer(self, *natural_params):
        """The log normalizer ``F(theta)`` of the given natural parameters."""
        raise NotImplementedError(f"{type(self).__name__} does not define _log_normalizer")

    @property
    def _mean_carrier_measure(self):
        """The expected carrier measure ``E[k(x)]``, needed by the generic entropy."""
        raise NotImplementedError(f"{type(self).__name__} does not define "
                                  f"_mean_carrier_measure")

    def entropy(self):
        """``F(theta) - <theta, grad F(theta)> - E[k(x)]``, the gradient taken by autograd (the
        result is not differentiable with respect to the distribution's parameters, as in
        PyTorch, whose version detaches them too)."""
        result = -self._mean_carrier_measure
        params = _natural_leaves(self)
        value, grads = _grad_of_normalizer(self, params)
        result = result + value
        for p, g in zip(params, grads):
            result = result - sum_rightmost(p * g, (p * g).ndim - len(self._batch_shape))
        return result


def kl_expfamily_expfamily(p, q):
    """The Bregman divergence of the log normalizer: KL(p || q) for two members of one family
    (registered by ``kl_more`` for every pair of ExponentialFamily types; different families
    raise NotImplementedError, as in PyTorch)."""
    if type(p) is not type(q):
        raise NotImplementedError(f"The cross KL-divergence between different exponential "
                                  f"families cannot be computed using Bregman divergences "
                                  f"(got {type(p).__name__} and {type(q).__name__})")
    p_params = _natural_leaves(p)
    q_params = q._natural_params
    value, grads = _grad_of_normalizer(p, p_params)
    result = q._log_normalizer(*q_params) - value
    n = len(q.event_shape)
    for pn, qn, g in zip(p_params, q_params, grads):
        term = (qn - pn) * g
        if n:
            term = sum_rightmost(term, n)
        result = result - term
    return result
