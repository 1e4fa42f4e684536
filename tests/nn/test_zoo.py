"""Model-zoo smoke tests: small networks overfit 64 samples; min pooling is max pooling mirrored."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _overfit(model, x, y, *, steps, lr):
    opt = optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = cr.F.cross_entropy(model(cr.tensor(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with cr.no_grad():
        return float((model(cr.tensor(x)).numpy().argmax(1) == y).mean())


def test_small_mlp_overfits_64_samples():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 20)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    model = nn.Sequential(nn.Linear(20, 64, rng=rng), nn.ReLU(), nn.Linear(64, 10, rng=rng))
    assert _overfit(model, x, y, steps=200, lr=0.01) == 1.0


def test_small_cnn_overfits_64_samples():
    rng = np.random.default_rng(1)
    x = rng.random((64, 1, 12, 12)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, rng=rng), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, rng=rng), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        nn.Linear(64, 10, rng=rng),
    )
    assert _overfit(model, x, y, steps=150, lr=0.01) == 1.0


@pytest.mark.parametrize("kernel,stride,padding", [(2, 2, 0), (3, 1, 1), (3, 2, 1)])
def test_min_pool_is_mirrored_max_pool(kernel, stride, padding):
    rng = np.random.default_rng(2)
    data = rng.standard_normal((2, 3, 7, 7))
    a = cr.tensor(data, requires_grad=True)
    b = cr.tensor(data, requires_grad=True)
    ya = nn.MinPool2d(kernel, stride, padding)(a)
    yb = -nn.MaxPool2d(kernel, stride, padding)(-b)
    np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    g = rng.standard_normal(ya.shape)
    ya.backward(g)
    yb.backward(g)
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    assert cr.gradcheck(lambda t: nn.MinPool2d(kernel, stride, padding)(t),
                        cr.tensor(data, requires_grad=True))
