"""Array work of a Gaussian weight posterior (Bayes by Backprop): sampling and the closed-form KL.

A weight has a mean ``mu`` and a scale ``sigma = softplus(rho)``; a sample is ``mu + sigma * eps``.

References:

- ``softplus_and_slope_reference(rho) = (log1p(exp(-|rho|)) + max(rho, 0), sigmoid(rho))``: the
  scale and its derivative ``d sigma / d rho``, from ``exp(-|rho|)``, which never overflows;
- ``gaussian_draw_reference(mu, sigma, eps) = mu + sigma * eps``;
- ``gaussian_kl_reference(mu, sigma, s)``: KL(N(mu, sigma^2) || N(0, s^2)) summed over the weights,
  ``sum(log s - log sigma + (sigma^2 + mu^2) / (2 s^2) - 1/2)``;
- ``gaussian_kl_grads_reference(mu, sigma, s) = (mu / s^2, sigma / s^2 - 1 / sigma)``, its
  derivatives with respect to ``mu`` and ``sigma``;
- ``standard_normal_reference(rng, shape, dtype)``: ``eps ~ N(0, 1)`` by the Box-Muller transform
  of the generator's uniforms, ``sqrt(-2 log(1 - u1)) * (cos, sin)(2 pi u2)``.

The fast versions compute the same formulas with fewer temporaries (in-place passes) and the KL's
sums of squares as dot products; they agree with the references to rounding (the order of
summation differs), ``standard_normal`` bit for bit.

Why Box-Muller rather than ``Generator.standard_normal``: NumPy's ziggurat draws one deviate at a
time, while the transform is a few vectorized passes over uniforms, several times faster per
deviate (docs/performance.md), and a Bayes-by-Backprop step draws one deviate per weight.
PyTorch's CPU ``randn`` uses the same transform. In float32 the uniforms have 24 bits, so no
deviate exceeds ``sqrt(48 log 2) = 5.77`` in absolute value (a standard normal does with
probability 8e-9).
"""

from __future__ import annotations

import math

from ..backend import get_array_module

__all__ = ["gaussian_draw", "gaussian_draw_reference", "gaussian_kl", "gaussian_kl_grads",
           "gaussian_kl_grads_reference", "gaussian_kl_reference", "softplus_and_slope",
           "softplus_and_slope_reference", "standard_normal", "standard_normal_reference"]

_HOST = get_array_module()


def softplus_and_slope_reference(rho, *, derivative: bool = True):
    """``(softplus(rho), sigmoid(rho))``: the scale and its derivative, without overflow (the
    derivative None unless ``derivative``)."""
    xp = get_array_module(rho)
    e = xp.exp(-xp.abs(rho))
    sigma = xp.log1p(e) + xp.maximum(rho, 0)
    if not derivative:
        return sigma, None
    return sigma, xp.where(rho >= 0, 1 / (1 + e), e / (1 + e))


def softplus_and_slope(rho, *, derivative: bool = True):
    """``softplus_and_slope_reference`` in a few in-place passes; the derivative (second item) is
    None unless ``derivative``, so that a pass that records no backward does not compute it."""
    xp = get_array_module(rho)
    if xp is not _HOST or rho.dtype.kind != "f":
        return softplus_and_slope_reference(rho, derivative=derivative)
    e = xp.abs(rho)
    xp.negative(e, out=e)
    xp.exp(e, out=e)
    sigma = xp.log1p(e)
    sigma += xp.maximum(rho, 0)
    if not derivative:
        return sigma, None
    # sigmoid(rho) is 1 / (1 + e) for rho >= 0 and e / (1 + e) below; e <= 1, so the numerator is
    # max(e, [rho >= 0]), without a ``where`` (which NumPy runs element by element).
    onep = e + 1
    xp.maximum(e, rho >= 0, out=e)
    e /= onep
    return sigma, e


def gaussian_draw_reference(mu, sigma, eps):
    """A draw of the weights: ``mu + sigma * eps``."""
    return mu + sigma * eps


def gaussian_draw(mu, sigma, eps):
    """``gaussian_draw_reference`` with one temporary: ``sigma * eps``, then ``mu`` added in
    place."""
    xp = get_array_module(mu)
    if xp is not _HOST:
        return gaussian_draw_reference(mu, sigma, eps)
    w = xp.multiply(sigma, eps)
    w += mu
    return w


