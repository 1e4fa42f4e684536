"""Laplace: the GGN against chainrule's exact Hessian, the Hessian against finite differences, and
the linear-Gaussian case against Bayesian linear regression's closed form."""


import numpy as np
import pytest

import chainrule as cr
from chainrule import F, nn
from chainrule.bayes import (
    DiagonalLaplace,
    LastLayerLaplace,
    hessian,
    linear_evidence,
    split_last_layer,
)
from chainrule.models import MLP


def tanh_net(rng, sizes=(3, 4, 3)):
    return MLP(sizes, activation="tanh", rng=rng).to(dtype="float64")


def test_last_layer_ggn_is_the_exact_hessian_for_cross_entropy(rng):
    model = tanh_net(rng)
    x, y = rng.standard_normal((20, 3)), rng.integers(0, 3, 20)
    la = LastLayerLaplace(model, prior_precision=0.5).fit(x, y)
    head = model.layers[-1]
    exact = hessian(lambda: F.cross_entropy(model(cr.Tensor(x)), cr.Tensor(y)) * 20,
                    [head.weight, head.bias])
    # hessian orders W (3 x 4) then b (3); the Laplace orders each output's weights, then its bias
    order = [i for c in range(3) for i in [*range(4 * c, 4 * c + 4), 12 + c]]
    assert np.allclose(exact[np.ix_(order, order)], la.ggn, atol=1e-12)
    assert np.allclose(la.precision, la.ggn + 0.5 * np.eye(15))


def test_hessian_matches_finite_differences_of_the_gradient(rng):
    model = tanh_net(rng, (2, 3, 1))
    x, y = rng.standard_normal((8, 2)), rng.standard_normal((8, 1))
    params = list(model.parameters())

    def loss():
        return F.mse_loss(model(cr.Tensor(x)), cr.Tensor(y))

    def flat_grad():
        return np.concatenate([g._data.ravel() for g in cr.grad(loss(), params)])
    h = hessian(loss, params)
    assert np.allclose(h, h.T, atol=1e-12)
    eps, fd = 1e-6, []
    def set_element(p, i, value):
        changed = p._data.copy()
        changed.flat[i] = value
        with cr.no_grad():
            p.copy_(changed)
    for p in params:
        for i in range(p._data.size):
            old = float(p._data.flat[i])
            set_element(p, i, old + eps)
            up = flat_grad()
            set_element(p, i, old - eps)
            down = flat_grad()
            set_element(p, i, old)
            fd.append((up - down) / (2 * eps))
    assert np.allclose(h, np.array(fd), atol=1e-7)


def test_regression_laplace_is_bayesian_linear_regression(rng):
    # A net that is just a Linear layer: the Laplace posterior is exact and has a closed form.
    n, d, alpha, sigma = 30, 3, 2.0, 0.3
    x = rng.standard_normal((n, d))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.3 + sigma * rng.standard_normal(n)
    phi = np.concatenate([x, np.ones((n, 1))], axis=1)
    post = linear_evidence(phi, y, alpha, 1 / sigma ** 2)
    model = nn.Sequential(nn.Linear(d, 1)).to(dtype="float64")
    w = post["mean"]
    model.load_state_dict({"0.weight": w[None, :d], "0.bias": w[d:]})
    la = LastLayerLaplace(model, likelihood="regression", prior_precision=alpha,
                          sigma_noise=sigma).fit(x, y[:, None])
    assert np.allclose(la.covariance, post["covariance"], atol=1e-12)
    x_new = rng.standard_normal((5, d))
    mean, var = la.predict(x_new)
    phi_new = np.concatenate([x_new, np.ones((5, 1))], axis=1)
    assert np.allclose(mean[:, 0], phi_new @ w)
    assert np.allclose(var[:, 0], np.einsum("nd,de,ne->n", phi_new, post["covariance"], phi_new)
                       + sigma ** 2)
    assert la.log_marginal_likelihood(x, y[:, None]) == pytest.approx(post["log_evidence"])


def test_probit_and_monte_carlo_predictives_agree(rng):
    model = tanh_net(rng, (3, 6, 4))
    x, y = rng.standard_normal((40, 3)), rng.integers(0, 4, 40)
    la = LastLayerLaplace(model, prior_precision=1.0).fit(x, y)
    probit = la.predict(x[:10])
    mc = la.predict(x[:10], link="mc", samples=4000, rng=0)
    assert np.allclose(probit.sum(1), 1) and np.abs(probit - mc).max() < 0.03
    with cr.no_grad():
        map_probs = F.softmax(model(cr.Tensor(x[:10])), axis=-1)._data
    # the predictive is less confident than the MAP net
    assert (probit.max(1) <= map_probs.max(1) + 1e-12).all()
    assert np.array_equal(mc, la.predict(x[:10], link="mc", samples=4000, rng=0))


