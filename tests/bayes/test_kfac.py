"""KFAC Laplace: its Kronecker factors against the GGN built from the full Jacobian, its
linearized logit covariance against sampled weights, and its predictive on the digits.

The right check of the factors: the exact GGN block of a Linear layer is ``sum_n B_n (x) A_n``;
KFAC uses ``(sum_n B_n) (x) (mean_n A_n)``. So (1) for one example the two are the same matrix;
(2) for many examples B equals the exact GGN's bias-by-bias block (where every ``A_n`` is 1)
summed over the examples, and A the mean outer product of the layer's augmented inputs; (3) the
full blocks then differ, the approximation KFAC makes.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.autograd import grad
from chainrule.bayes import KFACLaplace, nll, predictive_entropy, softmax_probs
from chainrule.data.datasets import digits
from chainrule.models import MLP
from chainrule.train import Trainer


def _net(rng, sizes=(3, 4, 3)):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, rng=rng, dtype="float64"))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def _explicit_ggn_blocks(net, x):
    """Per layer, the exact GGN block sum_n J_n^T Lambda_n J_n in KFAC's [W | b] row order."""
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    blocks = [0.0] * len(linears)
    for n in range(len(x)):
        out = net(cr.tensor(x[n:n + 1]))
        p = softmax_probs(out.data)[0]
        lam = np.diag(p) - np.outer(p, p)
        for l, layer in enumerate(linears):
            rows = []
            for c in range(out.shape[1]):
                gw, gb = grad(out[0, c], [layer.weight, layer.bias], retain_graph=True)
                rows.append(np.concatenate([gw.data, gb.data[:, None]], axis=1).reshape(-1))
            jac = np.stack(rows)  # (C, P_l)
            blocks[l] = blocks[l] + jac.T @ lam @ jac
    return blocks


def test_kfac_equals_the_exact_ggn_for_one_example():
    rng = np.random.default_rng(0)
    net = _net(rng)
    x = rng.standard_normal((1, 3))
    la = KFACLaplace(net).fit(x)
    for (b, a), exact in zip(la.factors, _explicit_ggn_blocks(net, x)):
        np.testing.assert_allclose(np.kron(b, a), exact, rtol=1e-10, atol=1e-12)


def test_kfac_factors_against_the_explicit_ggn_for_many_examples():
    rng = np.random.default_rng(1)
    net = _net(rng)
    x = rng.standard_normal((7, 3))
    la = KFACLaplace(net).fit(x, batch_size=3)  # batches must not matter
    exact = _explicit_ggn_blocks(net, x)
    hidden = np.tanh(x @ net[0].weight.data.T + net[0].bias.data)
    for (b, a), block, inputs in zip(la.factors, exact, (x, hidden)):
        d = inputs.shape[1] + 1
        bias = block[d - 1::d, d - 1::d]  # the bias-by-bias entries: A_n = 1 there
        np.testing.assert_allclose(b, bias, rtol=1e-10, atol=1e-12)
        aug = np.concatenate([inputs, np.ones((len(inputs), 1))], axis=1)
        np.testing.assert_allclose(a, aug.T @ aug / len(x), rtol=1e-10, atol=1e-12)
        assert not np.allclose(np.kron(b, a), block, rtol=1e-3)  # the approximation itself


def test_kfac_posterior_covariance_is_the_inverse_precision():
    rng = np.random.default_rng(2)
    net = _net(rng)
    la = KFACLaplace(net, prior_precision=0.7).fit(rng.standard_normal((9, 3)))
    for l, (b, a) in enumerate(la.factors):
        precision = np.kron(b, a) + 0.7 * np.eye(len(b) * len(a))
        np.testing.assert_allclose(la.covariance(l) @ precision, np.eye(len(precision)),
                                   atol=1e-8)


