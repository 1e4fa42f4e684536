"""penultimate_features (and with it lenet_frechet_distance) hooked the last nn.Linear in
registration order: a classifier whose head is defined in __init__ before its body gave the
inputs of the body's first layer (here the 4 flattened pixels) instead of the features the head
reads (3), silently. It takes the layer the forward pass calls last."""

import numpy as np

from chainrule import nn
from chainrule.generative import lenet_frechet_distance, penultimate_features


class _HeadFirst(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(3, 2, rng=np.random.default_rng(0))
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, rng=np.random.default_rng(1)),
                                  nn.ReLU())

    def forward(self, x):
        return self.head(self.body(x))


def test_features_are_the_heads_inputs():
    model = _HeadFirst()
    x = np.random.default_rng(2).uniform(0, 1, (5, 1, 2, 2)).astype("float32")
    lin = model.body[1]
    want = np.maximum(x.reshape(5, 4) @ lin.weight.numpy().T + lin.bias.numpy(), 0)
    got = penultimate_features(model, x, batch_size=2)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert lenet_frechet_distance(model, x, x, batch_size=2) < 1e-9
