"""Small optimization problems with hand-written gradients, shared by the optimizer tests.

The gradients are plain NumPy so that a parity test compares two optimizers fed the same gradient
function, and nothing else.
"""

import numpy as np
import pytest

import chainrule as cr


class Problem:
    """Initial parameter values and a gradient function on arrays (any float dtype)."""

    def __init__(self, init, grad_fn):
        self.init = init
        self.grad_fn = grad_fn

    def params(self, dtype):
        return [cr.tensor(a.astype(dtype), requires_grad=True) for a in self.init]

    def grads(self, arrays):
        return [g.astype(a.dtype) for g, a in zip(self.grad_fn(arrays), arrays, strict=True)]

    def set_grads(self, params):
        for p, g in zip(params, self.grads([p._data for p in params]), strict=True):
            p.grad = cr.Tensor(g)


def quadratic(rng):
    """f = 0.5 sum a (p - c)^2 over a matrix and a vector, with curvatures a in [0.5, 2]."""
    shapes = [(3, 4), (4,)]
    curv = [rng.uniform(0.5, 2.0, s) for s in shapes]
    centre = [rng.standard_normal(s) for s in shapes]

    def grad_fn(arrays):
        return [a * (p - c) for p, a, c in zip(arrays, curv, centre, strict=True)]

    return Problem([rng.standard_normal(s) for s in shapes], grad_fn)


def mlp(rng):
    """Mean squared error of a 3-5-2 tanh network on 8 fixed samples (backprop by hand)."""
    x = rng.standard_normal((8, 3))
    y = rng.standard_normal((8, 2))

    def grad_fn(arrays):
        w1, b1, w2, b2 = (a.astype(np.float64) for a in arrays)
        h = np.tanh(x @ w1.T + b1)
        r = (h @ w2.T + b2 - y) / len(x)
        dz = (r @ w2) * (1 - h * h)
        return [dz.T @ x, dz.sum(0), r.T @ h, r.sum(0)]

    init = [rng.standard_normal((5, 3)) * 0.5, rng.standard_normal(5) * 0.1,
            rng.standard_normal((2, 5)) * 0.5, rng.standard_normal(2) * 0.1]
    return Problem(init, grad_fn)


@pytest.fixture(params=["quadratic", "mlp"])
def problem(request, rng):
    return {"quadratic": quadratic, "mlp": mlp}[request.param](rng)


@pytest.fixture(autouse=True)
def _in_both_kernel_modes(kernel_mode):
    """Every test here runs with the fused kernels and in reference mode (their rules)."""
    yield
