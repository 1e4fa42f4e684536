"""Small problems and models for the trainer tests: blobs, XOR, and an MLP with a noise layer."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Noise(nn.Module):
    """Adds Gaussian noise in training mode, drawn from its own Generator (as Dropout does)."""

    def __init__(self, scale, *, rng):
        super().__init__()
        self.scale, self.rng = scale, rng

    def forward(self, x):
        if not self.training:
            return x
        return x + cr.tensor(self.rng.normal(0.0, self.scale, x.shape).astype(x.dtype))


def make_mlp(seed=0, hidden=16, noise=0.0, n_in=2, n_out=2):
    rng = np.random.default_rng(seed)
    layers = [nn.Linear(n_in, hidden, rng=rng), nn.Tanh()]
    if noise:
        layers.append(Noise(noise, rng=np.random.default_rng(seed + 1000)))
    layers.append(nn.Linear(hidden, n_out, rng=rng))
    return nn.Sequential(*layers)


def make_blobs(n=200, seed=0, spread=0.6):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    centers = np.array([[-1.0, -1.0], [1.0, 1.0]], dtype=np.float32)
    x = (centers[y] + spread * rng.normal(size=(n, 2))).astype(np.float32)
    return x, y.astype(np.int64)


@pytest.fixture
def blobs():
    return make_blobs()


@pytest.fixture
def mlp():
    return make_mlp
