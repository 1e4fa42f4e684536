"""Diagonals of batched matrices and their inverse, PyTorch's ``diagonal``/``linalg.diagonal``
and ``diag_embed``: two ops, each the other's gradient, so both differentiate to any order."""

from __future__ import annotations

import numbers

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .rearrange import movedim
from .shape import normalize_axis

__all__ = ["diag_embed", "diagonal"]


def _positions(xp, offset, length):
    rows = xp.arange(length) + max(-offset, 0)
    return rows, rows + offset


class _Diagonal(Function):
    """The ``offset`` diagonal of the last two axes, as a new last axis."""

    complex_grad = True

    def forward(self, x):
        # A view of x, as PyTorch's, so that x.diagonal().fill_(0) writes x. NumPy makes it
        # read-only; it is writable exactly when x is (a Parameter's values stay read-only).
        d = get_array_module(x).diagonal(x, self.offset, -2, -1)
        if not getattr(d.flags, "writeable", True) and x.flags.writeable:
            d.flags.writeable = True
        return d

    def backward(self, g):
        return _Embed.apply(g, offset=self.offset, size=self.inputs[0].shape[-2:])


class _Embed(Function):
    """Vectors laid on the ``offset`` diagonal of zero matrices of shape ``size``."""

    complex_grad = True

    def forward(self, v):
        xp = get_array_module(v)
        out = xp.zeros(v.shape[:-1] + tuple(self.size), dtype=v.dtype)
        rows, cols = _positions(xp, self.offset, v.shape[-1])
        out[..., rows, cols] = v
        return out

    def backward(self, g):
        return _Diagonal.apply(g, offset=self.offset)


def _offset(op, offset):
    if isinstance(offset, bool) or not isinstance(offset, numbers.Integral):
        raise TypeError(f"{op}: offset must be an int, got {offset!r}")
    return int(offset)  # a NumPy integer too, as PyTorch takes it


def _two_dims(op, dim1, dim2, ndim):
    normalize_axis(op, (dim1, dim2), ndim)  # checks the range and that they differ
    return dim1 % ndim, dim2 % ndim


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):  # noqa: A002 - PyTorch's
    """The ``offset`` diagonal (above the main one for offset > 0) of the matrices spanned by
    axes ``dim1`` and ``dim2``, as a new last axis; the other axes keep their order."""
    if not isinstance(input, Tensor):
        raise TypeError(f"diagonal: expected a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"diagonal: expected at least 2 dimensions, got shape {input.shape}")
    d1, d2 = _two_dims("diagonal", dim1, dim2, input.ndim)
    return _Diagonal.apply(movedim(input, (d1, d2), (-2, -1)),
                           offset=_offset("diagonal", offset))


def linalg_diagonal(A, *, offset: int = 0, dim1: int = -2, dim2: int = -1):  # noqa: N803
    """``linalg.diagonal``: ``diagonal`` with the last two axes as the default matrices."""
    return diagonal(A, offset, dim1, dim2)


def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):  # noqa: A002
    """Matrices with the last axis of ``input`` on their ``offset`` diagonal, zeros elsewhere;
    the two new axes of size n + |offset| are ``dim1`` and ``dim2`` of the result."""
    if not isinstance(input, Tensor):
        raise TypeError(f"diag_embed: expected a Tensor, got {type(input).__name__}")
    if input.ndim < 1:
        raise ValueError(f"diag_embed: expected at least 1 dimension, got shape {input.shape}")
    offset = _offset("diag_embed", offset)
    n = input.shape[-1] + abs(offset)
    d1, d2 = _two_dims("diag_embed", dim1, dim2, input.ndim + 1)
    out = _Embed.apply(input, offset=offset, size=(n, n))
    return movedim(out, (-2, -1), (d1, d2))


Tensor.diagonal = diagonal
Tensor.diag_embed = diag_embed
