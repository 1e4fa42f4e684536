"""Bayes by Backprop's layers: a Gaussian over every weight, sampled by reparameterization.

Each weight has a mean ``mu`` and a standard deviation ``sigma = softplus(rho)``; a forward pass in
training mode draws ``w = mu + sigma * eps`` with ``eps ~ N(0, 1)`` from the layer's generator, so
the gradient reaches ``mu`` and ``rho`` through ordinary ops (Blundell et al., 2015). With
``local_reparameterization`` it draws the pre-activations instead, ``N(x mu^T, x^2 sigma^2 T)``,
which has lower-variance gradients (Kingma, Salimans & Welling, 2015). ``kl()`` is the layer's
KL divergence from its prior: in closed form for a Gaussian prior, a one-sample reparameterized
estimate for Blundell's scale mixture ``pi N(0, s1^2) + (1 - pi) N(0, s2^2)``.

With the Gaussian prior a sampled pass draws each parameter pair's sample and its KL in one node
(``ops.bayes.gaussian_sample``: ``softplus(rho)`` once, one hand-written backward) and keeps that
KL with the node, so that a loss of the pass's output (``bayes.elbo_loss``, through
``bayes.kl_divergence(model, output)``) adds it without computing it again. ``kl()`` always
computes it from the parameters as they are now.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops import conv2d, linear, log, logsumexp, softplus, sqrt, stack
from ..ops import sum as total
from ..ops.bayes import gaussian_sample, standard_normal
from . import init
from ._checks import float_dtype, int_tuple, positive_int, resolve_rng
from .module import Module, Parameter

__all__ = ["BayesianConv2d", "BayesianLinear"]


def _finite_real(value) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def _check_prior(who: str, prior_sigma, prior_mixture, init_rho):
    if not (_finite_real(prior_sigma) and prior_sigma > 0):
        raise ValueError(f"{who}: prior_sigma must be > 0, got {prior_sigma!r} (a finite number "
                         "is needed)")
    if not _finite_real(init_rho):
        raise ValueError(f"{who}: init_rho must be a finite number, got {init_rho!r}")
    if prior_mixture is None:
        return None
    try:
        parts = tuple(prior_mixture)
    except TypeError:
        parts = ()
    if len(parts) != 3 or not all(_finite_real(v) for v in parts):
        raise ValueError(f"{who}: prior_mixture must be (pi, sigma1, sigma2), three finite "
                         f"numbers, got {prior_mixture!r}")
    pi, s1, s2 = parts
    if not (0 < pi < 1 and s1 > 0 and s2 > 0):
        raise ValueError(f"{who}: prior_mixture must be (pi, sigma1, sigma2) with 0 < pi < 1 "
                         f"and sigmas > 0, got {prior_mixture!r}")
    return (float(pi), float(s1), float(s2))


class _Bayesian(Module):
    """What every Bayes-by-Backprop layer shares: the parameters, the sampling, the KL."""

    def _setup(self, who, weight_shape, *, prior_sigma, prior_mixture, init_rho,
               local_reparameterization, rng, dtype):
        self.prior_mixture = _check_prior(who, prior_sigma, prior_mixture, init_rho)
        self.prior_sigma = float(prior_sigma)
        self.local_reparameterization = bool(local_reparameterization)
        self.sampling = False
        self._last_sample = None
        self.rng = resolve_rng(rng, who)
        dt = float_dtype(dtype, who)
        xp = get_array_module()
        out = weight_shape[0]
        self.weight_mu = Parameter(xp.empty(weight_shape, dtype=dt))
        self.weight_rho = Parameter(xp.full(weight_shape, init_rho, dtype=dt))
        self.bias_mu = Parameter(xp.zeros((out,), dtype=dt))
        self.bias_rho = Parameter(xp.full((out,), init_rho, dtype=dt))
        init.kaiming_uniform_(self.weight_mu, a=math.sqrt(5), rng=self.rng)

    def _affine(self, x, weight, bias):
        raise NotImplementedError

    def _noise(self, shape, like):
        # Box-Muller from the layer's generator, in the weights' dtype (kernels.bayes says why),
        # then on the weights' device.
        return get_array_module(like).asarray(standard_normal(self.rng, shape, like.dtype))

    def forward(self, x):
        self._last_sample = None
        if not (self.training or self.sampling):
            return self._affine(x, self.weight_mu, self.bias_mu)
        if self.prior_mixture is not None:
            return self._forward_composed(x)
        # One node per parameter pair draws the sample and the KL together (ops.bayes), sharing
        # softplus(rho); the KL is kept with the node, for a loss of this pass's output.
        prior, local = self.prior_sigma, self.local_reparameterization
        w_eps = b_eps = None
        if not local:
            w_eps = Tensor(self._noise(self.weight_mu.shape, self.weight_mu._data))
            b_eps = Tensor(self._noise(self.bias_mu.shape, self.bias_mu._data))
        w, w_kl = gaussian_sample(self.weight_mu, self.weight_rho, w_eps, prior_sigma=prior)
        b, b_kl = gaussian_sample(self.bias_mu, self.bias_rho, b_eps, prior_sigma=prior)
        if w._ctx is not None:
            self._last_sample = (w._ctx, w_kl + b_kl)
        if local:  # w and b are the scales here
            mean = self._affine(x, self.weight_mu, self.bias_mu)
            var = self._affine(x * x, w * w, b * b)
            return mean + sqrt(var) * self._noise(mean.shape, mean._data)
        return self._affine(x, w, b)

    def _forward_composed(self, x):
        w_sigma, b_sigma = softplus(self.weight_rho), softplus(self.bias_rho)
        if self.local_reparameterization:
            mean = self._affine(x, self.weight_mu, self.bias_mu)
            var = self._affine(x * x, w_sigma * w_sigma, b_sigma * b_sigma)
            return mean + sqrt(var) * self._noise(mean.shape, mean._data)
        w = self.weight_mu + w_sigma * self._noise(self.weight_mu.shape, self.weight_mu._data)
        b = self.bias_mu + b_sigma * self._noise(self.bias_mu.shape, self.bias_mu._data)
        return self._affine(x, w, b)

    def sample_kl(self, nodes):
        """The KL computed with the last sampled forward pass, if that pass's sample node is among
        ``nodes`` (ids of the nodes an output was computed from), else None.

        That pass read the parameters the output was computed from, so its KL belongs with the
        output whatever happened to the parameters since; a later change in place makes backward
        refuse both, as for any recorded op.
        """
        last = self.__dict__.get("_last_sample")
        if last is None or id(last[0]) not in nodes:
            return None
        return last[1]

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_last_sample"] = None  # a graph of the last pass is no state to copy or save
        return state

    def _pairs(self):
        return ((self.weight_mu, self.weight_rho), (self.bias_mu, self.bias_rho))

    def kl(self):
        """KL(q || prior) of all weights and biases, a scalar Tensor.

        Exact for the Gaussian prior; for the scale mixture, ``log q(w) - log p(w)`` at one
        reparameterized sample ``w ~ q`` (an unbiased estimate, as in Blundell et al.).
        """
        out = 0.0
        for mu, rho in self._pairs():
            if self.prior_mixture is None:
                out = out + gaussian_sample(mu, rho, prior_sigma=self.prior_sigma)[1]
                continue
            sigma = softplus(rho)
            eps = self._noise(mu.shape, mu._data)
            w = mu + sigma * eps
            log_q = total(-0.5 * math.log(2 * math.pi) - log(sigma) - 0.5 * eps * eps)
            pi, s1, s2 = self.prior_mixture
            comps = [math.log(p) - math.log(s) - 0.5 * math.log(2 * math.pi) - w * w / (2 * s * s)
                     for p, s in ((pi, s1), (1 - pi, s2))]
            out = out + log_q - total(logsumexp(stack(comps, axis=0), axis=0))
        return out


class BayesianLinear(_Bayesian):
    """A Linear layer with a factorized Gaussian posterior over its weight and bias.

    Args:
        in_features, out_features: sizes as in ``Linear``.
        prior_sigma: standard deviation of the Gaussian prior ``N(0, prior_sigma^2)``; or, with
            ``prior_mixture=(pi, sigma1, sigma2)``, Blundell's scale-mixture prior instead.
        init_rho: initial ``rho`` (``sigma = softplus(rho)``; -5 gives sigma ~ 0.0067).
        local_reparameterization: sample pre-activations instead of weights.
        rng: numpy Generator for the initial means and for every sample.

    A forward pass samples in training mode, or in eval mode when ``sampling`` is True
    (``chainrule.bayes.sample_predict`` sets it); otherwise it uses the means.
    """

    def __init__(self, in_features: int, out_features: int, *, prior_sigma: float = 1.0,
                 prior_mixture=None, init_rho: float = -5.0,
                 local_reparameterization: bool = False, rng=None, dtype=None):
        super().__init__()
        self.in_features = positive_int("BayesianLinear", "in_features", in_features)
        self.out_features = positive_int("BayesianLinear", "out_features", out_features)
        self._setup("BayesianLinear", (out_features, in_features),
                    prior_sigma=prior_sigma, prior_mixture=prior_mixture, init_rho=init_rho,
                    local_reparameterization=local_reparameterization, rng=rng, dtype=dtype)

    def _affine(self, x, weight, bias):
        return linear(x, weight, bias)

    def extra_repr(self) -> str:
        prior = (f"prior_mixture={self.prior_mixture}" if self.prior_mixture
                 else f"prior_sigma={self.prior_sigma:g}")
        return (f"in_features={self.in_features}, out_features={self.out_features}, {prior}, "
                f"local_reparameterization={self.local_reparameterization}")


class BayesianConv2d(_Bayesian):
    """A Conv2d layer with a factorized Gaussian posterior over its filters and bias.

    Args:
        in_channels, out_channels, kernel_size, stride, padding: as in ``Conv2d`` (no groups or
            dilation).
        prior_sigma, prior_mixture, init_rho, local_reparameterization, rng, dtype: as in
            ``BayesianLinear`` (local reparameterization samples every output pixel
            independently).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, *, stride=1, padding=0,
                 prior_sigma: float = 1.0, prior_mixture=None, init_rho: float = -5.0,
                 local_reparameterization: bool = False, rng=None, dtype=None):
        super().__init__()
        self.in_channels = positive_int("BayesianConv2d", "in_channels", in_channels)
        self.out_channels = positive_int("BayesianConv2d", "out_channels", out_channels)
        self.kernel_size = int_tuple("BayesianConv2d", "kernel_size", kernel_size, 2, 1)
        self.stride, self.padding = stride, padding
        self._setup("BayesianConv2d", (out_channels, in_channels, *self.kernel_size),
                    prior_sigma=prior_sigma, prior_mixture=prior_mixture, init_rho=init_rho,
                    local_reparameterization=local_reparameterization, rng=rng, dtype=dtype)

    def _affine(self, x, weight, bias):
        return conv2d(x, weight, bias, stride=self.stride, padding=self.padding)

    def extra_repr(self) -> str:
        prior = (f"prior_mixture={self.prior_mixture}" if self.prior_mixture
                 else f"prior_sigma={self.prior_sigma:g}")
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, {prior}, "
                f"local_reparameterization={self.local_reparameterization}")
