"""The checks the activation ops share (``_float_input``, ``_check_number``) and ``in_place``,
their ``inplace=True`` form: the op's values written into the input, which is returned."""

from __future__ import annotations

import math
import numbers

from ..autograd.inplace_record import change
from ..autograd.tensor import Tensor, tensor
from ..autograd.trace_inplace import traced_change


def _float_input(op, x, complex_ok=False):
    """``x`` as a floating-point (or complex) Tensor (arrays and lists wrapped), else TypeError."""
    if not isinstance(x, Tensor):
        x = tensor(x)
    if x._data.dtype.kind != "f" and not (complex_ok and x._data.dtype.kind == "c"):
        raise TypeError(f"{op}: input must have a floating-point dtype, got {x._data.dtype}")
    return x


def _check_number(op, name, value, positive=False, nonzero=False):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r}")
    if math.isnan(value):
        raise ValueError(f"{op}: {name} must not be NaN")
    if positive and value <= 0:
        raise ValueError(f"{op}: {name} must be positive, got {value!r}")
    if nonzero and value == 0:
        raise ValueError(f"{op}: {name} must not be 0, got {value!r}")


def in_place(name, x, compute):
    """``compute(x)``'s values written into ``x``'s memory and x returned, as PyTorch's
    ``inplace=True`` (and ``relu_``...): recorded where needed (``autograd.inplace_record.change``),
    so a leaf that requires grad is refused while recording, and a backward that read x's earlier
    values refuses afterwards."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a Tensor (inplace=True changes it), got "
                        f"{type(x).__name__}")
    traced = traced_change(x, name, compute)  # None unless chainrule.trace records
    return change(x, name, compute) if traced is None else traced
