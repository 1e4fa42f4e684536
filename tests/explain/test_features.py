"""Guided backpropagation, the deconvnet and feature visualization on tiny models."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain import (
    activation_maximization,
    deconvnet,
    first_layer_filters,
    guided_backprop,
    layer_activations,
    project_activation,
    receptive_field,
    relu_rule,
    saliency,
    top_activating_patches,
)


def _mlp(rng):
    return nn.Sequential(nn.Linear(5, 7, rng=rng), nn.ReLU(), nn.Linear(7, 3, rng=rng)).to(
        dtype="float64")


def test_guided_backprop_and_deconvnet_follow_their_relu_rules(rng):
    net = _mlp(rng)
    x = rng.normal(size=(4, 5))
    w1, b1, w2 = net[0].weight.numpy(), net[0].bias.numpy(), net[2].weight.numpy()
    on = (x @ w1.T + b1 > 0).astype(float)
    back = np.maximum(w2[1], 0)                     # relu of the gradient arriving at the ReLU
    np.testing.assert_allclose(guided_backprop(net, x, target=1), (on * back) @ w1, rtol=1e-12)
    np.testing.assert_allclose(deconvnet(net, x, target=1), np.tile(back @ w1, (4, 1)),
                               rtol=1e-12)
    np.testing.assert_allclose(saliency(net, x, target=1), (on * w2[1]) @ w1, rtol=1e-12)
    assert not net[1]._forward_hooks                # the rule is gone after the call


def test_relu_rule_keeps_the_forward_pass_and_needs_relu_layers(rng):
    net = _mlp(rng)
    x = cr.tensor(rng.normal(size=(3, 5)))
    with relu_rule(net, "guided"):
        out = net(x).numpy()
    np.testing.assert_array_equal(out, net(x).numpy())
    tanh = nn.Sequential(nn.Linear(5, 3), nn.Tanh())
    with pytest.raises(ValueError, match="has no nn.ReLU layers"):
        guided_backprop(tanh, np.ones((1, 5)))
    with pytest.raises(ValueError, match="rule must be one of"):
        with relu_rule(net, "lrp"):
            pass


def _cnn(rng):
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(3, 4, 3, rng=rng), nn.ReLU(), nn.Flatten(),
                         nn.Linear(16, 2, rng=rng))


def test_receptive_fields_of_a_conv_pool_chain(rng):
    net = _cnn(rng)
    assert receptive_field(net, "0") == (3, 1, -1)
    assert receptive_field(net, "2") == (4, 2, -1)
    assert receptive_field(net, "3") == (8, 2, -1)
    with pytest.raises(ValueError, match="model has no layer 'conv9'"):
        receptive_field(net, "conv9")


def test_top_patches_find_the_pattern_a_filter_detects(rng):
    conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    kernel = np.zeros((1, 1, 3, 3), dtype=np.float32)
    kernel[0, 0, 1, 1] = 1.0                       # responds to bright pixels
    with cr.no_grad():
        conv.weight.copy_(kernel)
    net = nn.Sequential(conv)
    x = rng.uniform(0, 0.1, size=(6, 1, 8, 8)).astype(np.float32)
    spots = [(1, 2), (5, 6), (3, 3)]
    for n, (r, c) in zip((4, 1, 2), spots):
        x[n, 0, r, c] = 1.0 + n / 10
    top = top_activating_patches(net, "0", x, 0, k=3)
    assert top["samples"].tolist() == [4, 2, 1]
    assert top["positions"].tolist() == [[1, 2], [3, 3], [5, 6]]
    assert (np.diff(top["values"]) <= 0).all()
    assert top["patches"].shape == (3, 1, 3, 3)
    assert (top["patches"][:, 0, 1, 1] == top["values"]).all()   # the spot in the middle
    np.testing.assert_array_equal(first_layer_filters(net), kernel)
    assert layer_activations(net, "0", x).shape == (6, 1, 8, 8)


def test_projection_by_plain_gradient_is_the_kernel_at_that_position(rng):
    conv = nn.Conv2d(1, 1, 3, bias=False, rng=rng).to(dtype="float64")
    x = rng.normal(size=(1, 1, 6, 6))
    net = nn.Sequential(conv)
    p = project_activation(net, "0", x, 0, position=(2, 1), rule="gradient")
    expected = np.zeros_like(x)
    expected[0, 0, 2:5, 1:4] = conv.weight.numpy()[0, 0]
    np.testing.assert_allclose(p, expected, rtol=1e-12)


def test_deconvnet_projection_of_a_cnn_channel_is_nonnegative_at_the_first_layer(rng):
    net = _cnn(rng)
    x = rng.uniform(size=(2, 1, 8, 8)).astype(np.float32)
    p = project_activation(net, "3", x, 1, rule="guided")
    assert p.shape == x.shape and np.abs(p).sum() > 0


def test_activation_maximization_raises_the_chosen_activation(rng):
    net = _cnn(np.random.default_rng(0))
    for channel in range(3):
        res = activation_maximization(net, "3", channel, (1, 8, 8), steps=40, lr=0.05, rng=1)
        a = res["activations"]
        assert a[-1] > a[0]
        assert a[20:].mean() > a[:10].mean()        # rising on average, jitter and blur aside
        assert res["image"].min() >= 0 and res["image"].max() <= 1
    again = activation_maximization(net, "3", 0, (1, 8, 8), steps=5, rng=1)
    np.testing.assert_array_equal(again["image"],
                                  activation_maximization(net, "3", 0, (1, 8, 8), steps=5,
                                                          rng=1)["image"])


def test_the_guided_rule_is_itself_differentiable(rng):
    from chainrule.explain.guided import guided_relu

    x = cr.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    w1 = cr.tensor(rng.normal(size=(5, 4)))
    c = cr.tensor(rng.normal(size=(3, 4)))
    w2 = rng.normal(size=(2, 5))
    w2 += np.sign(w2) * 0.2                          # away from relu(g)'s kink at g = 0

    def guided_input_gradient(w):
        with cr.enable_grad():                       # gradcheck's probes run without recording
            out = guided_relu(x @ w1.T, "guided") @ w.T
            (g,) = cr.grad(out[:, 1].sum(), x, create_graph=True)
            return (g * c).sum()

    assert cr.gradcheck(guided_input_gradient, cr.tensor(w2, requires_grad=True))
    z = cr.tensor(rng.normal(size=(6,)))
    np.testing.assert_array_equal(guided_relu(z, "deconvnet").numpy(), np.maximum(z.numpy(), 0))
