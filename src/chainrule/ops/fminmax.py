"""``fmax``/``fmin`` (NaN-ignoring maximum/minimum) and ``Tensor.unfold`` (sliding windows),
PyTorch's names.

``fmax(a, b)`` is ``b`` where ``a`` is NaN, ``a`` where ``b`` is NaN, else the larger (NaN only
where both are). Its gradient goes wholly to ``a`` where ``a >= b`` or ``b`` is NaN (ties and
double NaN included), else to ``b``: PyTorch's rule, not ``maximum``'s even split. ``fmin`` the
same with ``<=``.

``x.unfold(dimension, size, step)`` has one new trailing axis of length ``size``: window ``i``
along ``dimension`` holds ``x``'s entries ``i * step ... i * step + size - 1`` there. As
PyTorch's, it is a strided view of ``x`` (strides computed here from ``x``'s, so it never reaches
outside ``x``): a change of ``x`` shows in the windows, and a change of the windows reaches
``x``, recorded for autograd as a write through any other view. Overlapping windows
(``step < size``) are read-only, since one element would be written more than once (PyTorch
writes them in an unspecified order). The gradient adds each window's share back.
``as_strided`` (ops/strided.py) is the same kind of view with arbitrary strides, within the
tensor's own elements.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..autograd.views import link_view
from ..backend import get_array_module
from ._promotion import binary
from ._real_only import refuse_complex
from .elementwise import fill_where
from .indexing import scatter_add_along
from .rearrange import movedim
from .shape import _one_axis, reshape, sum_to

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
    return _NanExtremum.apply(*refuse_complex("fmax", *_pair("fmax", input, other)), largest=True)


def fmin(input, other):  # noqa: A002
    """Elementwise minimum that ignores NaN (NaN only where both are NaN)."""
    return _NanExtremum.apply(*refuse_complex("fmin", *_pair("fmin", input, other)),
                              largest=False)


class _Unfold(Function):
    complex_grad = True

    def forward(self, x):
        xp = get_array_module(x)
        n, stride = x.shape[self.axis], x.strides[self.axis]
        shape = list(x.shape)
        shape[self.axis] = (n - self.size) // self.step + 1
        strides = list(x.strides)
        strides[self.axis] = stride * self.step
        overlap = self.step < self.size and shape[self.axis] > 1 and self.size > 1
        tricks = xp.lib.stride_tricks
        if xp.__name__ == "numpy":
            return tricks.as_strided(x, (*shape, self.size), (*strides, stride),
                                     writeable=not overlap)
        return tricks.as_strided(x, (*shape, self.size), (*strides, stride))

    def backward(self, g):
        x = self.inputs[0]
        xp = get_array_module(g._data)
        a, nwin = self.axis, g.shape[self.axis]
        at = (xp.arange(nwin)[:, None] * self.step + xp.arange(self.size)[None, :]).reshape(-1)
        shape = list(x.shape)
        shape[a] = nwin * self.size
        lined = reshape(movedim(g, -1, a + 1), shape)  # window i, entry j at i * size + j
        index = xp.broadcast_to(at.reshape([-1 if d == a else 1 for d in range(x.ndim)]), shape)
        return scatter_add_along(lined, a, Tensor(index), x.shape)


def unfold(self, dimension, size, step):
    """Windows of ``size`` entries every ``step`` along ``dimension``, as a new last axis (a
    view of ``self``; see the module docstring)."""
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
    windows = _Unfold.apply(x, axis=axis, size=size, step=step)
    link_view(windows, x)  # NumPy's strided array does not name x's memory as its base
    return windows


Tensor.fmax = fmax
Tensor.fmin = fmin
Tensor.unfold = unfold
