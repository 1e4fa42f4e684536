"""The closed-form KL divergences PyTorch registers between different families (Beta from a
Normal, a Uniform from a Gumbel...) and within the families of continuous_more.py and
transformed_more.py. A pair whose q puts no mass where p does is infinite."""

from __future__ import annotations

import math

from ..ops import erf, exp, full_like, log, log1p, where
from ._special import digamma, lgamma
from .continuous import Exponential, Laplace, Normal, Uniform
from .continuous_more import ContinuousBernoulli
from .discrete import Bernoulli
from .exp_family import ExponentialFamily, kl_expfamily_expfamily
from .gamma import Beta, Binomial, Gamma, Poisson
from .kl import kl_divergence, register_kl
from .transformed import TransformedDistribution
from .transformed_more import Gumbel, Pareto

__all__: list = []

_EULER = 0.57721566490153286061


def _infinite(*types_p, into=()):
    """Register KL(p || q) = inf for each p type and q type in ``into``."""
    def fn(p, q):
        return full_like(p.mean, math.inf)

    for tp in types_p:
        for tq in into:
            register_kl(tp, tq)(fn)


_infinite(Poisson, into=(Bernoulli, Binomial))
_infinite(Beta, into=(Pareto,))
_infinite(ContinuousBernoulli, into=(Pareto,))
_infinite(Exponential, Gamma, into=(Beta, ContinuousBernoulli, Pareto, Uniform))
_infinite(Gumbel, into=(Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform))
_infinite(Laplace, Normal, into=(Beta, ContinuousBernoulli, Exponential, Gamma, Pareto,
                                 Uniform))
_infinite(Pareto, into=(Beta, ContinuousBernoulli, Uniform))


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    # log q(k) = k log(rate) - rate for k in {0, 1}
    return -p.entropy() - (p.probs * log(q.rate) - q.rate)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p, q):
    # the same bijection applied to both leaves the divergence unchanged
    if p.transforms != q.transforms:
        raise NotImplementedError("KL between TransformedDistributions of different transforms "
                                  "is not implemented")
    if p.event_shape != q.event_shape:
        raise NotImplementedError("KL between TransformedDistributions of different event "
                                  "shapes is not implemented")
    return kl_divergence(p.base_dist, q.base_dist)


def _x_log_x(x):
    """x log x, 0 at x = 0 (PyTorch's gives NaN there)."""
    return x * log(where(x == 0, 1.0, x))


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_cb_cb(p, q):
    return (p.mean * (p.logits - q.logits) + p._cont_bern_log_norm() + log1p(-p.probs)
            - q._cont_bern_log_norm() - log1p(-q.probs))


def _cross_cb(p, q):
    """-H(p) - E_p[log q] for a ContinuousBernoulli q on [0, 1]."""
    return -p.entropy() - p.mean * q.logits - log1p(-q.probs) - q._cont_bern_log_norm()


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_cb(p, q):
    return _cross_cb(p, q)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_cb(p, q):
    return where((p.high > 1) | (p.low < 0), math.inf, _cross_cb(p, q))


@register_kl(ContinuousBernoulli, Exponential)
def _kl_cb_exponential(p, q):
    return -p.entropy() - log(q.rate) + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _kl_cb_normal(p, q):
    t2 = 0.5 * (math.log(2.0 * math.pi) + (q.loc / q.scale) ** 2) + log(q.scale)
    t3 = (p.variance + p.mean ** 2 - 2.0 * q.loc * p.mean) / (2.0 * q.scale ** 2)
    return -p.entropy() + t2 + t3