def test_linearized_logit_covariance_matches_sampled_weights():
    rng = np.random.default_rng(3)
    net = _net(rng, (3, 5, 3))
    x = rng.standard_normal((4, 3))
    # a strong prior: small weight perturbations, where the net is nearly linear in them
    la = KFACLaplace(net, prior_precision=1e4).fit(rng.standard_normal((20, 3)))
    mean, cov = la.logits_distribution(x)
    np.testing.assert_allclose(mean, net(cr.tensor(x)).data, rtol=1e-12)
    draws = la.sample_outputs(x, samples=4000, rng=0)
    np.testing.assert_allclose(net[0].weight.data, la.mean[0][:, :-1])  # weights restored
    for n in range(len(x)):
        empirical = np.cov(draws[:, n, :].T)
        np.testing.assert_allclose(empirical, cov[n], rtol=0.1,
                                   atol=0.1 * np.abs(cov[n]).max())


def test_kfac_refusals():
    with pytest.raises(ValueError, match="no nn.Linear"):
        KFACLaplace(nn.Sequential(nn.Tanh()))
    with pytest.raises(RuntimeError, match="call fit"):
        KFACLaplace(_net(np.random.default_rng(0))).predict(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="link must be"):
        KFACLaplace(_net(np.random.default_rng(0))).predict(np.zeros((1, 3)), link="x")


def test_kfac_predictive_on_digits():
    (x, y), (xt, yt) = digits(seed=0)
    net = MLP((64, 64, 10), rng=np.random.default_rng(0))
    Trainer(net, "cross_entropy", optim.Adam(net.parameters(), lr=3e-3)).fit(
        (x[:300], y[:300]), epochs=60, batch_size=32, rng=0, verbose=0)  # fused, overfitted
    plain = softmax_probs(Trainer(net, "cross_entropy", None).predict(xt))
    la = KFACLaplace(net).fit(x[:300])
    assert any(type(m) is nn.ReLU for m in net.modules())  # unfused: Linear outputs are logits
    # a huge prior shrinks the posterior onto the trained weights
    np.testing.assert_allclose(la.set_prior_precision(1e9).predict(xt), plain, atol=1e-4)
    # the prior precision chosen by the NLL of held-out training images, as Laplace is used
    grid = (10.0, 30.0, 100.0, 300.0, 1000.0)
    val_nll = [nll(la.set_prior_precision(a).predict(x[300:600]), y[300:600]) for a in grid]
    la.set_prior_precision(grid[int(np.argmin(val_nll))])
    probit = la.predict(xt)
    mc = la.predict(xt, link="mc", samples=30, rng=0)
    for probs in (probit, mc):
        assert (probs.argmax(1) == yt).mean() > (plain.argmax(1) == yt).mean() - 0.02
        assert predictive_entropy(probs).mean() > predictive_entropy(plain).mean()
    assert nll(probit, yt) < nll(plain, yt)  # the over-fitted net is over-confident


def test_kfac_is_exact_for_linear_regression():
    # one Linear layer and a Gaussian likelihood: B_n = I / sigma^2 for every example, so the
    # product of sums is the sum of products and the posterior is Bayesian linear regression's
    rng = np.random.default_rng(4)
    net = nn.Sequential(nn.Linear(3, 2, rng=rng, dtype="float64"))
    x = rng.standard_normal((25, 3))
    la = KFACLaplace(net, likelihood="regression", sigma_noise=0.5, prior_precision=2.0).fit(x)
    phi = np.concatenate([x, np.ones((25, 1))], axis=1)
    precision = np.kron(np.eye(2), phi.T @ phi / 0.25) + 2.0 * np.eye(8)
    np.testing.assert_allclose(la.covariance(0), np.linalg.inv(precision), rtol=1e-9, atol=1e-12)
    xt = rng.standard_normal((5, 3))
    mean, var = la.predict(xt)
    phit = np.concatenate([xt, np.ones((5, 1))], axis=1)
    cov = np.linalg.inv(precision)
    exact = [phit[n] @ cov[k * 4:(k + 1) * 4, k * 4:(k + 1) * 4] @ phit[n] + 0.25
             for n in range(5) for k in range(2)]
    np.testing.assert_allclose(var.reshape(-1), exact, rtol=1e-9)
    np.testing.assert_allclose(mean, net(cr.tensor(xt)).data, rtol=1e-12)
