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
