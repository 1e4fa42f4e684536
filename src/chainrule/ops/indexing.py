"""Picking values along an axis by index: ``gather``, ``topk``, ``sort``; ``one_hot``.

``gather`` and its adjoint ``scatter_add_along`` are each other's gradient, so both differentiate
to any order. ``topk`` and ``sort`` find their indices without a gradient and gather the values.
"""

from __future__ import annotations

from typing import NamedTuple

from ..autograd.function import Function, nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._args import dim_or_axis
from .shape import _one_axis

__all__ = ["argsort", "gather", "one_hot", "scatter_add_along", "sort", "topk"]


class Gather(Function):
    def forward(self, x, index):
        return get_array_module(x).take_along_axis(x, index, self.axis)

    def backward(self, g):
        return ScatterAddAlong.apply(g, self.inputs[1], axis=self.axis,
                                     shape=self.inputs[0].shape), None


class ScatterAddAlong(Function):
    def forward(self, g, index):
        xp = get_array_module(g)
        out = xp.zeros(self.shape, g.dtype)
        # Every position of the index, spelled out per axis, so repeated indices add up.
        grid = list(xp.indices(index.shape, sparse=True))
        grid[self.axis] = index
        xp.add.at(out, tuple(grid), g)
        return out

    def backward(self, gg):
        return Gather.apply(gg, self.inputs[1], axis=self.axis), None


def _index(op, x, axis, index):
    idx = index.data if isinstance(index, Tensor) else get_array_module(x.data).asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must hold integers, got dtype {idx.dtype}")
    if idx.ndim != x.ndim:
        raise ValueError(f"{op}: index must have as many dimensions as the input "
                         f"({x.ndim}), got shape {idx.shape}")
    n = x.shape[axis]
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise IndexError(f"{op}: index out of range for axis {axis} of size {n}")
    return Tensor(idx % n if idx.size else idx)


def gather(x, dim=None, index=None, *, axis=None):
    """``out[i][j] = x[i][index[i][j]]`` along ``dim`` (PyTorch's ``gather``).

    Args:
        x: a Tensor.
        dim: the axis to pick along (``axis`` is the NumPy name).
        index: an int Tensor with as many dimensions as ``x``.
    """
    axis = _one_axis("gather", dim_or_axis("gather", axis, dim), x.ndim)
    return Gather.apply(x, _index("gather", x, axis, index), axis=axis)


def scatter_add_along(g, dim, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` along ``dim`` (the adjoint of gather)."""
    axis = _one_axis("scatter_add_along", dim, len(shape))
    return ScatterAddAlong.apply(g, _index("scatter_add_along", g, axis, index), axis=axis,
                                 shape=tuple(shape))


class ValuesIndices(NamedTuple):
    """``topk`` and ``sort``: the values and where they came from."""

    values: Tensor
    indices: Tensor


def argsort(x, dim: int | None = None, descending: bool = False, *, axis=None):
    """Indices that sort ``x`` along ``dim`` (stable), int64; not differentiable."""
    axis = _one_axis("argsort", dim_or_axis("argsort", axis, dim, -1), x.ndim)
    xp = get_array_module(x.data)

    def order(a):
        key = -a if descending and a.dtype.kind != "b" else a
        return xp.argsort(key, axis=axis, kind="stable").astype("int64")

    return nondiff(order, x)


def sort(x, dim: int | None = None, descending: bool = False, *, axis=None):
    """``(values, indices)`` of ``x`` sorted along ``dim``; the values carry the gradient."""
    axis = dim_or_axis("sort", axis, dim, -1)
    idx = argsort(x, dim=axis, descending=descending)
    return ValuesIndices(gather(x, dim=axis, index=idx), idx)


def topk(x, k: int, dim: int | None = None, largest: bool = True,
         sorted: bool = True, *, axis=None):  # noqa: A002 - PyTorch's names
    """The ``k`` largest (or smallest) values along ``dim`` and their indices, in order."""
    axis = _one_axis("topk", dim_or_axis("topk", axis, dim, -1), x.ndim)
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= x.shape[axis]:
        raise ValueError(f"topk: k must be an int in [0, {x.shape[axis]}], got {k!r}")
    idx = argsort(x, dim=axis, descending=largest)
    idx = idx[(slice(None),) * axis + (slice(0, k),)]
    return ValuesIndices(gather(x, dim=axis, index=idx), idx)


Tensor.gather = gather
Tensor.sort = sort
Tensor.argsort = argsort
Tensor.topk = topk


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """Class indices (int64, any shape) as one-hot rows: shape (..., num_classes), int64.

    ``num_classes=-1`` takes one more than the largest index (PyTorch's default). Not
    differentiable (indices have no gradient).

    >>> import chainrule as cr
    >>> one_hot(cr.tensor([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    idx = tensor.data if isinstance(tensor, Tensor) else get_array_module(tensor).asarray(tensor)
    xp = get_array_module(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: tensor must hold integer class indices, got dtype {idx.dtype}")
    if idx.size and idx.min() < 0:
        raise ValueError(f"one_hot: class indices must be >= 0, got {int(idx.min())}")
    largest = int(idx.max()) + 1 if idx.size else 0
    if num_classes == -1:
        num_classes = largest
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < largest:
        raise ValueError(f"one_hot: num_classes must be -1 or an int above every index "
                         f"(largest {largest - 1}), got {num_classes!r}")
    out = (idx[..., None] == xp.arange(num_classes)).astype(xp.int64)
    return Tensor(out)
