"""The input and target of a regression-style loss in one floating dtype, as PyTorch takes them:
``F.mse_loss(float64_input, float32_target)`` is computed in float64 (the promoted dtype), the
lower operand cast differentiably, so its gradient comes back in its own dtype. Where PyTorch
also takes integer (or bool) targets, ``F.mse_loss(x, counts)``, they become constants of the
input's dtype, as PyTorch's promotion of a float and an integer tensor gives."""

from __future__ import annotations

from ..autograd.tensor import Tensor
from ._classification import _float_target
from ._promotion import promoted


def float_pair(op, x, target, *, cast_input=True, integers=""):
    """``(x, target)`` promoted to their common floating dtype where both are float Tensors of
    two dtypes, then checked as ``_float_target`` checks them (shape, non-float targets).
    ``cast_input=False`` leaves ``x`` in its dtype, for a loss that PyTorch composes of ops on
    the input alone before the target joins (``exp(input) - target * input``). ``integers``:
    the dtype kinds of target Tensors PyTorch accepts besides floats ("iu" integers, "b" bool),
    taken as constants in ``x``'s dtype (they cannot require grad)."""
    if isinstance(target, Tensor) and target.dtype.kind in integers and x.dtype.kind == "f":
        target = Tensor(target._data.astype(x.dtype))
    if (isinstance(target, Tensor) and x.dtype.kind == "f" and target.dtype.kind == "f"
            and target.dtype != x.dtype):
        wide, target = promoted(x, target)
        return (wide if cast_input else x), _float_target(op, wide, target)
    return x, _float_target(op, x, target)
