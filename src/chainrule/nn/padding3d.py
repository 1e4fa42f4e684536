"""The 3-D padding layers (PyTorch's ``ZeroPad3d``, ``ReflectionPad3d``...): the last three axes of
(C, D, H, W) or (N, C, D, H, W) input, ``padding`` an int or the flat 6-tuple (left, right, top,
bottom, front, back), through ``F.pad`` as the 1-D and 2-D layers of ``nn.padding``."""

from __future__ import annotations

from .padding import _ConstantPadNd, _PadNd

__all__ = ["CircularPad3d", "ConstantPad3d", "ReflectionPad3d", "ReplicationPad3d", "ZeroPad3d"]


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three axes with ``value``."""

    n = 3


class ZeroPad3d(ConstantPad3d):
    """Pad the last three axes with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad3d(_PadNd):
    """Pad the last three axes with their reflection about the edges (edge not repeated)."""

    mode = "reflect"
    n = 3


class ReplicationPad3d(_PadNd):
    """Pad the last three axes by repeating their edge values."""

    mode = "replicate"
    n = 3


class CircularPad3d(_PadNd):
    """Pad the last three axes with values from their other ends (periodic)."""

    mode = "circular"
    n = 3
