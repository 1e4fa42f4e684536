"""PyTorch's and NumPy's names for one argument: ``dim``/``axis``, ``keepdim``/``keepdims``."""

from __future__ import annotations

__all__ = ["dim_or_axis", "keep_flag", "reduce_dim"]


def dim_or_axis(op: str, axis, dim, default=None):
    """PyTorch's ``dim`` or NumPy's ``axis``, whichever was given (``default`` for neither)."""
    if dim is None:
        return default if axis is None else axis
    if axis is not None:
        raise TypeError(f"{op}: give dim or axis, not both (got dim={dim!r}, axis={axis!r})")
    return dim


def reduce_dim(dim):
    """PyTorch's ``dim`` of a reduction: an empty tuple or list reduces every dimension, as in
    PyTorch (``x.sum(dim=())`` is the total). NumPy's ``axis=()`` reduces none; that name keeps
    NumPy's rule."""
    return None if isinstance(dim, (tuple, list)) and len(dim) == 0 else dim


def keep_flag(op: str, keepdims, keepdim) -> bool:
    """PyTorch's ``keepdim`` or NumPy's ``keepdims``, whichever was given."""
    if keepdim is None:
        return bool(keepdims)
    if keepdims:
        raise TypeError(f"{op}: give keepdim or keepdims, not both")
    return bool(keepdim)
