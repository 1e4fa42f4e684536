"""Which weights soft weight sharing covers by default: the connection weights of linear and
convolution layers (Nowlan & Hinton), not normalization scales, biases or embeddings, as weight
decay conventionally; ``layers=`` and ``params=`` choose others."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.bayes import SHARED_LAYERS, MixturePrior, shared_weights, sharing_loss


def _net():
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3, rng=rng), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                        nn.Linear(8, 3, rng=rng), nn.LayerNorm(3), nn.Linear(3, 3, rng=rng))
    return net


def test_default_covers_linear_and_conv_weights_only():
    net = _net()
    got = shared_weights(net)
    assert [id(w) for w in got] == [id(net[0].weight), id(net[4].weight), id(net[6].weight)]
    emb = nn.Sequential(nn.Embedding(4, 3), nn.Linear(3, 4, bias=False))
    assert [id(w) for w in shared_weights(emb)] == [id(emb[1].weight)]
    emb[1].weight = emb[0].weight  # tied: one tensor, covered once through the Linear
    assert [id(w) for w in shared_weights(emb)] == [id(emb[0].weight)]
    fused = nn.fuse(nn.Sequential(nn.Linear(2, 2), nn.ReLU()).eval())
    assert len(shared_weights(fused)) == 1  # a fused LinearReLU is still a Linear
    assert len(shared_weights(nn.LazyLinear(2))) == 1


def test_the_penalty_is_the_prior_over_those_weights_only():
    net, prior = _net(), MixturePrior([0.0, 0.5], sigma=0.2)
    x = cr.tensor(np.random.default_rng(1).standard_normal((4, 1, 4, 4)).astype("float32"))
    y = cr.tensor(np.random.default_rng(2).standard_normal((4, 3)).astype("float32"))
    net.train()
    got = sharing_loss(net, prior, 10, loss=cr.F.mse_loss, strength=2.0)(net(x), y)
    want = cr.F.mse_loss(net(x), y) + prior.penalty(
        net[0].weight, net[4].weight, net[6].weight) * (2.0 / 10)
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-6)
    got.backward()
    for norm in (net[1], net[5]):  # the norms' scales get only the data loss's gradient
        before = norm.weight.grad.numpy().copy()
        for p in net.parameters():
            p.grad = None
        cr.F.mse_loss(net(x), y).backward()
        np.testing.assert_allclose(norm.weight.grad.numpy(), before, rtol=1e-5, atol=1e-7)


def test_layers_and_params_choose_other_weights():
    net = _net()
    with_norms = shared_weights(net, layers=(*SHARED_LAYERS, nn.BatchNorm2d, nn.LayerNorm))
    assert len(with_norms) == 5
    assert [id(w) for w in shared_weights(net, layers=nn.Conv2d)] == [id(net[0].weight)]
    prior = MixturePrior([0.0])
    sharing_loss(net, prior, 10, loss=cr.F.mse_loss, params=[net[1].weight])
    with pytest.raises(TypeError, match=r"layers must be a Module class or a non-empty tuple of "
                                        r"them, got \(\)"):
        sharing_loss(net, prior, 10, loss=cr.F.mse_loss, layers=())
    with pytest.raises(ValueError, match=r"Sequential has no layer of the kinds in layers "
                                         r"\(Embedding\)"):
        sharing_loss(net, prior, 10, loss=cr.F.mse_loss, layers=nn.Embedding)
