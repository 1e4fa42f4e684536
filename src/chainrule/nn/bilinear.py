"""``Bilinear``: a learned bilinear form per output feature (``F.bilinear``), with PyTorch's
weight layout (out_features, in1_features, in2_features) and initialization."""

from __future__ import annotations

import math

from ..backend import get_array_module
from ..ops.bilinear import bilinear
from . import init
from ._checks import float_dtype, positive_int, reset_with, resolve_rng
from .module import Module, Parameter

__all__ = ["Bilinear"]


class Bilinear(Module):
    """``y = x1^T A x2 + b``: weight (out, in1, in2), bias (out,), both drawn from
    U(-1/sqrt(in1), 1/sqrt(in1)) as in PyTorch.

    >>> import numpy as np
    >>> Bilinear(2, 3, 4, rng=np.random.default_rng(0))
    Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True)
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 *, rng=None, dtype=None):
        super().__init__()
        self.in1_features = positive_int("Bilinear", "in1_features", in1_features)
        self.in2_features = positive_int("Bilinear", "in2_features", in2_features)
        self.out_features = positive_int("Bilinear", "out_features", out_features)
        dt = float_dtype(dtype, "Bilinear")
        xp = get_array_module()
        self.weight = Parameter(xp.empty((out_features, in1_features, in2_features), dtype=dt))
        if bias:
            self.bias = Parameter(xp.empty((out_features,), dtype=dt))
        else:
            self.register_parameter("bias", None)
        reset_with(self, resolve_rng(rng, "Bilinear"))  # a subclass's reset_parameters(self) too

    def reset_parameters(self, *, rng=None) -> None:
        """Draw fresh weights with PyTorch's default initialization (``rng`` None: the default
        generator, which ``chainrule.manual_seed`` seeds)."""
        bound, rng = 1 / math.sqrt(self.in1_features), resolve_rng(rng, "Bilinear")
        init.uniform_(self.weight, -bound, bound, rng=rng)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, rng=rng)

    def forward(self, input1, input2):
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
