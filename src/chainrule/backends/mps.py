"""``chainrule.backends.mps``: PyTorch's Apple-GPU (Metal) probes; chainrule has no MPS device.

A ported ``device = "mps" if torch.backends.mps.is_available() else "cpu"`` picks the CPU.
"""

from __future__ import annotations

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """False: chainrule computes on NumPy (CPU) or CuPy (CUDA), never on Metal."""
    return False


def is_built() -> bool:
    """False: chainrule has no MPS backend to build."""
    return False
