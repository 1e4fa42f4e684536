"""``full``'s fill value read as PyTorch reads it."""

from __future__ import annotations

import numbers

from ..backend import MetaArray, numpy
from ._loss_args import plain_number


def fill_number(value):
    """A NumPy scalar as the Python number of its kind (``full(s, np.int32(3))`` is int64, a NumPy
    float or bool the default dtype, as PyTorch's; its own dtype was kept), a 0-d Tensor that
    needs no gradient as its ``item()`` (was refused); other numbers as they are."""
    if type(getattr(value, "_data", None)) is not MetaArray:  # a meta tensor has no number
        value = plain_number(value)
    if isinstance(value, numpy.generic) and not isinstance(value, numpy.complexfloating):
        return int(value) if isinstance(value, numpy.integer) else float(value)
    if not isinstance(value, (numbers.Number, numpy.generic)):
        raise TypeError(f"full: fill_value must be a number, got {type(value).__name__}")
    return value
