"""``Normal`` with float32 parameters (``Normal(0, 0.1)`` from Python numbers) scoring a float64
value: PyTorch rounds ``scale ** 2`` to float32 before the value meets it; chainrule divided by the
float32 scale instead, an answer 1e-8 away (found by the Bayes-by-backprop program)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


@pytest.mark.kernel_free
@pytest.mark.parametrize("scale", [0.1, 0.3, 1.7, 1.0])
def test_float32_parameters_and_a_float64_value_score_as_pytorch(scale):
    value = np.random.default_rng(3).standard_normal(7) * 0.5
    ours = cr.distributions.Normal(0.2, scale).log_prob(cr.tensor(value))
    theirs = torch.distributions.Normal(0.2, scale).log_prob(torch.tensor(value))
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-15, atol=1e-15)


@pytest.mark.kernel_free
def test_the_gradients_follow_pytorch_and_finite_differences():
    rng = np.random.default_rng(4)
    loc, scale, value = rng.standard_normal(5), rng.uniform(0.3, 2, 5), rng.standard_normal(5)
    ours = [cr.tensor(a, requires_grad=True) for a in (loc, scale, value)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (loc, scale, value)]
    cr.distributions.Normal(ours[0], ours[1]).log_prob(ours[2]).sum().backward()
    torch.distributions.Normal(theirs[0], theirs[1]).log_prob(theirs[2]).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-13, atol=1e-14)
    assert cr.autograd.gradcheck(
        lambda m, s, v: cr.distributions.Normal(m, s).log_prob(v),
        [cr.tensor(a, requires_grad=True) for a in (loc, scale, value)])
