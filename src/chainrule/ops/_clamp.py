"""``clamp``/``clip`` with Tensor bounds, which are differentiated too (``clip`` in
elementwise.py sends a call here when a bound is a Tensor; numbers stay there)."""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._promotion import as_dtype, result_type
from .elementwise import _check_broadcast, fill_where
from .shape import sum_to


class ClampBounds(Function):
    """clamp with Tensor bounds, which are differentiated too (PyTorch's rule: x's gradient where
    lo <= x <= hi, lo's where x < lo < hi, hi's where x > hi or hi < lo). ``self.lo``/``self.hi``
    hold a number, None, or ``"tensor"`` for a bound passed as an input after x."""

    def _bounds(self, arrays):
        it = iter(arrays)
        return [next(it) if b == "tensor" else b for b in (self.lo, self.hi)]

    def forward(self, x, *tb):
        xp = get_array_module(x, *tb)
        lo, hi = self._bounds(tb)
        out = x if lo is None else xp.maximum(x, lo)
        return out if hi is None else xp.minimum(out, hi)

    def backward(self, g):
        x, *tb = [t._data for t in self.inputs]
        lo, hi = self._bounds(tb)
        xp = get_array_module(x)
        if lo is not None and hi is not None:
            keep, to_lo, to_hi = (x >= lo) & (x <= hi), (x < lo) & (lo < hi), (x > hi) | (hi < lo)
        else:
            keep = x >= lo if hi is None else x <= hi
            to_lo, to_hi = (x < lo if hi is None else None), (x > hi if lo is None else None)
        masks = [keep] + [m for m, b in ((to_lo, self.lo), (to_hi, self.hi)) if b == "tensor"]
        return tuple(sum_to(fill_where(~xp.broadcast_to(m, g.shape), 0, g), t.shape)
                     for m, t in zip(masks, self.inputs))


def clamp_bounds(x, lo, hi):
    """``clamp(x, lo, hi)`` where a bound is a Tensor (``clip`` sends those here)."""
    dtype = result_type(x, *[b for b in (lo, hi) if b is not None])  # PyTorch's promotion
    x = as_dtype(x, dtype)
    lo, hi = [as_dtype(b, dtype) if isinstance(b, Tensor) else b for b in (lo, hi)]
    bounds = [b for b in (lo, hi) if isinstance(b, Tensor)]
    for b in bounds:
        _check_broadcast("clamp", x, b)
    return ClampBounds.apply(x, *bounds, lo="tensor" if isinstance(lo, Tensor) else lo,
                             hi="tensor" if isinstance(hi, Tensor) else hi)
