"""kernels.bayes: each fast route against its plain reference, and the Box-Muller deviates' law."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.kernels import bayes


@pytest.fixture(params=[np.float32, np.float64])
def dtype(request):
    return request.param


def _tol(dtype):
    return 2e-6 if dtype == np.float32 else 1e-14


def test_softplus_equals_the_reference_and_the_formula(rng, dtype):
    rho = np.concatenate([rng.uniform(-8, 3, 5000), [-60.0, -20.0, 0.0, 20.0, 60.0]]).astype(dtype)
    sigma, sig = bayes.softplus_and_slope(rho)
    ref_sigma, ref_sig = bayes.softplus_and_slope_reference(rho)
    assert sigma.dtype == sig.dtype == dtype
    np.testing.assert_allclose(sigma, ref_sigma, rtol=_tol(dtype), atol=0)
    np.testing.assert_allclose(sig, ref_sig, rtol=_tol(dtype), atol=0)
    exact = np.logaddexp(0, rho.astype(np.float64))  # log(1 + e^rho) without overflow
    np.testing.assert_allclose(sigma, exact, rtol=4 * _tol(dtype), atol=0)
    np.testing.assert_allclose(sig, 1 / (1 + np.exp(-rho.astype(np.float64))),
                               rtol=4 * _tol(dtype), atol=0)
    assert bayes.softplus_and_slope(rho, derivative=False)[1] is None
    assert np.isfinite(sigma).all() and (sigma > 0).all()


def test_sample_and_kl_equal_their_references(rng, dtype):
    mu = rng.standard_normal((40, 30)).astype(dtype)
    sigma = np.exp(rng.uniform(-5, 0, (40, 30))).astype(dtype)
    eps = rng.standard_normal((40, 30)).astype(dtype)
    np.testing.assert_allclose(bayes.gaussian_draw(mu, sigma, eps),
                               bayes.gaussian_draw_reference(mu, sigma, eps),
                               rtol=_tol(dtype), atol=_tol(dtype))
    kl = bayes.gaussian_kl(mu, sigma, 0.7)
    ref = bayes.gaussian_kl_reference(mu, sigma, 0.7)
    assert kl.dtype == ref.dtype == dtype and kl.shape == ()
    np.testing.assert_allclose(kl, ref, rtol=50 * _tol(dtype))
    m64, s64 = mu.astype(np.float64), sigma.astype(np.float64)
    analytic = np.sum(np.log(0.7 / s64) + (s64 ** 2 + m64 ** 2) / (2 * 0.49) - 0.5)
    np.testing.assert_allclose(ref, analytic, rtol=50 * _tol(dtype))
    for fast, slow in zip(bayes.gaussian_kl_grads(mu, sigma, 0.7),
                          bayes.gaussian_kl_grads_reference(mu, sigma, 0.7)):
        assert np.array_equal(fast, slow)


@pytest.mark.parametrize("shape", [(7,), (400, 784), (3, 5, 2), (1,), ()])
def test_standard_normal_equals_its_reference_bit_for_bit(dtype, shape):
    a = bayes.standard_normal(np.random.default_rng(3), shape, dtype)
    b = bayes.standard_normal_reference(np.random.default_rng(3), shape, dtype)
    assert a.shape == b.shape == shape and a.dtype == b.dtype == dtype
    assert np.array_equal(a, b)
    with cr.reference_mode():
        c = bayes.standard_normal(np.random.default_rng(3), shape, dtype)
    assert np.array_equal(a, c)


def test_standard_normal_has_the_normal_law(dtype):
    z = bayes.standard_normal(np.random.default_rng(0), (1_000_000,), dtype).astype(np.float64)
    se = 1 / math.sqrt(z.size)
    assert abs(z.mean()) < 4 * se
    assert abs(z.var() - 1) < 4 * math.sqrt(2) * se
    assert abs((z ** 3).mean()) < 4 * math.sqrt(15) * se
    assert abs((z ** 4).mean() - 3) < 4 * math.sqrt(96) * se
    # Probabilities of a few intervals against the normal CDF (standard errors of binomials).
    for a in (-2.5, -1.0, 0.0, 0.5, 2.0):
        p = 0.5 * (1 + math.erf(a / math.sqrt(2)))
        assert abs((z < a).mean() - p) < 5 * math.sqrt(p * (1 - p) / z.size)
    # The even and odd halves (cosines and sines of the same radii) are uncorrelated.
    h = z.size // 2
    assert abs(np.mean(z[:h] * z[h:])) < 4 * se * math.sqrt(2)


def test_standard_normal_other_dtypes_come_from_float64_uniforms():
    z = bayes.standard_normal(np.random.default_rng(1), (5,), np.float16)
    ref = bayes.standard_normal_reference(np.random.default_rng(1), (5,), np.float16)
    assert z.dtype == np.float16 and np.array_equal(z, ref)
