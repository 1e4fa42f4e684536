"""``bilinear``: PyTorch's ``F.bilinear``, ``y = x1^T A x2 + b`` for each output feature.

A composition of a matrix product, a broadcast product and a sum, so it needs no gradient rule of
its own and differentiates to any order.
"""

from __future__ import annotations

from ..autograd.tensor import Tensor
from .activation import _float_input
from .linalg import matmul
from .reduce import sum as _sum
from .shape import permute, reshape, unsqueeze

__all__ = ["bilinear"]


def bilinear(input1, input2, weight, bias=None) -> Tensor:
    """``y[..., o] = sum_ij input1[..., i] * weight[o, i, j] * input2[..., j] + bias[o]``.

    Shape: input1 (*, in1), input2 (*, in2) with the same leading axes, weight (out, in1, in2),
    bias (out,) -> (*, out).
    """
    x1, x2 = _float_input("bilinear", input1), _float_input("bilinear", input2)
    w = _float_input("bilinear", weight)
    if w.ndim != 3:
        raise ValueError(f"bilinear: weight must be 3-D (out, in1, in2), got shape "
                         f"{tuple(w.shape)}")
    out, in1, in2 = w.shape
    if x1.ndim == 0 or x1.shape[-1] != in1 or x2.ndim == 0 or x2.shape[-1] != in2 \
            or x1.shape[:-1] != x2.shape[:-1]:
        raise ValueError(f"bilinear: inputs must be (*, {in1}) and (*, {in2}) with the same "
                         f"leading axes for weight of shape {tuple(w.shape)}, got "
                         f"{tuple(x1.shape)} and {tuple(x2.shape)}")
    if bias is not None and tuple(bias.shape) != (out,):
        raise ValueError(f"bilinear: bias must have shape ({out},), got {tuple(bias.shape)}")
    # x1 @ A as one matrix product: (*, in1) @ (in1, out * in2) -> (*, out, in2)
    left = matmul(x1, reshape(permute(w, (1, 0, 2)), (in1, out * in2)))
    left = reshape(left, tuple(x1.shape[:-1]) + (out, in2))
    y = _sum(left * unsqueeze(x2, -2), -1)
    return y if bias is None else y + bias
