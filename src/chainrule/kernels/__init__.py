"""Array-level kernels: each one's plain NumPy reference beside its fast versions.

An op in ``chainrule.ops`` reads as the mathematics and calls these for array-level work. Every
kernel here is a pair (or more) of functions:

- ``<name>_reference``: the plain NumPy (or CuPy) formula, written to be read and trusted;
- ``<name>``: the version the ops call, which takes faster routes where they pay (a memory order
  BLAS prefers, a compiled numba sweep, a fused CuPy kernel) and otherwise, and always in
  reference mode (``chainrule.reference_mode()``), calls the reference.

The tests hold each fast route equal to its reference (tests/kernels). A kernel reads
``config.reference_mode`` to know whether fast routes are allowed now; ``fast()`` says the same
for code outside the package.
"""

from __future__ import annotations

from ..backend.settings import config

__all__ = ["fast"]


def fast() -> bool:
    """Whether kernels may take their fast routes (False in ``chainrule.reference_mode()``)."""
    return not config.reference_mode
