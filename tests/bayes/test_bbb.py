"""Bayes by Backprop: the KL terms against the analytic Gaussian KL and Monte Carlo, the layer's
gradient by finite differences, local reparameterization's moments, and a trained digits net."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import F, nn, optim
from chainrule.bayes import bayesian_mlp, elbo_loss, kl_divergence, sample_predict
from chainrule.data.datasets import digits
from chainrule.train import Trainer


def layer64(**kwargs):
    layer = nn.BayesianLinear(3, 2, rng=np.random.default_rng(0), dtype="float64", **kwargs)
    rng = np.random.default_rng(1)
    with cr.no_grad():
        layer.weight_rho.copy_(rng.uniform(-2, 0, (2, 3)))
        layer.bias_rho.copy_(rng.uniform(-2, 0, 2))
        layer.bias_mu.copy_(rng.standard_normal(2))
    return layer


def softplus(x):
    return np.log1p(np.exp(x))


def test_gaussian_kl_is_the_analytic_formula_and_its_monte_carlo_estimate():
    layer = layer64(prior_sigma=0.7)
    mu = np.concatenate([layer.weight_mu._data.ravel(), layer.bias_mu._data])
    s = softplus(np.concatenate([layer.weight_rho._data.ravel(), layer.bias_rho._data]))
    analytic = np.sum(np.log(0.7 / s) + (s ** 2 + mu ** 2) / (2 * 0.49) - 0.5)
    assert layer.kl().item() == pytest.approx(analytic, rel=1e-12)
    w = mu + s * np.random.default_rng(2).standard_normal((200000, mu.size))
    log_q = -0.5 * ((w - mu) / s) ** 2 - np.log(s)
    log_p = -0.5 * (w / 0.7) ** 2 - np.log(0.7)
    assert (log_q - log_p).sum(1).mean() == pytest.approx(analytic, abs=0.02)


def test_scale_mixture_kl_estimate_is_unbiased():
    prior = (0.25, 1.0, 0.05)
    layer = layer64(prior_mixture=prior)
    estimates = [layer.kl().item() for _ in range(4000)]
    mu = np.concatenate([layer.weight_mu._data.ravel(), layer.bias_mu._data])
    s = softplus(np.concatenate([layer.weight_rho._data.ravel(), layer.bias_rho._data]))
    w = mu + s * np.random.default_rng(3).standard_normal((400000, mu.size))
    log_q = -0.5 * ((w - mu) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)
    dens = sum(p / (sd * math.sqrt(2 * math.pi)) * np.exp(-0.5 * (w / sd) ** 2)
               for p, sd in ((prior[0], prior[1]), (1 - prior[0], prior[2])))
    reference = (log_q - np.log(dens)).sum(1).mean()
    assert np.mean(estimates) == pytest.approx(reference, abs=4 * np.std(estimates) / 60)


@pytest.mark.parametrize("local", [False, True])
def test_the_sampled_layer_and_its_kl_pass_gradcheck(local):
    layer = layer64(local_reparameterization=local)
    x = cr.tensor(np.random.default_rng(4).standard_normal((5, 3)))
    params = [layer.weight_mu, layer.weight_rho, layer.bias_mu, layer.bias_rho]

    def sampled(*_):
        layer.rng = np.random.default_rng(9)  # the same noise at every evaluation
        return layer(x)
    assert cr.gradcheck(sampled, params)
    assert cr.gradcheck(lambda *_: layer.kl(), params)


def test_local_reparameterization_has_the_moments_of_weight_sampling():
    x = cr.tensor(np.random.default_rng(5).standard_normal((2, 3)))
    n, outs = 20000, {}
    layer = layer64(local_reparameterization=False)
    layer.rng = np.random.default_rng(6)
    with cr.no_grad():  # one weight sample per call: n calls
        outs[False] = np.stack([layer(x)._data for _ in range(n)])
    layer = layer64(local_reparameterization=True)
    layer.rng = np.random.default_rng(6)
    with cr.no_grad():
        # Local reparameterization draws its noise per example: n copies of x in one batch are
        # n independent draws for each example, as n calls are; and each call draws afresh.
        outs[True] = layer(cr.tensor(np.tile(x._data, (n, 1))))._data.reshape(outs[False].shape)
        assert not np.allclose(layer(x)._data, layer(x)._data)
    assert np.allclose(outs[False].mean(0), outs[True].mean(0), atol=0.03)
    assert np.allclose(outs[False].std(0), outs[True].std(0), rtol=0.05)


def test_eval_uses_the_means_and_sampling_can_be_switched_on():
    layer = layer64().eval()
    x = cr.tensor(np.ones((1, 3)))
    expected = layer.weight_mu._data.sum(1) + layer.bias_mu._data
    assert np.allclose(layer(x)._data[0], expected)
    layer.sampling = True
    assert not np.allclose(layer(x)._data[0], expected)


def test_bayes_by_backprop_learns_digits_and_predicts_with_samples():
    (x, y), (xt, yt) = digits(seed=0)
    model = bayesian_mlp((64, 64, 10), prior_sigma=1.0, rng=np.random.default_rng(0))
    kl_before = kl_divergence(model).item()
    trainer = Trainer(model, elbo_loss(model, len(y)), optim.Adam(model.parameters(), lr=3e-3))
    history = trainer.fit((x, y), epochs=15, batch_size=64, rng=0, verbose=0)
    assert history["loss"][-1] < history["loss"][0]
    assert kl_divergence(model).item() < kl_before  # the posterior widens towards the prior
    probs = sample_predict(model, xt, samples=10)
    assert probs.shape == (10, len(yt), 10) and not np.allclose(probs[0], probs[1])
    assert (probs.mean(0).argmax(1) == yt).mean() > 0.9
    with pytest.raises(ValueError, match="no BayesianLinear or BayesianConv2d layer"):
        elbo_loss(nn.Linear(2, 2), 10)


def test_bad_priors_are_refused():
    with pytest.raises(ValueError, match="prior_sigma must be > 0, got 0"):
        nn.BayesianLinear(2, 2, prior_sigma=0)
    with pytest.raises(ValueError, match="prior_mixture must be"):
        nn.BayesianLinear(2, 2, prior_mixture=(1.5, 1.0, 0.1))


@pytest.mark.parametrize("local", [False, True])
def test_bayesian_conv2d_gradcheck_and_moments(local):
    layer = nn.BayesianConv2d(2, 3, 3, padding=1, rng=np.random.default_rng(0), dtype="float64",
                              init_rho=-1.0, local_reparameterization=local)
    x = cr.tensor(np.random.default_rng(1).standard_normal((2, 2, 4, 4)))
    params = [layer.weight_mu, layer.weight_rho, layer.bias_mu, layer.bias_rho]

    def sampled(*_):
        layer.rng = np.random.default_rng(9)
        return layer(x)
    assert cr.gradcheck(sampled, params)
    assert cr.gradcheck(lambda *_: layer.kl(), params)
    layer.eval()
    with cr.no_grad():
        mean = layer(x)._data
        layer.sampling = True
        draws = np.stack([layer(x)._data for _ in range(3000)])
    assert np.allclose(draws.mean(0), mean, atol=0.08)
    s2w, s2b = softplus(-1.0) ** 2, softplus(-1.0) ** 2
    var = F.conv2d(x * x, cr.tensor(np.full((3, 2, 3, 3), s2w)), cr.tensor(np.full(3, s2b)),
                   padding=1)._data
    assert np.allclose(draws.var(0), var, rtol=0.15)
