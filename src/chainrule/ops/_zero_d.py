"""PyTorch's rule that a 0-D tensor takes ``dim`` 0 or -1 as if it had one axis of size 1.

Reductions pass ``scalar=True`` to ``normalize_axis`` (such a dim names no axis); ops that need
one axis (scans, sorts, softmax, arg-ops) run on the tensor as shape (1,) through ``on_one_axis``.
"""

from __future__ import annotations

import operator

from ..autograd.tensor import Tensor
from .shape import reshape


def scalar_dim(x, dim) -> bool:
    """True where ``x`` is 0-D and ``dim`` an int 0 or -1 (other dims keep their errors)."""
    if getattr(x, "ndim", None) != 0 or isinstance(dim, bool) or not hasattr(dim, "__index__"):
        return False
    return operator.index(dim) in (0, -1)


def as_1d(t):
    """A 0-D tensor as shape (1,); anything else (a number, a shaped tensor) as it is."""
    return reshape(t, 1) if isinstance(t, Tensor) and t.ndim == 0 else t


def on_one_axis(fn, x):
    """``fn(x as shape (1,), 0)``, its tensor result (or tuple of them) reshaped back to 0-D."""
    out = fn(reshape(x, (1,)), 0)
    if not isinstance(out, tuple):
        return reshape(out, ())
    parts = [reshape(t, ()) for t in out]
    return type(out)(*parts) if hasattr(out, "_fields") else tuple(parts)
