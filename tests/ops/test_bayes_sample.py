"""ops.bayes.gaussian_sample: the fused sample + KL node against the same mathematics composed of
ops (to 1e-10 in float64), float64 gradcheck and gradgradcheck, PyTorch on the same noise, and
its argument checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import F
from chainrule.ops.bayes import gaussian_sample, standard_normal


def _inputs(rng, shape=(4, 3), dtype=np.float64):
    mu = cr.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
    rho = cr.tensor(rng.uniform(-4, 1, shape).astype(dtype), requires_grad=True)
    eps = cr.tensor(rng.standard_normal(shape).astype(dtype))
    return mu, rho, eps


def composed(mu, rho, eps, prior_sigma):
    """The unfused path: softplus, the sample and the closed-form KL as separate ops."""
    sigma = F.softplus(rho)
    s2 = prior_sigma ** 2
    kl = (math.log(prior_sigma) - cr.log(sigma) + (sigma * sigma + mu * mu) / (2 * s2) - 0.5).sum()
    return (sigma if eps is None else mu + sigma * eps), kl


def _loss(out, kl, g):
    return (out * g).sum() + 3.0 * kl


@pytest.mark.parametrize("with_eps", [True, False])
def test_equals_the_composed_ops_to_1e_10(rng, with_eps):
    mu, rho, eps = _inputs(rng, (6, 5))
    eps = eps if with_eps else None
    g = cr.tensor(rng.standard_normal((6, 5)))
    grads = []
    for fn in (lambda *a: gaussian_sample(*a, prior_sigma=0.8), lambda *a: composed(*a, 0.8)):
        out, kl = fn(mu, rho, eps)
        mu.grad = rho.grad = None
        _loss(out, kl, g).backward()
        grads.append((out.numpy().copy(), kl.item(), mu.grad.numpy().copy(),
                      rho.grad.numpy().copy()))
    (o1, k1, m1, r1), (o2, k2, m2, r2) = grads
    np.testing.assert_allclose(o1, o2, rtol=1e-10, atol=1e-12)
    assert k1 == pytest.approx(k2, rel=1e-10)
    np.testing.assert_allclose(m1, m2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r1, r2, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("with_eps", [True, False])
def test_gradcheck_and_gradgradcheck(rng, with_eps):
    mu, rho, eps = _inputs(rng)
    eps = eps if with_eps else None
    g = cr.tensor(rng.standard_normal((4, 3)))

    def both(mu, rho):
        out, kl = gaussian_sample(mu, rho, eps, prior_sigma=1.3)
        return _loss(out, kl, g)

    assert cr.gradcheck(both, [mu, rho])
    assert cr.gradgradcheck(both, [mu, rho])
    # Each output alone (the other receives no gradient).
    assert cr.gradcheck(lambda m, r: gaussian_sample(m, r, eps, prior_sigma=1.3)[0], [mu, rho])
    assert cr.gradcheck(lambda m, r: gaussian_sample(m, r, eps, prior_sigma=1.3)[1], [mu, rho])


def test_frozen_rho_gets_no_gradient_and_mu_still_does(rng):
    mu, rho, eps = _inputs(rng)
    rho.requires_grad = False
    out, kl = gaussian_sample(mu, rho, eps, prior_sigma=1.0)
    (out.sum() + kl).backward()
    assert rho.grad is None
    np.testing.assert_allclose(mu.grad.numpy(), 1 + mu.numpy(), rtol=1e-12)


def test_without_recording_it_is_a_constant(rng):
    mu, rho, eps = _inputs(rng)
    with cr.no_grad():
        out, kl = gaussian_sample(mu, rho, eps, prior_sigma=1.0)
    assert not out.requires_grad and not kl.requires_grad
    ref_out, ref_kl = composed(mu, rho, eps, 1.0)
    np.testing.assert_allclose(out.numpy(), ref_out.numpy(), rtol=1e-12)
    assert kl.item() == pytest.approx(ref_kl.item(), rel=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_matches_pytorch_on_the_same_noise(rng, dtype, tol):
    torch = pytest.importorskip("torch")
    mu, rho, eps = _inputs(rng, (30, 20), dtype)
    g = rng.standard_normal((30, 20)).astype(dtype)
    out, kl = gaussian_sample(mu, rho, eps, prior_sigma=0.5)
    _loss(out, kl, cr.tensor(g)).backward()
    tm = torch.tensor(mu.numpy(), requires_grad=True)
    tr = torch.tensor(rho.numpy(), requires_grad=True)
    sigma = torch.nn.functional.softplus(tr)
    tw = tm + sigma * torch.from_numpy(eps.numpy())
    tkl = (math.log(0.5) - torch.log(sigma) + (sigma ** 2 + tm ** 2) / (2 * 0.25) - 0.5).sum()
    ((tw * torch.from_numpy(g)).sum() + 3.0 * tkl).backward()
    np.testing.assert_allclose(out.numpy(), tw.detach().numpy(), rtol=tol, atol=tol)
    assert kl.item() == pytest.approx(tkl.item(), rel=tol)
    np.testing.assert_allclose(mu.grad.numpy(), tm.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(rho.grad.numpy(), tr.grad.numpy(), rtol=tol, atol=tol)


def test_noise_is_the_generators_box_muller_draws():
    a = standard_normal(np.random.default_rng(5), (3, 4), np.float32)
    b = standard_normal(np.random.default_rng(5), [3, 4], "float32")
    assert a.shape == (3, 4) and a.dtype == np.float32 and np.array_equal(a, b)


@pytest.mark.kernel_free
def test_bad_arguments_are_named(rng):
    mu, rho, eps = _inputs(rng)
    with pytest.raises(ValueError, match="prior_sigma must be a finite number > 0, got 0"):
        gaussian_sample(mu, rho, eps, prior_sigma=0)
    with pytest.raises(ValueError, match="prior_sigma.*got True"):
        gaussian_sample(mu, rho, eps, prior_sigma=True)
    with pytest.raises(ValueError, match=r"rho must be a float Tensor of mu's shape \(4, 3\)"):
        gaussian_sample(mu, cr.tensor(np.zeros((3, 4))), eps, prior_sigma=1.0)
    with pytest.raises(ValueError, match="eps must be.*dtype float64, got shape \\(4, 3\\), "
                                         "dtype float32"):
        gaussian_sample(mu, rho, cr.tensor(np.zeros((4, 3), np.float32)), prior_sigma=1.0)
    with pytest.raises(TypeError, match="eps must be a Tensor, got ndarray"):
        gaussian_sample(mu, rho, np.zeros((4, 3)), prior_sigma=1.0)
