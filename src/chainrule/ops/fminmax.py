"""``fmax``/``fmin`` (NaN-ignoring maximum/minimum) and ``Tensor.unfold`` (sliding windows),
PyTorch's names.

``fmax(a, b)`` is ``b`` where ``a`` is NaN, ``a`` where ``b`` is NaN, else the larger (NaN only
where both are). Its gradient goes wholly to ``a`` where ``a >= b`` or ``b`` is NaN (ties and
double NaN included), else to ``b``: PyTorch's rule, not ``maximum``'s even split. ``fmin`` the
same with ``<=``.

``x.unfold(dimension, size, step)`` has one new trailing axis of length ``size``: window ``i``
along ``dimension`` holds ``x``'s entries ``i * step ... i * step + size - 1`` there. PyTorch
returns a strided view; chainrule returns a copy (an integer-array gather, whose gradient adds
each window's share back, overlapping windows included), so writing into the result would not
change ``x``: the copy refuses in-place changes, with an error that says so. ``as_strided`` is
not provided: arbitrary strides over NumPy memory could read outside the tensor or alias it in
ways the in-place checks cannot see.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..autograd.views import refuse_in_place
from ..backend import get_array_module
from ._promotion import binary
from .elementwise import fill_where
from .rearrange import movedim
from .shape import _one_axis, getitem, reshape, sum_to

__all__ = ["fmax", "fmin"]


class _NanExtremum(Function):
    def forward(self, a, b):
        xp = get_array_module(a, b)
        return xp.fmax(a, b) if self.largest else xp.fmin(a, b)

    def backward(self, g):
        a, b = self.inputs
        xp = get_array_module(a._data, b._data)
        keeps_a = (a._data >= b._data) if self.largest else (a._data <= b._data)
        if b.dtype.kind in "fc":
            keeps_a = keeps_a | xp.isnan(b._data)
        keeps_a = xp.broadcast_to(keeps_a, g.shape)
        ga = sum_to(fill_where(~keeps_a, 0, g), a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(fill_where(keeps_a, 0, g), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


def _pair(op, input, other):  # noqa: A002
    for name, t in (("input", input), ("other", other)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    return binary(op, input, other)


def fmax(input, other):  # noqa: A002 - PyTorch's names
    """Elementwise maximum that ignores NaN (NaN only where both are NaN)."""
    return _NanExtremum.apply(*_pair("fmax", input, other), largest=True)


def fmin(input, other):  # noqa: A002
    """Elementwise minimum that ignores NaN (NaN only where both are NaN)."""
    return _NanExtremum.apply(*_pair("fmin", input, other), largest=False)


def unfold(self, dimension, size, step):
    """Windows of ``size`` entries every ``step`` along ``dimension``, as a new last axis (a
    copy; see the module docstring)."""
    for name, v in (("dimension", dimension), ("size", size), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"unfold: {name} must be an int, got {v!r}")
    if step <= 0 or size < 0:
        bad = f"step={step} must be > 0" if step <= 0 else f"size={size} must be >= 0"
        raise ValueError(f"unfold: {bad}")
    x = self if self.ndim else reshape(self, (1,))  # a 0-D tensor unfolds as one entry
    axis = _one_axis("unfold", dimension, max(self.ndim, 1))
    n = x.shape[axis]
    if size > n:
        raise ValueError(f"unfold: size={size} is larger than dimension {dimension}'s size {n} "
                         f"(shape {tuple(self.shape)})")
    if not self.ndim:
        return x
    xp = get_array_module(x._data)
    starts = xp.arange(0, n - size + 1, step)
    index = starts[:, None] + xp.arange(size)[None, :]
    windows = movedim(getitem(x, (slice(None),) * axis + (Tensor(index),)), axis + 1, -1)
    refuse_in_place(windows, (
        f"x.unfold({dimension}, {size}, {step}) (x of shape {tuple(self.shape)}) gathers the "
        "windows into new memory, so changing them would not change x as PyTorch's strided "
        "view does. Change x itself, or clone() the windows to say that a copy is meant"))
    return windows


Tensor.fmax = fmax
Tensor.fmin = fmin
Tensor.unfold = unfold
