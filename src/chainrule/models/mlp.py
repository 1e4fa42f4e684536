"""Multi-layer perceptrons of any depth: the lecture's feed-forward networks."""

from __future__ import annotations

import numbers

from .. import nn
from .registry import register

__all__ = ["MLP"]

_ACTIVATIONS = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "elu": nn.ELU, "softplus": nn.Softplus,
    "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU, "selu": nn.SELU,
}


@register("mlp", summary="fully connected network of any topology, e.g. 784-800-10",
          source="Simard, Steinkraus & Platt, ICDAR 2003 (784-800-10 on MNIST: 1.6% error)")
class MLP(nn.Module):
    """Fully connected layers ``sizes[0] -> sizes[1] -> ... -> sizes[-1]`` with activations between.

    The input is flattened first, so images (N, 1, 28, 28) go straight in. The last layer has no
    activation: it returns logits for ``cross_entropy`` (softmax is folded into the loss).

    Args:
        sizes: layer widths, input first and outputs last, e.g. ``(784, 800, 10)``.
        activation: one of relu, tanh, sigmoid, elu, softplus, leaky_relu, gelu, selu.
        dropout: dropout probability after each hidden activation (0 for none).
        rng: numpy Generator for initialization and dropout.
    """

    def __init__(self, sizes=(784, 800, 10), activation: str = "relu", dropout: float = 0.0, *,
                 rng=None):
        super().__init__()
        sizes = tuple(sizes)
        for i, s in enumerate(sizes):  # int() would make 3.7 a width of 3 and True one of 1
            if not isinstance(s, numbers.Integral) or isinstance(s, bool) or s < 1:
                raise ValueError(f"MLP: sizes[{i}] must be an int >= 1, got {s!r}")
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes must list at least two positive widths, got {sizes}")
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"MLP: unknown activation {activation!r}; expected one of {sorted(_ACTIVATIONS)}"
            )
        self.sizes = sizes
        layers = [nn.Flatten()]
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b, rng=rng))
            if i < len(sizes) - 2:
                layers.append(_ACTIVATIONS[activation]())
                if dropout > 0:
                    layers.append(nn.Dropout(dropout, rng=rng))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
