"""Padding layers (PyTorch's ``ZeroPad2d``, ``ReflectionPad1d``...): each holds its ``padding``
as PyTorch's flat tuple (left, right[, top, bottom]) and calls ``F.pad``.

An int pads every side by that much. The 1d layers pad the last axis of (C, W) or (N, C, W)
input; the 2d layers the last two axes of (C, H, W) or (N, C, H, W) input.
"""

from __future__ import annotations

import numbers

from .functional import pad
from .module import Module

__all__ = [
    "CircularPad1d", "CircularPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d",
    "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "ZeroPad1d", "ZeroPad2d",
]


def _padding(who, padding, n):
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        padding = (int(padding),) * (2 * n)
    if (not isinstance(padding, (tuple, list)) or len(padding) != 2 * n
            or any(isinstance(p, bool) or not isinstance(p, numbers.Integral) for p in padding)):
        raise ValueError(f"{who}: padding must be an int or a tuple of {2 * n} ints, got "
                         f"{padding!r}")
    return tuple(int(p) for p in padding)


class _PadNd(Module):
    mode = "constant"
    n = 1

    def __init__(self, padding):
        super().__init__()
        self.padding = _padding(type(self).__name__, padding, self.n)

    def _check(self, input):  # noqa: A002 - PyTorch's name
        dims = (self.n + 1, self.n + 2)
        if input.ndim not in dims:
            raise ValueError(f"{type(self).__name__}: input must be {dims[0]}-D or {dims[1]}-D, "
                             f"got shape {tuple(input.shape)}")

    def forward(self, input):  # noqa: A002
        self._check(input)
        return pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float):
        super().__init__(padding)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{type(self).__name__}: value must be a number, got {value!r}")
        self.value = value

    def _check(self, input):  # noqa: A002 - PyTorch pads any input with enough axes
        if input.ndim < self.n:
            raise ValueError(f"{type(self).__name__}: input must have at least {self.n} axes, "
                             f"got shape {tuple(input.shape)}")

    def forward(self, input):  # noqa: A002
        self._check(input)
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last axis with ``value``."""


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two axes with ``value``."""

    n = 2


class ZeroPad1d(ConstantPad1d):
    """Pad the last axis with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two axes with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Pad the last axis with its reflection about the edge (edge not repeated)."""

    mode = "reflect"


class ReflectionPad2d(_PadNd):
    """Pad the last two axes with their reflection about the edges."""

    mode = "reflect"
    n = 2


class ReplicationPad1d(_PadNd):
    """Pad the last axis by repeating its edge values."""

    mode = "replicate"


class ReplicationPad2d(_PadNd):
    """Pad the last two axes by repeating their edge values."""

    mode = "replicate"
    n = 2


class CircularPad1d(_PadNd):
    """Pad the last axis with values from its other end (periodic)."""

    mode = "circular"


class CircularPad2d(_PadNd):
    """Pad the last two axes with values from their other ends (periodic)."""

    mode = "circular"
    n = 2
