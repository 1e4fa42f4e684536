"""Fully connected layers: Linear (an affine map, the perceptron's weighted sum) and Identity."""

from __future__ import annotations

import math

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.linalg import linear, linear_relu
from . import init
from ._checks import float_dtype, positive_int, reset_with, resolve_rng
from .module import Module, Parameter

__all__ = ["Identity", "Linear"]


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed head); ignores arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """Affine map ``y = x @ weight.T + bias``, with PyTorch's layout and default initialization.

    Args:
        in_features: size of the last input axis.
        out_features: size of the last output axis.
        bias: whether to learn an additive bias.
        rng: numpy Generator for the initial weights (None: the default generator).
        dtype: floating-point or complex dtype of the parameters.

    Shape:
        ``(..., in_features) -> (..., out_features)``; ``weight`` is (out_features, in_features),
        ``bias`` is (out_features,).

    The weight is drawn from kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)), and so is
    the bias, as in PyTorch.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> layer = nn.Linear(784, 256, rng=np.random.default_rng(0))
    >>> layer
    Linear(in_features=784, out_features=256, bias=True)
    >>> layer(cr.tensor(np.zeros((32, 784), dtype="float32"))).shape
    (32, 256)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, rng=None,
                 dtype=None):
        super().__init__()
        self.in_features = positive_int("Linear", "in_features", in_features, 0)
        self.out_features = positive_int("Linear", "out_features", out_features, 0)
        dt = float_dtype(dtype, "Linear", complex_ok=True)
        xp = get_array_module()
        self.weight = Parameter(xp.empty((out_features, in_features), dtype=dt))
        if bias:
            self.bias = Parameter(xp.empty((out_features,), dtype=dt))
        else:
            self.register_parameter("bias", None)
        reset_with(self, resolve_rng(rng, "Linear"))  # a subclass's reset_parameters(self) too

    def reset_parameters(self, *, rng=None) -> None:
        """Draw fresh weights with PyTorch's default initialization (``rng`` None: the default
        generator, which ``chainrule.manual_seed`` seeds)."""
        rng = resolve_rng(rng, type(self).__name__)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        if self.bias is not None:
            # a zero-size layer (allowed, as in PyTorch) gets a zero bias: no fan_in to scale by
            bound = 1 / math.sqrt(self.in_features) if self.in_features else 0.0
            init.uniform_(self.bias, -bound, bound, rng=rng)

    def forward(self, x):
        if not (isinstance(x, Tensor) and x._data.shape[-1:] == (self.in_features,)):
            self._check_input(x)  # the layer's own message for a wrong input
        p = self._parameters  # one dict instead of two trips through Module.__getattr__
        # nn.utils.weight_norm / spectral_norm / prune make the weight (prune: also the bias) a
        # computed attribute
        return linear(x, p["weight"] if "weight" in p else self.weight,
                      p["bias"] if "bias" in p else self.bias)

    def forward_relu(self, x):
        """``relu(self(x))`` in one op (``F.linear_relu``), as ``Sequential`` runs the pair."""
        self._check_input(x)
        p = self._parameters
        return linear_relu(x, p["weight"] if "weight" in p else self.weight,
                           p["bias"] if "bias" in p else self.bias)

    def _check_input(self, x) -> None:
        shape = getattr(x, "shape", None)
        if shape is None:
            raise TypeError(f"Linear: input must be a Tensor, got {type(x).__name__}")
        # the weight's width: a weight replaced by hand (a model's surgery) rules, as PyTorch's
        width = self.weight.shape[-1]
        if not shape or shape[-1] != width:
            raise ValueError(
                f"Linear: expected input with last dimension {width}, "
                f"got shape {tuple(shape)}"
            )

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
