"""Fuzz wave 24, special functions: ``logit``'s ``eps`` at its edges, as PyTorch's kernel. A
negative eps clamps nothing (chainrule clamped to [eps, 1 - eps], giving x outside [0, 1] a
finite gradient or 0 where PyTorch's is NaN), and an eps above 1/2 sends x below eps to eps and
the rest to 1 - eps (chainrule sent everything to 1 - eps: the other sign below eps)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck  # noqa: E402

X = np.array([0.0, 0.25, 0.3, 0.5, 0.6, 0.7, 0.75, 1.0, 1.05, -0.05, np.nan, np.inf, -np.inf])


@pytest.mark.parametrize("eps", [-0.1, 0.6, 1.0, 0.5, 0.25])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_logit_eps_values_and_gradients_match_pytorch(eps, dtype):
    out = []
    for lib in (torch, cr):
        x = lib.tensor(X.astype(dtype), requires_grad=True)
        y = lib.special.logit(x, eps=eps)
        y.backward(lib.ones_like(y))
        out.append((y.detach().numpy(), x.grad.numpy(), str(y.dtype).replace("torch.", "")))
    (tv, tg, td), (cv, cg, cd) = out
    assert cd == td == dtype
    np.testing.assert_allclose(cv, tv, rtol=1e-6, atol=0, equal_nan=True)
    np.testing.assert_allclose(cg, tg, rtol=1e-6, atol=0, equal_nan=True)


@pytest.mark.parametrize("eps", [-0.1, 0.7])
def test_logit_eps_edges_differentiate_twice(eps):
    x = cr.tensor([0.2, 0.45, 0.55, 0.8], dtype=cr.float64, requires_grad=True)
    assert gradcheck(lambda t: cr.logit(t, eps), (x,))
    assert gradgradcheck(lambda t: cr.logit(t, eps), (x,))


def test_logit_method_and_integer_input_with_eps_above_half():
    t, c = torch.tensor([0, 1, 2]), cr.tensor([0, 1, 2])
    np.testing.assert_allclose(c.logit(0.8).numpy(), t.logit(0.8).numpy(), rtol=1e-6)
    assert str(c.logit(0.8).dtype) == "float32"


def test_multigammaln_takes_p_as_a_0d_integer_tensor_as_pytorch():
    x = np.array([3.0, 4.5])
    t, c = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    ty, cy = (
        torch.special.multigammaln(t, torch.tensor(2)),
        cr.special.multigammaln(c, cr.tensor(2)),
    )
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    ty.sum().backward()
    cy.sum().backward()
    np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        cr.mvlgamma(cr.tensor(x), np.int64(3)).numpy(),
        torch.mvlgamma(torch.tensor(x), 3).numpy(),
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="p must be a positive int, got tensor"):
        cr.mvlgamma(c, cr.tensor(2.0))


def test_sinc_of_float16_is_computed_in_float32_as_pytorch():
    # pi x rounded to float16 missed sinc's zeros: sinc(1) was 3.1e-4, sinc(-3) 1e-3
    x = np.concatenate([np.arange(-6.0, 6.5, 0.5), [1e-3, 0.999, 2.0009765625]]).astype(np.float16)
    t, c = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    ty, cy = torch.sinc(t), c.sinc()
    assert cy.dtype == cr.float16
    np.testing.assert_array_equal(cy.detach().numpy(), ty.detach().numpy())
    ty.sum().backward()
    cy.sum().backward()
    assert c.grad.dtype == cr.float16
    away = np.abs(x) > 0.01  # PyTorch's float16 gradient is 0 for -pi^2/3 x near 0
    np.testing.assert_allclose(c.grad.numpy()[away], t.grad.numpy()[away], rtol=2e-3, atol=2e-3)