def test_bad_models_and_arguments_are_refused():
    with pytest.raises(ValueError, match="ending in an nn.Linear"):
        split_last_layer(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))
    with pytest.raises(ValueError, match="likelihood must be one of"):
        LastLayerLaplace(MLP((2, 2)), likelihood="poisson")
    with pytest.raises(ValueError, match="prior_precision must be a finite number > 0, got 0"):
        LastLayerLaplace(MLP((2, 2)), prior_precision=0)
    with pytest.raises(RuntimeError, match="call fit"):
        LastLayerLaplace(MLP((2, 2))).predict(np.zeros((1, 2)))


def test_diagonal_laplace_is_the_ggn_diagonal(rng):
    model = tanh_net(rng, (3, 4, 3))
    x, y = rng.standard_normal((15, 3)), rng.integers(0, 3, 15)
    diag = DiagonalLaplace(model, prior_precision=0.5).fit(x)
    full = LastLayerLaplace(model, prior_precision=0.5).fit(x, y)
    # the last layer's entries equal the full last-layer GGN's diagonal (reordered: W, then b)
    order = [i for c in range(3) for i in [*range(4 * c, 4 * c + 4), 12 + c]]
    last = np.concatenate([diag.ggn[-2].ravel(), diag.ggn[-1].ravel()])
    assert np.allclose(last[order], np.diag(full.ggn), atol=1e-12)
    # and every layer's entries equal the diagonal of the GGN built from the full Jacobian
    params = list(model.parameters())
    logits = model(cr.Tensor(x))
    p = F.softmax(logits, axis=-1)._data
    ggn = 0
    for n in range(15):
        jac = np.stack([np.concatenate([g._data.ravel() for g in cr.grad(
            logits[n, c], params, retain_graph=True)]) for c in range(3)])
        ggn = ggn + jac.T @ (np.diag(p[n]) - np.outer(p[n], p[n])) @ jac
    ours = np.concatenate([g.ravel() for g in diag.ggn])
    assert np.allclose(ours, np.diag(ggn), atol=1e-12)


def test_diagonal_laplace_predicts_and_restores_the_weights(rng):
    model = tanh_net(rng, (3, 6, 4))
    x = rng.standard_normal((20, 3))
    before = [p._data.copy() for p in model.parameters()]
    la = DiagonalLaplace(model, prior_precision=1.0).fit(x)
    probs = la.predict(x, samples=50, rng=0)
    assert probs.shape == (20, 4) and np.allclose(probs.sum(1), 1)
    assert np.array_equal(probs, la.predict(x, samples=50, rng=0))
    assert all(np.array_equal(a, p._data) for a, p in zip(before, model.parameters()))
    with cr.no_grad():
        map_probs = F.softmax(model(cr.Tensor(x)), axis=-1)._data
    assert not np.allclose(probs, map_probs)  # the draws spread the prediction
    reg = DiagonalLaplace(tanh_net(rng, (3, 5, 1)), likelihood="regression", sigma_noise=0.5)
    mean, var = reg.fit(x).predict(x, samples=20, rng=1)
    assert mean.shape == (20, 1) and (var >= 0.25).all()


def test_split_last_layer_of_lenet5(rng):
    from chainrule.models import LeNet5
    model = LeNet5(rng=np.random.default_rng(0)).eval()
    features, head = split_last_layer(model)
    x = cr.tensor(rng.standard_normal((2, 1, 28, 28)).astype(np.float32))
    with cr.no_grad():
        assert np.allclose(head(features(x))._data, model(x)._data, atol=1e-6)


def test_changing_the_prior_equals_fitting_with_it(rng):
    model = tanh_net(rng, (3, 5, 3))
    x, y = rng.standard_normal((30, 3)), rng.integers(0, 3, 30)
    refit = LastLayerLaplace(model, prior_precision=7.0).fit(x, y)
    changed = LastLayerLaplace(model, prior_precision=0.3).fit(x, y).set_prior_precision(7.0)
    assert np.allclose(changed.covariance, np.linalg.inv(refit.precision), atol=1e-12)
    assert changed.log_marginal_likelihood(x, y) == pytest.approx(
        refit.log_marginal_likelihood(x, y))
