"""The class-weight argument of the class-label losses (cross entropy, nll, multi-margin).

PyTorch's kernels for these losses take ``weight`` only in the input's dtype: a float32 weight
with float64 logits (or an integer or bool one) raises "expected scalar type Double but found
Float". Cross entropy with class probabilities (a float target) is computed by ordinary ops
there and accepts any weight dtype. This module holds that rule in one place.
"""

from __future__ import annotations

from ..autograd.mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .cast import cast


def class_weight(op, weight, x, n, strict=True):
    """``weight`` as an array of ``x``'s dtype and shape ``(n,)``, or None; without ``strict``
    a weight that requires grad comes back as the Tensor (soft targets differentiate it).

    With ``strict`` a weight that carries a dtype (a Tensor or an array) must have the input's
    dtype, as PyTorch's; a Python list is converted to it.
    """
    if weight is None:
        return None
    grad = isinstance(weight, Tensor) and weight.requires_grad and is_grad_enabled()
    if grad and strict:
        raise RuntimeError(
            f"{op}: not differentiable with respect to weight, which requires "
            "grad (as PyTorch's, for class labels); pass weight.detach()"
        )
    xp = get_array_module(x._data)
    data = weight._data if isinstance(weight, Tensor) else weight
    typed = hasattr(data, "dtype")
    data = xp.asarray(data)
    if data.dtype.kind not in "fiu":
        raise TypeError(f"{op}: weight must be numeric, got dtype {data.dtype}")
    if data.shape != (n,):
        raise ValueError(
            f"{op}: weight must have shape ({n},), one per class, got shape {data.shape}"
        )
    if strict and typed and data.dtype != x._data.dtype:
        raise TypeError(
            f"{op}: weight has dtype {data.dtype} but input has dtype "
            f"{x._data.dtype} (PyTorch refuses a class weight of another dtype); "
            f"convert it, e.g. weight.astype('{x._data.dtype}')"
        )
    if grad:  # class probabilities: the Tensor itself, for the loss composed of ops to take
        return weight if data.dtype == x._data.dtype else cast(weight, x._data.dtype)
    return xp.asarray(data, dtype=x._data.dtype)
