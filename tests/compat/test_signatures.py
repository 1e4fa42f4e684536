"""PyTorch's positional orders and defaults where a ported program would get other numbers.

Each test calls chainrule and PyTorch the same way (positional arguments included) and compares
the results in float64, forward and backward.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(x):
    return cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _check(ours, theirs, x, tx):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.cos(np.arange(ours.numel())).reshape(ours.shape)
    ours.backward(cr.tensor(g))
    theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 3, 4), (2, 3, 4, 5)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "Softmax", "LogSoftmax"])
def test_softmax_without_dim_takes_pytorchs_implicit_axis(rng, shape, name):
    """F.softmax(x) and nn.Softmax() of 3-D input normalise axis 0 in PyTorch, of 4-D input axis 1
    (not the last axis), with a deprecation warning."""
    x, tx = _pair(rng.standard_normal(shape))
    ours_fn = getattr(F, name) if name.islower() else getattr(cr.nn, name)()
    theirs_fn = getattr(TF, name) if name.islower() else getattr(torch.nn, name)()
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        ours = ours_fn(x)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        theirs = theirs_fn(tx)
    _check(ours, theirs, x, tx)


def test_numpy_style_softmax_keeps_the_last_axis(rng):
    x = cr.tensor(rng.standard_normal((2, 3, 4)))
    np.testing.assert_allclose(cr.functional.softmax(x).numpy().sum(-1), np.ones((2, 3)))
    np.testing.assert_allclose(cr.nn.Softmax(dim=-1)(x).numpy().sum(-1), np.ones((2, 3)))


@pytest.mark.parametrize("call", [
    lambda m, x: m.std(x, 0, True),          # PyTorch: dim=0, unbiased=True (not keepdim)
    lambda m, x: m.var(x, 1, False, True),   # dim, unbiased, keepdim
    lambda m, x: m.std(x, True),             # the std(input, unbiased) overload
    lambda m, x: m.var(x, False),
    lambda m, x: x.var(1, True),
    lambda m, x: x.std((0, 2), True, True),
    lambda m, x: m.var(x, dim=1, correction=2, keepdim=True),
], ids=["std(x,0,True)", "var(x,1,False,True)", "std(x,True)", "var(x,False)",
        "x.var(1,True)", "x.std((0,2),True,True)", "var(correction=2)"])
def test_var_std_take_pytorchs_positional_order(rng, call):
    """torch.std(x, 0, True) is the unbiased std over axis 0; chainrule read the True as keepdims
    (and kept ddof=0), so broadcasting could hide the wrong shape."""
    x, tx = _pair(rng.standard_normal((3, 4, 5)))
    _check(call(cr, x), call(torch, tx), x, tx)


def test_var_std_default_stays_the_population_estimate(rng):
    """The documented difference (docs/pytorch.md): no unbiased/correction means ddof=0."""
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(cr.var(cr.tensor(x), 1).numpy(), x.var(1), rtol=1e-13)
    np.testing.assert_allclose(cr.tensor(x).std(ddof=1).numpy(), x.std(ddof=1), rtol=1e-13)
    with pytest.raises(TypeError, match="unbiased must be True or False, got 2"):
        cr.var(cr.tensor(x), 0, 2)
