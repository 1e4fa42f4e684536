"""top_activating_patches and receptive_field for kernels, strides and paddings that are not
square: the field was taken from the first entry of each setting, so a (1, 3) kernel gave 1x1
patches (the wrong pixels, without a word), and padding="same" raised from inside int()."""

import numpy as np
import pytest

from chainrule import explain, nn

X = np.random.default_rng(0).standard_normal((4, 1, 5, 6)).astype("float32")


def test_a_wide_kernel_gives_wide_patches_of_the_right_pixels():
    net = nn.Sequential(nn.Conv2d(1, 2, (1, 3), padding=(0, 1), rng=np.random.default_rng(1)),
                        nn.ReLU(), nn.MaxPool2d((1, 2)))
    assert explain.receptive_field(net, "0") == (1, 1, 0)
    assert explain.receptive_field(net, "0", axis=1) == (3, 1, -1)
    assert explain.receptive_field(net, "2", axis=1) == (4, 2, -1)
    r = explain.top_activating_patches(net, "0", X, 0, k=3)
    assert r["patches"].shape == (3, 1, 1, 3)
    padded = np.pad(X, ((0, 0), (0, 0), (0, 0), (1, 1)))
    w, b = net[0].weight.numpy()[0], net[0].bias.numpy()[0]
    for patch, v, n, (row, col) in zip(r["patches"], r["values"], r["samples"], r["positions"]):
        np.testing.assert_array_equal(patch, padded[n, :, row:row + 1, col:col + 3])
        # the patch is what the unit sees: its activation is the kernel applied to it
        np.testing.assert_allclose((w * patch).sum() + b, v, rtol=1e-5, atol=1e-6)


def test_padding_same_is_its_padding():
    same = nn.Sequential(nn.Conv2d(1, 1, (3, 5), padding="same"))
    assert explain.receptive_field(same, "0") == (3, 1, -1)
    assert explain.receptive_field(same, "0", axis=1) == (5, 1, -2)
    with pytest.raises(ValueError, match="axis must be 0"):
        explain.receptive_field(same, "0", axis=2)


def test_a_channel_out_of_range_is_named():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, rng=np.random.default_rng(1)), nn.ReLU())
    for call in (lambda c: explain.activation_maximization(net, "0", c, (1, 5, 6), steps=1),
                 lambda c: explain.project_activation(net, "0", X, c),
                 lambda c: explain.top_activating_patches(net, "0", X, c)):
        for bad in (2, -1):  # IndexError from inside; -1 the last channel without a word
            with pytest.raises(ValueError, match=rf"channel must be an int in \[0, 2\).*got {bad}"):
                call(bad)
    # channel 1 is the second channel: the projection of its strongest unit is its kernel there
    g = explain.project_activation(net, "0", X[:1], 1, rule="gradient")
    w = net[0].weight.numpy()[1, 0]
    act = net(X[:1]).numpy()[0, 1]
    r, c = np.unravel_index(act.argmax(), act.shape)
    want = np.pad(np.zeros((5, 6), dtype="float32"), 1)
    want[r:r + 3, c:c + 3] = w
    np.testing.assert_allclose(g[0, 0], want[1:-1, 1:-1], rtol=1e-6)


def test_layers_given_as_modules():
    """The feature-visualization functions took only a layer's dotted name (a module was 'no
    layer Conv2d(...)'), where grad_cam and Captum's layer methods take the module."""
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, rng=np.random.default_rng(1)), nn.ReLU(),
                        nn.MaxPool2d(2))
    conv, pool = net[0], net[2]
    np.testing.assert_array_equal(explain.layer_activations(net, conv, X),
                                  explain.layer_activations(net, "0", X))
    assert explain.receptive_field(net, pool) == explain.receptive_field(net, "2") == (4, 2, -1)
    by_module = explain.top_activating_patches(net, pool, X, 1, k=2)
    by_name = explain.top_activating_patches(net, "2", X, 1, k=2)
    for key in by_name:
        np.testing.assert_array_equal(by_module[key], by_name[key])
    np.testing.assert_array_equal(explain.project_activation(net, conv, X[:1], 0),
                                  explain.project_activation(net, "0", X[:1], 0))
    with pytest.raises(ValueError, match="layer Conv2d is not a module of Sequential"):
        explain.layer_activations(net, nn.Conv2d(1, 2, 3), X)
