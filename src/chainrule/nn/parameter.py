"""Parameter and Buffer: the two kinds of state a Module owns, one trained and one only kept."""

from __future__ import annotations

from ..autograd.tensor import Tensor, tensor
from ..backend import ensure_array

__all__ = ["Buffer", "Parameter"]


def _as_array(data):
    """An ndarray for ``data``, sharing memory with an array or Tensor (lists are copied)."""
    if isinstance(data, Tensor):
        return data.data
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        return ensure_array(data)
    return tensor(data).data


class Parameter(Tensor):
    """A trainable tensor of a Module: a floating-point leaf that requires grad.

    Args:
        data: an array, Tensor (memory is shared) or nested list of floats.
        requires_grad: False freezes the parameter (it is still saved in the state dict).

    >>> import chainrule as cr
    >>> p = Parameter(cr.tensor([1.0, 2.0]))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        data = _as_array(data)
        if data.dtype.kind != "f":
            raise TypeError(
                f"Parameter: data must be floating-point, got dtype {data.dtype}; "
                "convert it with .astype('float32')"
            )
        super().__init__(data, requires_grad=bool(requires_grad))

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """State of a Module that is saved and moved with it but not trained (e.g. a running mean).

    Args:
        data: an array, Tensor (memory is shared) or nested list, of any dtype.
        persistent: False keeps the buffer out of ``state_dict()``.
    """

    __slots__ = ("persistent",)

    def __init__(self, data, *, persistent: bool = True):
        super().__init__(_as_array(data), requires_grad=False)
        self.persistent = bool(persistent)

    def __repr__(self) -> str:
        return "Buffer containing:\n" + super().__repr__()
