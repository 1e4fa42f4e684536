"""A float32 training step stays in float32: no op output, gradient or optimizer state is float64.

A float64 temporary costs twice the memory traffic and, once it reaches a parameter, turns every
later step into float64 arithmetic. Every Tensor is created through ``Tensor.__init__`` (op outputs
in ``Function.apply``, the gradients of each backward, constants), so watching it sees them all.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.tensor import Tensor


@pytest.fixture
def float_dtypes(monkeypatch):
    """The dtypes of every floating-point array wrapped in a Tensor while the test runs."""
    seen = []
    init = Tensor.__init__

    def watching(self, data, *sizes, requires_grad=False):
        if getattr(data, "dtype", None) is not None and data.dtype.kind == "f":
            seen.append(data.dtype)
        init(self, data, *sizes, requires_grad=requires_grad)

    monkeypatch.setattr(Tensor, "__init__", watching)
    return seen


def _mlp(rng):
    return cr.models.MLP((784, 32, 32, 10), rng=rng), (16, 1, 28, 28)


def _lenet(rng):
    return cr.models.LeNet5("modern", rng=rng), (16, 1, 28, 28)


def _conv_ae(rng):
    nn = cr.nn
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1, rng=rng), nn.ReLU(),
        nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1, rng=rng), nn.Sigmoid(),
    )
    return net, (16, 1, 28, 28)


def _gan_critic(rng):  # the GAN's discriminator: leaky ReLUs, one logit, BCE on logits
    nn = cr.nn
    net = nn.Sequential(nn.Linear(784, 32, rng=rng), nn.LeakyReLU(0.2),
                        nn.Linear(32, 16, rng=rng), nn.LeakyReLU(0.2), nn.Linear(16, 1, rng=rng))
    return net, (16, 784)


@pytest.mark.parametrize("build", [_mlp, _lenet, _conv_ae, _gan_critic],
                         ids=["mlp", "lenet5", "conv_ae", "gan_critic"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_one_training_step_creates_no_float64_array(rng, float_dtypes, build, optimizer):
    net, shape = build(rng)
    x = cr.tensor(rng.random(shape, dtype=np.float32))
    opt = (cr.optim.SGD(net.parameters(), lr=0.01, momentum=0.9) if optimizer == "sgd"
           else cr.optim.Adam(net.parameters(), lr=1e-3))
    for _ in range(2):  # the second step also runs with optimizer state
        opt.zero_grad()
        out = net(x)
        if out.shape == x.shape:
            loss = cr.F.mse_loss(out, x)
        elif out.shape[1] == 1:
            target = cr.tensor(np.ones(out.shape, np.float32))
            loss = cr.F.binary_cross_entropy_with_logits(out, target)
        else:
            loss = cr.F.cross_entropy(out, cr.tensor(rng.integers(0, 10, shape[0])))
        loss.backward()
        opt.step()
    assert float_dtypes, "the watch saw no Tensor at all"
    assert set(float_dtypes) == {np.dtype(np.float32)}
    for p in net.parameters():
        assert p.dtype == np.float32 and p.grad.dtype == np.float32
    for state in opt.state.values():
        for value in state.values():
            assert not hasattr(value, "dtype") or value.dtype == np.float32


@pytest.mark.kernel_free
def test_the_watch_sees_float64(float_dtypes):
    cr.tensor(np.ones(3)) * 2.0
    assert np.dtype(np.float64) in float_dtypes
