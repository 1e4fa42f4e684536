"""Bayes by Backprop through the fused sample + KL node (ops.bayes): the same values and gradients
as the composed ops (1e-10, float64), and the KL of a forward pass is never stale."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule import F, nn, optim
from chainrule.bayes import bayesian_mlp, elbo_loss, kl_divergence


def _params(model):
    return [p for p in model.parameters()]


def composed_kl(layer):
    """The closed-form Gaussian KL of a layer written with separate ops (the unfused path)."""
    out = 0.0
    s = layer.prior_sigma
    for mu, rho in ((layer.weight_mu, layer.weight_rho), (layer.bias_mu, layer.bias_rho)):
        sigma = F.softplus(rho)
        out = out + (math.log(s) - cr.log(sigma) + (sigma * sigma + mu * mu) / (2 * s * s)
                     - 0.5).sum()
    return out


def _grads(params):
    return [p.grad.numpy().copy() for p in params]


def _zero(params):
    for p in params:
        p.grad = None


def _model64(local=False):
    model = bayesian_mlp((5, 7, 3), prior_sigma=0.6, init_rho=-2.0,
                         local_reparameterization=local, rng=np.random.default_rng(0))
    for p in model.parameters():
        p.data = p.numpy().astype(np.float64)
    return model


def _layers(model):
    return [m for m in model.modules() if isinstance(m, nn.BayesianLinear)]


def _seed_noise(model, seed):
    for i, m in enumerate(_layers(model)):
        m.rng = np.random.default_rng(seed + i)


def _composed_forward(model, x):
    h = x
    for m in model:
        h = m._forward_composed(h) if isinstance(m, nn.BayesianLinear) else m(h)
    return h


@pytest.mark.parametrize("local", [False, True])
def test_the_elbo_equals_the_composed_path_to_1e_10(local):
    model = _model64(local)
    params = _params(model)
    x = cr.tensor(np.random.default_rng(1).standard_normal((8, 5)))
    y = cr.tensor(np.arange(8) % 3)
    loss_fn = elbo_loss(model, 50)
    _seed_noise(model, 10)
    fused = loss_fn(model(x), y)
    fused.backward()
    g_fused = _grads(params)
    _zero(params)
    _seed_noise(model, 10)
    kl = sum((composed_kl(m) for m in _layers(model)[1:]), composed_kl(_layers(model)[0]))
    plain = F.cross_entropy(_composed_forward(model, x), y) + kl * (1 / 50)
    plain.backward()
    assert fused.item() == pytest.approx(plain.item(), rel=1e-10)
    for a, b in zip(g_fused, _grads(params)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_conv2d_samples_through_the_fused_node_as_before():
    layer = nn.BayesianConv2d(2, 3, 3, padding=1, rng=np.random.default_rng(0), dtype="float64",
                              init_rho=-1.0)
    x = cr.tensor(np.random.default_rng(1).standard_normal((2, 2, 4, 4)))
    layer.rng = np.random.default_rng(4)
    a = layer(x)
    layer.rng = np.random.default_rng(4)
    b = layer._forward_composed(x)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-13)
    assert kl_divergence(layer, a).item() == pytest.approx(composed_kl(layer).item(), rel=1e-10)


def test_kl_after_a_raw_write_is_that_of_the_new_values():
    """gradcheck writes parameters raw, without counting a version: kl() must not reuse the KL
    of the last forward pass, whatever the versions say."""
    model = _model64()
    layer = _layers(model)[0]
    model(cr.tensor(np.ones((2, 5))))
    version = layer.weight_mu._version
    layer.weight_mu._writable()[...] += 0.5  # a raw write: no version counted
    assert layer.weight_mu._version == version
    assert layer.kl().item() == pytest.approx(composed_kl(layer).item(), rel=1e-12)
    assert kl_divergence(model).item() == pytest.approx(
        sum(composed_kl(m).item() for m in _layers(model)), rel=1e-12)


def test_an_optimizer_step_counts_versions_and_a_stale_pass_is_refused():
    model = _model64()
    x, y = cr.tensor(np.ones((4, 5))), cr.tensor(np.array([0, 1, 2, 0]))
    loss_fn = elbo_loss(model, 10)
    opt = optim.Adam(model.parameters(), lr=0.1)
    stale = model(x)  # computed from the weights before the step
    loss_fn(model(x), y).backward()
    versions = [p._version for p in model.parameters()]
    opt.step()
    assert all(p._version > v for p, v in zip(model.parameters(), versions))
    fresh = model(x)
    kl_now = sum(composed_kl(m).item() for m in _layers(model))
    assert kl_divergence(model, fresh).item() == pytest.approx(kl_now, rel=1e-12)
    loss_fn(fresh, y).backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss_fn(stale, y).backward()
    last = model(x)  # the layers hold this pass's KL; a step then changes what it read
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        kl_divergence(model, last).backward()  # that pass's KL, refused: not a stale value


def test_an_output_without_a_graph_gets_a_fresh_kl_with_gradients():
    model = _model64()
    x = cr.tensor(np.ones((2, 5)))
    with cr.no_grad():
        out = model(x)
    kl = kl_divergence(model, out)
    assert kl.requires_grad
    kl.backward()
    mu = _layers(model)[0].weight_mu
    np.testing.assert_allclose(mu.grad.numpy(), mu.numpy() / 0.36, rtol=1e-12)


def test_the_kl_of_an_earlier_pass_is_not_taken_from_a_later_one():
    model = _model64()
    params = _params(model)
    x = cr.tensor(np.ones((3, 5)))
    first = model(x)
    second = model(x)  # the layers now hold this pass's KL
    layers = _layers(model)
    nodes_first = cr.bayes.bbb._graph_nodes(first)
    assert all(m.sample_kl(nodes_first) is None for m in layers)
    assert all(m.sample_kl(cr.bayes.bbb._graph_nodes(second)) is not None for m in layers)
    (kl_divergence(model, first) + 0 * second.sum()).backward()
    g = _grads(params)
    _zero(params)
    sum((composed_kl(m) for m in layers[1:]), composed_kl(layers[0])).backward()
    for a, b in zip(g, _grads(params)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_copies_and_pickles_leave_the_last_pass_behind():
    model = _model64()
    model(cr.tensor(np.ones((2, 5))))
    layer = _layers(model)[0]
    assert layer._last_sample is not None
    for twin in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        twin_layer = _layers(twin)[0]
        assert twin_layer._last_sample is None
        np.testing.assert_array_equal(twin_layer.weight_mu.numpy(), layer.weight_mu.numpy())
        assert twin_layer.kl().item() == pytest.approx(layer.kl().item(), rel=1e-12)


def test_the_scale_mixture_prior_keeps_its_own_kl_estimate():
    layer = nn.BayesianLinear(3, 2, prior_mixture=(0.5, 1.0, 0.1), rng=np.random.default_rng(0),
                              dtype="float64")
    out = layer(cr.tensor(np.ones((2, 3))))
    assert layer._last_sample is None
    assert kl_divergence(layer, out).requires_grad
