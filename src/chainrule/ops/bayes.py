"""A Gaussian weight posterior's sample and its KL from a Gaussian prior, as one node.

Bayes by Backprop (Blundell et al., 2015) keeps a mean ``mu`` and ``rho`` per weight, with scale
``sigma = softplus(rho)``, and draws ``w = mu + sigma * eps`` for ``eps ~ N(0, 1)``. Its loss needs
the sample and ``KL(N(mu, sigma^2) || N(0, s^2))``; both read ``sigma``, and the gradient of both
with respect to ``rho`` goes through ``sigmoid(rho)``. Composed of ops that is a softplus (and its
sigmoid) per use and a node and an array per term; here it is one node with two outputs:

    w  = mu + sigma * eps                     dL/dmu    = g_w + g_kl * mu / s^2
    kl = sum(log s - log sigma                dL/dsigma = g_w * eps + g_kl * (sigma / s^2 - 1/sigma)
             + (sigma^2 + mu^2) / 2s^2 - 1/2) dL/drho   = dL/dsigma * sigmoid(rho)

Without ``eps`` the first output is ``sigma`` itself (``dL/dsigma = g_sigma + g_kl * (...)``):
local reparameterization samples pre-activations from ``sigma`` instead of weights.

The backward reads the arrays forward computed (``sigma``, ``sigmoid(rho)``) and the KL's
derivatives from ``kernels.bayes``. Under ``create_graph`` the engine differentiates
``composite`` instead, the two formulas above written with recorded ops, so that a second
derivative reaches ``rho`` through them too.
"""

from __future__ import annotations

import math

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend.random import note_draw
from ..kernels import K
from .activation import softplus
from .elementwise import log
from .reduce import sum as _sum

__all__ = ["gaussian_sample", "standard_normal"]


class GaussianSample(Function):
    """``(mu + softplus(rho) * eps, KL)``, or ``(softplus(rho), KL)`` without ``eps``."""

    def forward(self, mu, rho, eps=None):
        derivative = self.recording and self.needs_input_grad[1]
        sigma, self.dsigma = K.softplus_and_slope(rho, derivative=derivative)
        kl = K.gaussian_kl(mu, sigma, self.prior_sigma)
        if self.recording:
            self.sigma = sigma
        if eps is None:
            return sigma, kl
        return K.gaussian_draw(mu, sigma, eps), kl

    def backward(self, g_out, g_kl):
        mu = self.inputs[0]
        dsigma = None if self.dsigma is None else Tensor(self.dsigma)
        kl_mu, kl_sigma = (Tensor(a) for a in
                           K.gaussian_kl_grads(mu._data, self.sigma, self.prior_sigma))
        g_mu = g_sigma = None
        if self.needs_input_grad[0]:
            g_mu = g_kl * kl_mu
            if len(self.inputs) == 3:
                g_mu = g_out + g_mu
        if self.needs_input_grad[1]:
            g_sigma = g_kl * kl_sigma
            g_sigma = g_sigma + (g_out * self.inputs[2] if len(self.inputs) == 3 else g_out)
            g_sigma = g_sigma * dsigma
        return (g_mu, g_sigma) if len(self.inputs) == 2 else (g_mu, g_sigma, None)

    def composite(self, mu, rho, eps=None):
        """The same formulas as recorded ops, for ``create_graph``."""
        s = self.prior_sigma
        sigma = softplus(rho)
        kl = _sum(math.log(s) - log(sigma) + (sigma * sigma + mu * mu) / (2 * s * s) - 0.5)
        return (sigma if eps is None else mu + sigma * eps), kl


def gaussian_sample(mu, rho, eps=None, *, prior_sigma: float):
    """A sample of ``N(mu, softplus(rho)^2)`` by reparameterization, and its KL from the prior.

    Args:
        mu: the means (a Tensor, any shape).
        rho: the scales' pre-images, ``sigma = softplus(rho)``; the shape of ``mu``.
        eps: standard normal noise of that shape (an array or Tensor, a constant), or None to
            return ``sigma`` instead of a sample.
        prior_sigma: the standard deviation of the prior ``N(0, prior_sigma^2)`` (> 0).

    Returns:
        ``(w, kl)``: ``mu + sigma * eps`` (or ``sigma``) and the KL divergence summed over all
        elements, a 0-d Tensor; both differentiable with respect to ``mu`` and ``rho``.

    >>> import chainrule as cr
    >>> w, kl = gaussian_sample(cr.tensor([0.0]), cr.tensor([0.5413]), cr.tensor([2.0]),
    ...                         prior_sigma=1.0)
    >>> round(w.item(), 3), round(kl.item(), 6)
    (2.0, 0.0)
    """
    if not (isinstance(prior_sigma, (int, float)) and not isinstance(prior_sigma, bool)
            and math.isfinite(prior_sigma) and prior_sigma > 0):
        raise ValueError(f"gaussian_sample: prior_sigma must be a finite number > 0, "
                         f"got {prior_sigma!r}")
    for name, t in (("mu", mu), ("rho", rho), ("eps", eps)):
        if t is None:
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"gaussian_sample: {name} must be a Tensor, got {type(t).__name__}")
        if t.shape != mu.shape or t.dtype != mu.dtype or t.dtype.kind != "f":
            raise ValueError(f"gaussian_sample: {name} must be a float Tensor of mu's shape "
                             f"{mu.shape} and dtype {mu.dtype}, got shape {t.shape}, "
                             f"dtype {t.dtype}")
    inputs = (mu, rho) if eps is None else (mu, rho, eps)
    return GaussianSample.apply(*inputs, prior_sigma=float(prior_sigma))


def standard_normal(rng, shape, dtype):
    """An array of standard normal deviates (a constant: noise for ``gaussian_sample``).

    Drawn from the numpy Generator ``rng`` by the Box-Muller transform of its uniforms
    (``kernels.bayes.standard_normal``: several times faster than ``rng.standard_normal``).
    """
    note_draw(rng)
    return K.standard_normal(rng, tuple(shape), dtype)
