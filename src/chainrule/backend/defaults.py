"""PyTorch's default dtype and device: ``set_default_dtype``, ``set_default_device`` and getters.

Both are settings of ``chainrule.config`` (``default_dtype``, ``default_device``): the tensor
factories, ``tensor()`` of Python floats and new layers read them when no ``dtype``/``device`` is
passed. Arrays made before a change keep their dtype and device.
"""

from __future__ import annotations

import numpy

from . import validate_device
from .device import device as _device
from .settings import config

__all__ = ["get_default_device", "get_default_dtype", "set_default_device", "set_default_dtype"]


def set_default_dtype(d) -> None:
    """Make ``d`` (``chainrule.float32`` or ``float64``) the dtype of new floating-point tensors.

    Raises:
        TypeError: for any other dtype, naming it (as PyTorch, which takes floating types only).
    """
    try:
        config.default_dtype = d
    except ValueError:
        raise TypeError(f"set_default_dtype: only float32 and float64 can be the default dtype, "
                        f"got {d!r}") from None


def get_default_dtype() -> numpy.dtype:
    """The dtype of new floating-point tensors (float32 unless ``set_default_dtype`` changed it)."""
    return config.default_dtype


def set_default_device(device) -> None:
    """Make ``device`` ("cpu", "cuda", "cuda:0", a ``chainrule.device``, or None for the CPU) the
    device of new tensors and layers.

    Raises:
        ValueError: for an unknown device name.
        RuntimeError: for "cuda" when CuPy with a visible GPU is not available.
    """
    config.default_device = "cpu" if device is None else validate_device(device)


def get_default_device():
    """The device of new tensors, as a ``chainrule.device``."""
    return _device(config.default_device)
