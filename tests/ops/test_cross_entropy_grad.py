"""Cross entropy's usual backward is one op, ``(y - t) g / N``: its own gradients, in the logits
and in the incoming gradient g (which requires grad when the loss is weighted by a parameter)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import F

REDUCTIONS = ["mean", "sum", "none"]


def _weighted(reduction, labels):
    def f(z, a):
        return (F.cross_entropy(z, labels, reduction=reduction) * a).sum()
    return f


def _inputs(reduction, seed=3):
    rng = np.random.default_rng(seed)
    z = cr.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    a = cr.tensor(rng.standard_normal(5 if reduction == "none" else ()), requires_grad=True)
    return z, rng.integers(0, 4, 5), a


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradients_of_the_gradient_in_logits_and_upstream(reduction):
    z, labels, a = _inputs(reduction)
    f = _weighted(reduction, labels)
    assert cr.gradcheck(f, [z, a])
    assert cr.gradgradcheck(f, [z, a])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_second_derivatives_match_torch(reduction):
    torch = pytest.importorskip("torch")
    z, labels, a = _inputs(reduction, seed=4)
    (gz,) = cr.grad(_weighted(reduction, labels)(z, a), z, create_graph=True)
    hz, ha = cr.grad((gz * gz).sum(), (z, a))
    zt = torch.tensor(z.numpy(), requires_grad=True)
    at = torch.tensor(a.numpy(), requires_grad=True)
    lt = (torch.nn.functional.cross_entropy(zt, torch.tensor(labels), reduction=reduction)
          * at).sum()
    (gzt,) = torch.autograd.grad(lt, zt, create_graph=True)
    hzt, hat = torch.autograd.grad((gzt * gzt).sum(), (zt, at))
    np.testing.assert_allclose(gz.numpy(), gzt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(hz.numpy(), hzt.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(ha.numpy(), hat.numpy(), rtol=1e-10, atol=1e-13)


def test_float32_gradient_is_y_minus_t_times_g_over_n():
    rng = np.random.default_rng(5)
    z = cr.tensor(rng.standard_normal((6, 3)).astype(np.float32), requires_grad=True)
    labels = rng.integers(0, 3, 6)
    (F.cross_entropy(z, labels) * 2.0).backward()
    e = np.exp(z.numpy() - z.numpy().max(axis=1, keepdims=True))
    expected = (e / e.sum(axis=1, keepdims=True) - np.eye(3)[labels]) * (np.float32(2) / 6)
    assert z.grad.dtype == np.float32
    np.testing.assert_allclose(z.grad.numpy(), expected, rtol=1e-6, atol=1e-7)
