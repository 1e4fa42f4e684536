"""``arange`` into an integer dtype from float bounds, as PyTorch computes it."""

from __future__ import annotations

import math

from ..backend import numpy


def integer_arange(start, end, step, dtype):
    """PyTorch's integer ``arange`` of float bounds: ``start`` and ``step`` truncated to ints
    first (``arange(-1.5, 2.5, 0.5, dtype=int32)`` is eight -1s), and for int64 ``end`` too,
    before the length is taken (``arange(0.5, 3.7, dtype=int64)`` is [0, 1, 2])."""
    first, stride = int(start), int(step)
    if dtype == numpy.int64:
        if stride == 0:
            raise ValueError(f"arange: step {step!r} truncated to int64 is 0 (step must be "
                             "nonzero, as PyTorch's)")
        start, end, step = first, int(end), stride
    return first + numpy.arange(max(0, math.ceil((end - start) / step)), dtype="int64") * stride
