"""``autograd.Variable``, PyTorch's legacy constructor: since PyTorch 0.4 a Variable is a Tensor.

``Variable(t, requires_grad=False)`` gives a tensor sharing ``t``'s memory, cut from any graph
(a leaf), that requires grad as asked; ``isinstance(x, Variable)`` is True for every Tensor, as
in PyTorch; ``volatile=`` is accepted with PyTorch's warning that it has no effect.
"""

from __future__ import annotations

import warnings

from ..backend import get_array_module
from .tensor import Tensor

__all__ = ["Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """``Variable(data, requires_grad=False, volatile=False)``: ``data`` (a Tensor) as a leaf
    sharing its memory, with ``requires_grad``; ``Variable()`` is an empty float tensor.

    >>> import chainrule as cr
    >>> v = cr.autograd.Variable(cr.ones(2), requires_grad=True)
    >>> v.requires_grad, v.is_leaf, isinstance(v, cr.autograd.Variable)
    (True, True, True)
    """

    def __new__(cls, data=None, requires_grad: bool = False, volatile: bool = False):
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():`"
                          " instead.", UserWarning, stacklevel=2)
        if not isinstance(requires_grad, bool):
            raise TypeError(f"Variable: requires_grad must be True or False, got "
                            f"{requires_grad!r}")
        if data is None:
            data = Tensor(get_array_module().zeros(0, dtype="float32"))
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable: data has to be a Tensor, but got {type(data).__name__}")
        out = data.detach()
        if requires_grad:
            out.requires_grad_(True)
        return out
