"""Tensor operators PyTorch has that chainrule lacked: ``value in t``, ``+t``, ``t << k`` and
``t >> k`` (both ways round), the in-place ``&=``, ``|=``, ``^=``, ``<<=``, ``>>=``, ``%=``,
``//=``, ``**=`` (truly in place and recorded, as ``+=``), ``reversed(t)``, ``del t[i]``'s refusal,
Python 2's ``__div__`` family, ``s / x`` of a float16 ``x`` as PyTorch's, the device probes
``is_xla``, ``is_vulkan``, ``is_maia``, ``is_mtia`` and ``is_distributed()`` (all False), and
the deprecated ``resize``/``resize_as`` (a reshape to the same number of elements) and
``volatile`` (False), with PyTorch's warnings.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .reciprocal import reciprocal
from .torch_names import bitwise_left_shift, bitwise_right_shift

__all__: list[str] = []


def _contains(self, element) -> bool:
    """``element in t``: whether any element of ``t`` equals ``element`` (a number or a Tensor,
    compared elementwise with broadcasting), as PyTorch's."""
    if not isinstance(element, (Tensor, numbers.Number)):
        raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed "
                           f"in a {type(element).__name__}")
    other = element._data if isinstance(element, Tensor) else element
    xp = get_array_module(self._data)
    try:
        xp.broadcast_shapes(self._data.shape, xp.shape(other))
    except ValueError:
        raise RuntimeError(f"Tensor.__contains__: the element of shape {xp.shape(other)} does "
                           f"not broadcast with the tensor's shape {self._data.shape}") from None
    return bool(xp.any(self._data == other))


def _pos(self) -> Tensor:
    """``+t``: ``t`` itself (PyTorch's ``positive``); a bool tensor is refused, as PyTorch's."""
    if self._data.dtype.kind == "b":
        raise TypeError("The `+` operator, on a bool tensor is not supported.")
    return self


def _scalar_like(self, value) -> Tensor:
    """A Python int as a 0-d tensor of ``self``'s dtype (a weak scalar, as in PyTorch); anything
    else unchanged (a float is then refused, not truncated)."""
    if isinstance(value, Tensor) or not isinstance(value, numbers.Integral):
        return value
    bool_int = self._data.dtype == bool and not isinstance(value, bool)  # -3 >> mask: int64
    dtype = "int64" if bool_int else self._data.dtype
    return Tensor(get_array_module(self._data).asarray(value, dtype=dtype))


def _reversed(self) -> Tensor:
    """``reversed(t)``: ``t.flip(0)`` (a 0-d tensor is itself), as PyTorch's."""
    return self if self.ndim == 0 else self.flip(0)


def _delitem(self, key):
    raise TypeError("Tensor does not support deleting items")


def _resize(self, *sizes) -> Tensor:
    """PyTorch's deprecated out-of-place ``resize``: ``self`` in the shape ``sizes``, which must
    hold as many elements (differentiable, a copy)."""
    warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    return _reshaped(self, sizes)


def _resize_as(self, tensor) -> Tensor:
    """PyTorch's deprecated out-of-place ``resize_as``: ``resize`` to ``tensor``'s shape."""
    warnings.warn("non-inplace resize_as is deprecated", UserWarning, stacklevel=2)
    return _reshaped(self, tuple(tensor.shape))


def _reshaped(self, sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    n = math.prod(sizes)
    if n != self.numel():
        raise RuntimeError(f"requested resize to {'x'.join(map(str, sizes))} ({n} elements in "
                           f"total), but the given tensor has a size of "
                           f"{'x'.join(map(str, self.shape))} ({self.numel()} elements). "
                           "autograd's resize can only change the shape of a given tensor, "
                           "while preserving the number of elements.")
    return self.reshape(sizes).clone()


def _volatile(self) -> bool:
    warnings.warn("volatile was removed (Variable.volatile is always False)", UserWarning,
                  stacklevel=2)
    return False


def _in_place(method_name):
    def dunder(self, other):
        return getattr(self, method_name)(other)

    dunder.__name__ = dunder.__qualname__ = f"in-place {method_name}"
    dunder.__doc__ = f"``self.{method_name}(other)``: in place, as PyTorch's."
    return dunder


Tensor.__contains__ = _contains
Tensor.__pos__ = _pos
Tensor.__reversed__ = _reversed
Tensor.__delitem__ = _delitem
Tensor.__lshift__ = lambda self, other: bitwise_left_shift(self, other)
Tensor.__rshift__ = lambda self, other: bitwise_right_shift(self, other)
Tensor.__rlshift__ = lambda self, other: bitwise_left_shift(_scalar_like(self, other), self)
Tensor.__rrshift__ = lambda self, other: bitwise_right_shift(_scalar_like(self, other), self)
for _dunder, _method in (("__iand__", "bitwise_and_"), ("__ior__", "bitwise_or_"),
                         ("__ixor__", "bitwise_xor_"), ("__ilshift__", "bitwise_left_shift_"),
                         ("__irshift__", "bitwise_right_shift_"), ("__imod__", "remainder_"),
                         ("__ifloordiv__", "floor_divide_"), ("__ipow__", "pow_"),
                         ("__idiv__", "div_")):
    setattr(Tensor, _dunder, _in_place(_method))
_rtruediv = Tensor.__rtruediv__


def _reflected_division(self, other):
    """``other / self`` for a number or array ``other``: PyTorch's ``reciprocal(self) * other``,
    which rounds ``1 / self`` to the dtype first (in float16 inf where it passes 65504, even for
    a small ``other``; ``2.5 / x`` an ulp from the correctly rounded quotient in about a third
    of float32 values, which chainrule's were before)."""
    if not isinstance(other, Tensor) and self._data.dtype.kind in "biufc":
        return reciprocal(self) * other
    return _rtruediv(self, other)


Tensor.__rtruediv__ = _reflected_division
Tensor.__div__ = Tensor.__truediv__
Tensor.__rdiv__ = Tensor.__rtruediv__
Tensor.__long__ = Tensor.__int__
Tensor.__nonzero__ = Tensor.__bool__
for _name in ("is_xla", "is_vulkan", "is_maia", "is_mtia"):
    setattr(Tensor, _name, property(lambda self: False, doc="False: no such device here."))
Tensor.is_distributed = lambda self: False
Tensor.resize = _resize
Tensor.resize_as = _resize_as
Tensor.volatile = property(_volatile, doc="False, with PyTorch's warning that it was removed.")