def gaussian_kl_reference(mu, sigma, prior_sigma: float):
    """KL(N(mu, sigma^2) || N(0, prior_sigma^2)) summed over all weights, a 0-d array."""
    xp = get_array_module(mu)
    s2 = prior_sigma * prior_sigma
    terms = math.log(prior_sigma) - xp.log(sigma) + (sigma * sigma + mu * mu) / (2 * s2) - 0.5
    return xp.asarray(terms.sum(), dtype=mu.dtype)


def gaussian_kl(mu, sigma, prior_sigma: float):
    """``gaussian_kl_reference`` as ``n (log s - 1/2) - sum(log sigma) + (|sigma|^2 + |mu|^2)
    / 2s^2``: one logarithm pass and two dot products instead of an array per term."""
    xp = get_array_module(mu)
    if xp is not _HOST or mu.dtype.kind != "f":
        return gaussian_kl_reference(mu, sigma, prior_sigma)
    m, s = mu.reshape(-1), sigma.reshape(-1)
    log_sigma = xp.log(s).sum()
    squares = xp.dot(s, s) + xp.dot(m, m)
    kl = (m.size * (math.log(prior_sigma) - 0.5) - log_sigma
          + squares / (2 * prior_sigma * prior_sigma))
    return xp.asarray(kl, dtype=mu.dtype)


def gaussian_kl_grads_reference(mu, sigma, prior_sigma: float):
    """The KL's derivatives ``(mu / s^2, sigma / s^2 - 1 / sigma)``."""
    s2 = prior_sigma * prior_sigma
    return mu / s2, sigma / s2 - 1 / sigma


def gaussian_kl_grads(mu, sigma, prior_sigma: float):
    """``gaussian_kl_grads_reference`` with the second array built in place (the same bits)."""
    xp = get_array_module(mu)
    if xp is not _HOST:
        return gaussian_kl_grads_reference(mu, sigma, prior_sigma)
    s2 = prior_sigma * prior_sigma
    d_sigma = xp.reciprocal(sigma)
    xp.negative(d_sigma, out=d_sigma)
    d_sigma += sigma / s2
    return mu / s2, d_sigma


def _uniforms(rng, n, dtype):
    """``n`` uniforms in [0, 1) in ``dtype``: the generator's own float32 or float64 draws."""
    xp = get_array_module()
    if dtype in (xp.float32, xp.float64):
        return rng.random(n, dtype=dtype)
    return rng.random(n).astype(dtype)


def standard_normal_reference(rng, shape, dtype):
    """Standard normal deviates of ``shape`` and ``dtype`` from ``rng`` by Box-Muller.

    The first half of ``2 * ceil(n / 2)`` uniforms gives the radii, the second half the angles;
    the first ``n`` of ``radius * cos`` then ``radius * sin`` are the deviates.
    """
    xp = get_array_module()
    dtype = xp.dtype(dtype)
    n = math.prod(shape)
    h = (n + 1) // 2
    u = _uniforms(rng, 2 * h, dtype)
    radius = xp.sqrt(-2 * xp.log(1 - u[:h]))
    angle = (2 * math.pi) * u[h:]
    return xp.concatenate([radius * xp.cos(angle), radius * xp.sin(angle)])[:n].reshape(shape)


def standard_normal(rng, shape, dtype):
    """``standard_normal_reference`` in place in the uniforms' array, one temporary (the cosines).

    The same operations in the same order, so the same bits.
    """
    xp = get_array_module()
    dtype = xp.dtype(dtype)
    if dtype.kind != "f":
        return standard_normal_reference(rng, shape, dtype)
    n = math.prod(shape)
    h = (n + 1) // 2
    u = _uniforms(rng, 2 * h, dtype)
    radius, angle = u[:h], u[h:]
    xp.subtract(1, radius, out=radius)
    xp.log(radius, out=radius)
    radius *= -2
    xp.sqrt(radius, out=radius)
    angle *= 2 * math.pi
    cos = xp.cos(angle)
    xp.sin(angle, out=angle)
    angle *= radius
    xp.multiply(radius, cos, out=radius)
    return u[:n].reshape(shape)
