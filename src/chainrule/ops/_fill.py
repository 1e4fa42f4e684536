"""``full``'s fill value read as PyTorch reads it."""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor
from ..backend import MetaArray, numpy


def fill_number(value):
    """A NumPy scalar as the Python number of its kind (``full(s, np.int32(3))`` is int64, a NumPy
    float or bool the default dtype, as PyTorch's; its own dtype was kept), a 0-d Tensor that
    needs no gradient as its ``item()`` (was refused); other numbers as they are."""
    if isinstance(value, Tensor) and value.ndim == 0 and not value.requires_grad \
            and type(value._data) is not MetaArray:
        return value.item()
    if isinstance(value, numpy.generic) and not isinstance(value, numpy.complexfloating):
        return int(value) if isinstance(value, numpy.integer) else float(value)
    if not isinstance(value, (numbers.Number, numpy.generic)):
        raise TypeError(f"full: fill_value must be a number, got {type(value).__name__}")
    return value
