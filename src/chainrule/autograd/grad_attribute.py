"""``Tensor.grad``: read as a plain attribute, checked when a program assigns it (PyTorch's rule:
None, or a tensor of this tensor's shape, dtype and device, not the tensor itself).

A ``.grad`` of another dtype set by hand (``p.grad = torch.zeros_like(p, dtype=float64)``) made
backward add into it and an optimizer step with it, silently changing what the parameter
received; PyTorch refuses it at the assignment, and so does chainrule now. The engine writes its
own gradients into ``_grad`` directly (they are right by construction).
"""

from __future__ import annotations

from operator import attrgetter

from ..backend import device_of
from .grad_dtype import allows_grad_dtype
from .tensor import Tensor

__all__ = ["set_grad"]


def set_grad(self: Tensor, value) -> None:
    """Assign ``value`` as this tensor's ``.grad``, refusing what PyTorch refuses."""
    if value is not None:
        if not isinstance(value, Tensor):
            if getattr(value, "is_sparse", False) is not True:  # chainrule.sparse: a gradient
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
        elif value is self:
            raise RuntimeError("can't assign a tensor as its own grad (assign a copy: "
                               "t.grad = t.detach().clone())")
        elif value._data.dtype != self._data.dtype and not allows_grad_dtype(self,
                                                                             value._data.dtype):
            raise RuntimeError(f"attempting to assign a gradient with dtype {value._data.dtype} "
                               f"to a tensor with dtype {self._data.dtype}; the gradient must "
                               f"match the tensor's grad_dtype (its dtype unless set; cast it: "
                               f".to({self._data.dtype}), or set grad_dtype, with caution)")
        elif device_of(value._data) != device_of(self._data):
            raise RuntimeError(f"attempting to assign a gradient on device "
                               f"{device_of(value._data)} to a tensor on device "
                               f"{device_of(self._data)}; move it there first")
        if tuple(value.shape) != tuple(self._data.shape):
            raise RuntimeError(f"attempting to assign a gradient of size {list(value.shape)} to a "
                               f"tensor of size {list(self._data.shape)}; the gradient and the "
                               "tensor must be the same size")
    self._grad = value


def _del_grad(self: Tensor) -> None:
    self._grad = None  # ``del t.grad``, as PyTorch's: t.grad is None after it


Tensor.grad = property(attrgetter("_grad"), set_grad, _del_grad, doc=(
    "The accumulated gradient (a Tensor) after ``backward()``, else None. Assigning checks it "
    "as PyTorch does: None, or a tensor of this one's shape, dtype and device."))
