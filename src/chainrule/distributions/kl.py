"""``kl_divergence(p, q)`` and the ``register_kl`` registry of closed forms.

The rule for a pair of types is the registered one whose types are the nearest ancestors of
``type(p)`` and ``type(q)`` (as in PyTorch); a pair with no rule raises NotImplementedError.
"""

from __future__ import annotations

import math

from ..ops import abs as _abs
from ..ops import broadcast_shapes, exp, log, where
from ..ops.decomp import solve
from ._utils import softplus, sum_rightmost
from .continuous import Exponential, Laplace, Normal, Uniform
from .discrete import Bernoulli, Categorical, OneHotCategorical
from .multivariate import Independent, MultivariateNormal

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY: dict = {}
_KL_MEMOIZE: dict = {}


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as the KL divergence of a ``type_p`` from a ``type_q``.

    >>> from chainrule.distributions import Normal, register_kl
    >>> class MyNormal(Normal): pass
    >>> @register_kl(MyNormal, MyNormal)
    ... def _kl_mine(p, q): return (p.loc - q.loc) ** 2
    """
    for t in (type_p, type_q):
        if not isinstance(t, type):
            raise TypeError(f"register_kl: expected a Distribution subclass, got {t!r}")

    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        _KL_MEMOIZE.clear()
        return fn

    return decorator


def _dispatch(type_p, type_q):
    mro_p, mro_q = type_p.__mro__, type_q.__mro__
    matches = [(mro_p.index(p) + mro_q.index(q), mro_p.index(p), p, q)
               for p, q in _KL_REGISTRY if p in mro_p and q in mro_q]
    if not matches:
        return None
    return _KL_REGISTRY[min(matches, key=lambda m: m[:2])[2:]]


def kl_divergence(p, q):
    """KL(p || q) = E_p[log p(x) - log q(x)], one value per batch element.

    Raises:
        NotImplementedError: when no closed form is registered for the pair of types.
    """
    key = (type(p), type(q))
    if key not in _KL_MEMOIZE:
        _KL_MEMOIZE[key] = _dispatch(*key)
    fn = _KL_MEMOIZE[key]
    if fn is None:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type "
                                  f"{type(p).__name__} and q type {type(q).__name__}")
    return fn(p, q)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - log(var_ratio))


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = where(p.probs == 0, 0.0, where(q.probs == 0, math.inf, t1))
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = where(p.probs == 1, 0.0, where(q.probs == 1, math.inf, t2))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    t = where(p.probs == 0, 0.0, where(q.probs == 0, math.inf, t))
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    result = log((q.high - q.low) / (p.high - p.low))
    return where((q.low > p.low) | (q.high < p.high), math.inf, result)


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    scale_ratio = p.scale / q.scale
    loc_abs_diff = _abs(p.loc - q.loc)
    return -log(scale_ratio) + loc_abs_diff / q.scale + scale_ratio * exp(
        -loc_abs_diff / p.scale) - 1


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    rate_ratio = q.rate / p.rate
    return -log(rate_ratio) + rate_ratio - 1


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError(f"KL between MultivariateNormals of different event shapes: "
                         f"{tuple(p.event_shape)} and {tuple(q.event_shape)}")
    n = p.event_shape[0]
    batch = tuple(broadcast_shapes(tuple(p.batch_shape), tuple(q.batch_shape))) + (n, n)
    # tr(Sq^-1 Sp) = |Lq^-1 Lp|_F^2; the Mahalanobis term is |Lq^-1 (mp - mq)|^2.
    m = solve(q._unbroadcasted_scale_tril.tril().expand(batch),
              p._unbroadcasted_scale_tril.expand(batch))
    trace = (m * m).sum((-2, -1))
    mahalanobis = q._mahalanobis(p.loc - q.loc)
    return q._half_log_det() - p._half_log_det() + 0.5 * (trace + mahalanobis - n)


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("KL between Independents of different "
                                  "reinterpreted_batch_ndims is not implemented")
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)
