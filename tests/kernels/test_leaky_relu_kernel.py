"""The leaky ReLU's compiled sweeps (kernels/leaky_relu.py) against their NumPy references: the
same bits, in both memory orders, with NaN, infinities and signed zeros; and the op's gradients
through them (gradcheck, gradgradcheck, PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import jit
from chainrule.kernels import leaky_relu as kl

pytest.importorskip("numba")
pytestmark = pytest.mark.fast_kernels


def _values(rng, shape, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    flat[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, np.finfo(dtype).tiny]
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [0.2, 0.01, 1.0])
@pytest.mark.parametrize("order", ["C", "F"])
def test_leaky_relu_and_its_gradient_equal_the_references(rng, dtype, slope, order):
    x = np.asarray(_values(rng, (128, 80), dtype), order=order)
    assert x.size >= kl._FROM  # the compiled route
    y = kl.leaky_relu(x, slope)
    ref = kl.leaky_relu_reference(x, slope)
    assert y.tobytes() == ref.tobytes() and y.strides == x.strides
    g = np.asarray(rng.standard_normal(x.shape).astype(dtype), order=order)
    got = kl.leaky_relu_grad(g, y, slope)
    assert got.tobytes() == kl.leaky_relu_grad_reference(g, y, slope).tobytes()


def test_other_slopes_and_layouts_take_the_reference(rng, monkeypatch):
    calls = []
    monkeypatch.setattr(jit, "leaky_relu", lambda *a: calls.append(a))
    x = rng.standard_normal((100, 100)).astype(np.float32)
    for slope in (-0.5, 2.0):  # where() routes
        assert kl.leaky_relu(x, slope).tobytes() == kl.leaky_relu_reference(x, slope).tobytes()
    kl.leaky_relu(x[:, ::2], 0.2)  # not dense
    assert calls == []


def test_the_op_through_the_kernels_matches_torch_and_gradchecks(rng, monkeypatch):
    monkeypatch.setattr(kl, "_FROM", 1)  # the compiled route for gradcheck's small input
    x = cr.tensor(rng.standard_normal((6, 5)), requires_grad=True)
    for slope in (0.2, -0.3):
        assert cr.gradcheck(lambda t, s=slope: cr.F.leaky_relu(t, s), [x])
        assert cr.gradgradcheck(lambda t, s=slope: cr.F.leaky_relu(t, s), [x])
    torch = pytest.importorskip("torch")
    xs = rng.standard_normal((64, 70)).astype(np.float32)
    a = cr.tensor(xs, requires_grad=True)
    (cr.F.leaky_relu(a, 0.2) ** 2).sum().backward()
    t = torch.tensor(xs, requires_grad=True)
    (torch.nn.functional.leaky_relu(t, 0.2) ** 2).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-6)
