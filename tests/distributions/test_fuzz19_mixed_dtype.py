"""Distributions with float32 parameters scoring float64 values agree with PyTorch to float64
rounding when PyTorch's own order of operations keeps the value's precision: ``Normal.cdf``
divided by ``scale * sqrt(2)`` rounded to float32 (an answer 4e-9 away, and so its gradient;
found by the mixture-of-experts program's load estimate, tests/compat/port19d_programs.py)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


@pytest.mark.kernel_free
@pytest.mark.parametrize("scale", [0.3, 1.0, 1.7])
def test_normal_cdf_of_float32_parameters_and_a_float64_value(scale):
    value = np.linspace(-3.0, 3.0, 13)
    out = []
    for lib in (cr, torch):
        x = lib.tensor(value, requires_grad=True)
        y = lib.distributions.Normal(lib.tensor([0.2]), lib.tensor([scale])).cdf(x)
        y.sum().backward()
        out.append((y.detach().numpy(), x.grad.numpy(), str(y.dtype).split(".")[-1]))
    (ours, our_grad, our_dtype), (theirs, their_grad, their_dtype) = out
    assert our_dtype == their_dtype == "float64"
    np.testing.assert_allclose(ours, theirs, rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-14, atol=1e-16)


@pytest.mark.kernel_free
def test_poisson_log_prob_uses_xlogy_in_the_promoted_dtype_and_its_gradients():
    """``Poisson.log_prob`` (and Gamma's, Dirichlet's) took ``log(rate)`` in the rate's float32
    before a float64 count met it (1.5e-8 away), and gave a zero count a zero gradient where
    PyTorch's ``xlogy`` gives ``log(rate)``."""
    counts = np.array([0.0, 1.0, 3.0, 0.0, 7.0])
    rate = np.float32([2.3, 0.4, 1.7, 5.0, 6.1])
    out = []
    for lib in (cr, torch):
        k = lib.tensor(counts, requires_grad=True)
        r = lib.tensor(rate, requires_grad=True)
        y = lib.distributions.Poisson(r).log_prob(k)
        y.sum().backward()
        out.append((y.detach().numpy(), k.grad.numpy(), r.grad.numpy()))
    for ours, theirs in zip(*out):
        np.testing.assert_allclose(ours, theirs, rtol=1e-14, atol=1e-15)
    euler_gamma = 0.5772156649015329  # -digamma(1), the lgamma(k + 1) term's share
    assert out[0][1][0] == pytest.approx(np.log(float(np.float32(2.3))) + euler_gamma, rel=1e-12)
