"""The products PyTorch computes in one dtype only: ``dot``, ``vdot``, ``inner``, ``mv``,
``tensordot``, ``cdist``, ``linalg.vecdot``, ``linalg.cross`` refuse two tensors of different
dtypes (float32 with float64, float with complex, float with int) where the elementwise ops
promote. chainrule promoted them (PyTorch's ``promote_types``); a program that runs here must
run in PyTorch, so these raise PyTorch's ``RuntimeError`` instead."""

from __future__ import annotations

__all__ = ["same_dtype"]


def same_dtype(op: str, a, b, names=("input", "other")) -> None:
    """PyTorch's RuntimeError where the Tensors ``a`` and ``b`` differ in dtype."""
    da, db = getattr(a, "dtype", None), getattr(b, "dtype", None)
    if da is not None and db is not None and da != db:
        raise RuntimeError(f"{op}: expected {names[0]} and {names[1]} to have the same dtype, got "
                           f"{da} and {db}; PyTorch does not promote here: convert one first "
                           f"(e.g. {names[1]}.to({names[0]}.dtype))")
