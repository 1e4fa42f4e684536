"""``Size``, and what a Tensor holds when it is given something other than a NumPy array.

``Tensor(array)`` is chainrule's own constructor (ops pass their results to it) and keeps the
array. Called as PyTorch's legacy ``torch.Tensor``, it also takes a list (``Tensor([1, 2])``: the
default float dtype) and sizes (``Tensor(out_features, in_features)`` or ``Tensor(Size([2, 3]))``:
zeros of the default float dtype, where PyTorch leaves the memory uninitialized), as custom layers
write before their ``reset_parameters``.
"""

from __future__ import annotations

from ..backend import numpy

__all__ = ["Shape", "Size", "legacy_data"]


class Size(tuple):
    """A tensor's shape, a tuple of ints (PyTorch's ``torch.Size``)."""

    def numel(self) -> int:
        """The number of elements of a tensor of this shape."""
        n = 1
        for d in self:
            n *= d
        return n

    def __repr__(self) -> str:
        return f"Size({list(self)})"


class Shape(Size):
    """``Tensor.shape``: a ``Size`` (``x.shape.numel()``, equal to a tuple or a ``torch.Size`` of
    the same ints, as PyTorch's) that prints as a plain tuple, as chainrule's messages and
    doctests have always shown a shape (``x.size()`` prints as ``Size([...])``)."""

    __repr__ = tuple.__repr__


def _is_int(x) -> bool:
    return isinstance(x, (int, numpy.integer)) and not isinstance(x, (bool, numpy.bool_))


def legacy_data(data, sizes: tuple = ()):
    """The array for ``Tensor(data, *sizes)`` when ``data`` is not a NumPy array or a Tensor: a
    NumPy scalar as a 0-d array, a list or tuple as data of the default float dtype, ints or a
    Size as zeros of that size, a CuPy array as it is; a bare float, bool or complex is
    refused."""
    from ..backend.defaults import get_default_dtype

    if sizes or _is_int(data) or isinstance(data, Size):
        shape = tuple(data) if isinstance(data, Size) and not sizes else (data, *sizes)
        if not all(_is_int(n) and n >= 0 for n in shape):
            raise TypeError(f"Tensor(*sizes): sizes must be non-negative ints, got {shape!r}; "
                            "pass data as one list or array (Tensor([1, 2]))")
        return numpy.zeros(shape, dtype=get_default_dtype())
    if isinstance(data, numpy.generic):
        return numpy.asarray(data)
    if isinstance(data, (list, tuple)):
        return numpy.asarray(data, dtype=get_default_dtype())
    if isinstance(data, (bool, float, complex)):
        raise TypeError(
            f"Tensor: data must be an array, a Tensor, a list or sizes (ints), got "
            f"{type(data).__name__} {data!r}; use cr.tensor({data!r}) for a 0-d tensor")
    return data