@register_kl(ContinuousBernoulli, Uniform)
def _kl_cb_uniform(p, q):
    # PyTorch's rule: infinite unless q's interval strictly contains [0, 1]
    return where((q.low >= 0) | (q.high <= 1), math.inf, -p.entropy() + log(q.high - q.low))


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    ct1, ct2, ct3 = p.scale / q.scale, q.loc / q.scale, p.loc / q.scale
    return (-log(ct1) - ct2 + ct3 + ct1 * _EULER + exp(ct2 + lgamma(1 + ct1) - ct3)
            - (1 + _EULER))


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p, q):
    ratio = p.scale / q.scale
    t1 = log(ratio / math.sqrt(2 * math.pi))
    t2 = (math.pi * ratio * 0.5) ** 2 / 3
    t3 = ((p.loc + p.scale * _EULER - q.loc) / q.scale) ** 2 * 0.5
    return -t1 + t2 + t3 - (_EULER + 1)


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p, q):
    prod, ratio = p.rate * q.scale, q.loc / q.scale
    return log(prod) - 1 - ratio + exp(ratio) * prod / (prod + 1) + 1 / prod


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    a, prod, ratio = p.concentration, p.rate * q.scale, q.loc / q.scale
    t1 = (a - 1) * digamma(a) - lgamma(a) - a
    t2 = log(prod) + a / prod
    t3 = exp(ratio) * (1 + 1 / prod) ** (-a) - ratio
    return t1 + t2 + t3


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p, q):
    mean_ratio, var_ratio, loc_ratio = p.loc / q.scale, (p.scale / q.scale) ** 2, q.loc / q.scale
    return (-0.5 * log(var_ratio) + mean_ratio - loc_ratio
            + exp(-mean_ratio + 0.5 * var_ratio + loc_ratio)
            - 0.5 * (1 + math.log(2 * math.pi)))


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p, q):
    common = q.scale / (p.high - p.low)
    high, low = (p.high - q.loc) / q.scale, (p.low - q.loc) / q.scale
    return log(common) + 0.5 * (high + low) - common * (exp(-high) - exp(-low))


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    alpha_ratio = q.alpha / p.alpha
    kl = q.alpha * log(p.scale / q.scale) - log(alpha_ratio) + alpha_ratio - 1
    return where(p.scale < q.scale, math.inf, kl)


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p, q):
    a = where(p.alpha > 1, p.alpha, 2.0)  # the mean is infinite at alpha <= 1
    prod = p.scale * q.rate
    kl = log(a / prod) - 1 / a + a * prod / (a - 1) - 1
    return where(p.alpha > 1, kl, math.inf)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p, q):
    a = where(p.alpha > 1, p.alpha, 2.0)
    common = log(p.scale) + 1 / a
    kl = (log(a) - common + lgamma(q.concentration) - q.concentration * log(q.rate)
          + (1 - q.concentration) * common + q.rate * a * p.scale / (a - 1) - 1)
    return where(p.alpha > 1, kl, math.inf)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p, q):
    a = where(p.alpha > 2, p.alpha, 3.0)  # the variance is infinite at alpha <= 2
    var_normal = 2 * q.scale ** 2
    common = p.scale / (a - 1)
    t1 = log(math.sqrt(2 * math.pi) * q.scale * a / p.scale)
    t3 = a * common ** 2 / (a - 2)
    t4 = (a * common - q.loc) ** 2
    return where(p.alpha > 2, t1 - 1 / a + (t3 + t4) / var_normal - 1, math.inf)


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p, q):
    width = p.high - p.low
    t1 = log(q.alpha * q.scale ** q.alpha * width)
    t2 = (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    return where(p.low < q.scale, math.inf, t2 * (q.alpha + 1) - t1)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    mean = p.concentration1 / (p.concentration1 + p.concentration0)
    return -p.entropy() - log(q.rate) + q.rate * mean


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    a, b = p.concentration1, p.concentration0
    t2 = lgamma(q.concentration) - q.concentration * log(q.rate)
    t3 = (q.concentration - 1) * (digamma(a) - digamma(a + b))
    return -p.entropy() + t2 - t3 + q.rate * a / (a + b)


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    a, b = p.concentration1, p.concentration0
    mean = a / (a + b)
    var_normal = q.scale ** 2
    t2 = 0.5 * log(var_normal * 2 * math.pi)
    t3 = (mean * (1 - mean) / (a + b + 1) + mean ** 2) * 0.5
    return -p.entropy() + t2 + (t3 - q.loc * mean + q.loc ** 2 * 0.5) / var_normal


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    return where((q.low > 0) | (q.high < 1), math.inf, -p.entropy() + log(q.high - q.low))


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    ratio = q.rate / p.rate
    return (-q.concentration * log(ratio) + ratio + lgamma(q.concentration)
            + q.concentration * _EULER - (1 + _EULER))


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    var_normal, rate_sqr = q.scale ** 2, p.rate ** 2
    t1 = 0.5 * log(rate_sqr * var_normal * 2 * math.pi)
    return t1 - 1 + (1 / rate_sqr - q.loc / p.rate + q.loc ** 2 * 0.5) / var_normal


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() - log(q.rate) + q.rate * p.concentration / p.rate


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    a, var_normal, beta_sqr = p.concentration, q.scale ** 2, p.rate ** 2
    t1 = 0.5 * log(beta_sqr * var_normal * 2 * math.pi) - a - lgamma(a)
    t2 = 0.5 * (a ** 2 + a) / beta_sqr
    t3 = q.loc * a / p.rate
    return t1 + (a - 1) * digamma(a) + (t2 - t3 + 0.5 * q.loc ** 2) / var_normal


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    var_normal = q.scale ** 2
    ratio = p.scale ** 2 / var_normal
    t1 = 0.5 * log(2 * ratio / math.pi)
    return -t1 + ratio + 0.5 * (p.loc - q.loc) ** 2 / var_normal - 1


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    diff = p.loc - q.loc
    z = diff / p.scale
    t2 = math.sqrt(2 / math.pi) * p.scale * exp(-0.5 * z ** 2)
    t3 = diff * erf(math.sqrt(0.5) * z)
    return -log(p.scale / q.scale) + (t2 + t3) / q.scale - 0.5 * (1 + math.log(0.5 * math.pi))


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    width = p.high - p.low
    a, b = q.concentration1, q.concentration0
    t2 = (a - 1) * (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    t3 = (b - 1) * (_x_log_x(1 - p.high) - _x_log_x(1 - p.low) + width) / width
    t4 = lgamma(a) + lgamma(b) - lgamma(a + b)
    return where((p.high > 1) | (p.low < 0), math.inf, t3 + t4 - log(width) - t2)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    kl = q.rate * (p.high + p.low) / 2 - log((p.high - p.low) * q.rate)
    return where(p.low < 0, math.inf, kl)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    width = p.high - p.low
    t2 = lgamma(q.concentration) - q.concentration * log(q.rate)
    t3 = (1 - q.concentration) * (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    kl = -log(width) + t2 + t3 + q.rate * (p.high + p.low) / 2
    return where(p.low < 0, math.inf, kl)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    width = p.high - p.low
    t1 = log(math.sqrt(math.pi * 2) * q.scale / width)
    return t1 + 0.5 * (width ** 2 / 12 + ((p.high + p.low - 2 * q.loc) / 2) ** 2) / q.scale ** 2


# two members of one exponential family without a closed form: the Bregman divergence
register_kl(ExponentialFamily, ExponentialFamily)(kl_expfamily_expfamily)
