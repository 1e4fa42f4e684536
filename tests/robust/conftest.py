"""Models the robustness tests attack: linear classifiers with known answers, a trained MLP."""

import numpy as np
import pytest

from chainrule import Tensor, nn, optim
from chainrule.data.datasets import digits
from chainrule.train import Trainer


def linear_model(weight, bias, dtype=np.float64):
    """A Linear classifier with the given weight (C, D) and bias (C,)."""
    weight, bias = np.asarray(weight, dtype), np.asarray(bias, dtype)
    layer = nn.Linear(weight.shape[1], weight.shape[0]).to(dtype=dtype)
    layer.load_state_dict({"weight": weight, "bias": bias})
    return layer


@pytest.fixture
def make_linear():
    """``make_linear(weight, bias)``: a Linear classifier (float64) with these parameters."""
    return linear_model


@pytest.fixture
def binary_linear(rng):
    """A two-class linear model on 20 features and 16 inputs in [0.3, 0.7] (inside the box)."""
    model = linear_model(rng.normal(size=(2, 20)), rng.normal(size=2) * 0.1)
    x = rng.uniform(0.3, 0.7, size=(16, 20))
    with_labels = model(Tensor(x))._data.argmax(axis=1)
    return model, x, with_labels


@pytest.fixture(scope="session")
def digits_mlp():
    """An MLP trained for a second on the 8x8 digits (about 95% test accuracy), in eval mode."""
    (xtr, ytr), (xte, yte) = digits()
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64, rng=rng), nn.ReLU(),
                          nn.Linear(64, 10, rng=rng))
    trainer = Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=3e-3))
    trainer.fit((xtr, ytr), epochs=15, batch_size=32, rng=0, verbose=0)
    return model.eval(), xte[:, None][:64], yte[:64]
