"""reciprocal, 1 / x, as a node of its own as PyTorch's (ReciprocalBackward0): anomaly mode names
it and its 0th output where a NaN reaches it; its gradient is -g * y**2, from the output."""

from __future__ import annotations

from ..autograd.function import OutputOnly
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .elementwise import div

__all__ = ["reciprocal"]


class Reciprocal(OutputOnly):
    def forward(self, x):
        return get_array_module(x).reciprocal(x)

    def backward(self, g):
        return g * -(self.output * self.output)


def reciprocal(input):  # noqa: A002
    """1 / input (integers give floats, as ``1 / input``)."""
    if isinstance(input, Tensor) and input._data.dtype.kind == "f":
        return Reciprocal.apply(input)
    return div(1, input)
