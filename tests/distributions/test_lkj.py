"""LKJCholesky against torch.distributions (float64 density and its gradient), the marginal law
of its samples, seeding and validation."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.distributions import LKJCholesky, constraints

CONC = np.array([0.6, 1.0, 2.5])


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("dim", [2, 4])
def test_log_prob_matches_pytorch_with_gradients(dim):
    torch = pytest.importorskip("torch")
    c = cr.tensor(CONC, requires_grad=True)
    tc = torch.tensor(CONC, requires_grad=True)
    value = LKJCholesky(dim, cr.tensor(CONC)).sample((2,), rng=np.random.default_rng(1))
    assert tuple(value.shape) == (2, 3, dim, dim)
    ours = LKJCholesky(dim, c).log_prob(value)
    theirs = torch.distributions.LKJCholesky(dim, tc).log_prob(torch.tensor(value.numpy()))
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-13)
    (g,) = cr.grad(ours.sum(), [c])
    (tg,) = torch.autograd.grad(theirs.sum(), [tc])
    np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-12)
    assert cr.gradcheck(lambda k: LKJCholesky(dim, k).log_prob(value), [c])


@pytest.mark.kernel_free
@pytest.mark.parametrize("eta", [0.5, 1.0, 4.0])
def test_samples_are_correlation_factors_with_the_beta_marginal(eta):
    """Each correlation of LKJ(eta) in d dimensions is 2 X - 1 for X ~ Beta(b, b),
    b = eta - 1 + d / 2: mean 0, variance 1 / (2 b + 1). (PyTorch's sampler fails this beyond
    the first row: it draws row k's squared norm from Beta(k - 1/2, .) where the onion method
    has Beta(k / 2, .); see docs/pytorch.md.)"""
    dim, n = 4, 20000
    x = LKJCholesky(dim, cr.tensor(eta, dtype=cr.float64)).sample(
        (n,), rng=np.random.default_rng(2))
    assert bool(constraints.corr_cholesky.check(x).all())
    corr = x.numpy() @ np.swapaxes(x.numpy(), -1, -2)
    np.testing.assert_allclose(np.diagonal(corr, axis1=-2, axis2=-1), 1.0, rtol=1e-12)
    b = eta - 1 + dim / 2
    var = 1 / (2 * b + 1)
    for i, j in ((1, 0), (2, 0), (2, 1), (3, 1)):
        r = corr[:, i, j]
        assert abs(r.mean()) < 4 * np.sqrt(var / n)
        assert abs(r.var() - var) < 0.05 * var


@pytest.mark.kernel_free
def test_density_is_uniform_at_concentration_one_for_dim_two():
    # dim 2: L = [[1, 0], [r, sqrt(1 - r^2)]]; at concentration 1 the correlation r is uniform
    # on (-1, 1), and the density of L (in r) is 1/2 times the Jacobian factor, here constant.
    values = cr.tensor([[[1.0, 0.0], [r, np.sqrt(1 - r * r)]] for r in (-0.7, 0.1, 0.9)],
                       dtype=cr.float64)
    lp = LKJCholesky(2, cr.tensor(1.0, dtype=cr.float64)).log_prob(values).numpy()
    np.testing.assert_allclose(lp, np.log(0.5), rtol=1e-12)


@pytest.mark.kernel_free
def test_manual_seed_and_expand():
    d = LKJCholesky(3, cr.tensor([1.0, 2.0]))
    cr.manual_seed(5)
    first = d.sample().numpy()
    cr.manual_seed(5)
    np.testing.assert_array_equal(d.sample().numpy(), first)
    e = d.expand((4, 2))
    assert tuple(e.sample().shape) == (4, 2, 3, 3)
    assert tuple(e.log_prob(e.sample()).shape) == (4, 2)


@pytest.mark.kernel_free
@pytest.mark.parametrize("make, value, match", [
    (lambda: LKJCholesky(1), None, "dim=1"),
    (lambda: LKJCholesky(3, -1.0), None, "concentration"),
    (lambda: LKJCholesky(2), cr.tensor([[1.0, 0.0], [0.5, 0.5]]), "support"),
])
def test_bad_arguments_are_refused(make, value, match):
    with pytest.raises(ValueError, match=match):
        make().log_prob(value)
