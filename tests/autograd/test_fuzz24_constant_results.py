"""Fuzz wave 24: the ops whose results chainrule keeps as constants where PyTorch's require grad
(docs/pytorch.md, "What differs on purpose"): inside a loss they pass the same gradient as
PyTorch's (zero through them; PyTorch refuses it for heaviside and floor_divide), and a backward
from one of them alone is a clear RuntimeError."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402

X = np.array([1.5, -2.0, 0.3, -0.7])

CONSTANTS = {
    "sign": lambda lib, x: x.sign(),
    "sgn": lambda lib, x: x.sgn(),
    "heaviside": lambda lib, x: lib.heaviside(x, lib.tensor([0.5], dtype=lib.float64)),
    "floor_divide": lambda lib, x: lib.floor_divide(x, 2.0),
}


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_constant_results_pass_the_same_gradient_in_a_loss(name):
    x = cr.tensor(X, requires_grad=True)
    (CONSTANTS[name](cr, x) * x * x).sum().backward()
    t = torch.tensor(X, requires_grad=True)
    loss = (CONSTANTS[name](torch, t) * t * t).sum()
    if name in ("heaviside", "floor_divide"):  # PyTorch: "derivative ... is not implemented"
        with pytest.raises(RuntimeError, match="not implemented"):
            loss.backward()
        t.grad = 2 * CONSTANTS[name](torch, t.detach()) * t.detach()  # the constant's gradient
    else:
        loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    x = cr.tensor(X, requires_grad=True)
    assert not CONSTANTS[name](cr, x).requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        CONSTANTS[name](cr, x).sum().backward()
