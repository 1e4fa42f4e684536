"""Picking values along an axis by index: ``gather``, ``topk``, ``sort``; ``one_hot``.

``gather`` and its adjoint ``scatter_add_along`` are each other's gradient, so both differentiate
to any order. ``topk`` and ``sort`` find their indices without a gradient and gather the values.
"""

from __future__ import annotations

from typing import NamedTuple

from ..autograd.function import Function, nondiff
from ..autograd.tensor import Tensor
from ..autograd.tracing import TraceError
from ..backend import MetaArray, get_array_module
from ._args import dim_or_axis
from ._promotion import plain_numbers
from ._real_only import refuse_bool, refuse_complex
from ._zero_d import on_one_axis, scalar_dim
from .shape import _one_axis, getitem, reshape

__all__ = ["argsort", "gather", "one_hot", "scatter_add_along", "sort", "topk"]


class Gather(Function):
    complex_grad = True

    def forward(self, x, index):
        return get_array_module(x).take_along_axis(x, index, self.axis)

    def backward(self, g):
        return ScatterAddAlong.apply(g, self.inputs[1], axis=self.axis,
                                     shape=self.inputs[0].shape), None


class ScatterAddAlong(Function):
    complex_grad = True

    def forward(self, g, index):
        xp = get_array_module(g)
        out = xp.zeros(self.shape, g.dtype)
        # Every position of the index, spelled out per axis, so repeated indices add up.
        grid = list(xp.indices(index.shape, sparse=True))
        grid[self.axis] = index
        xp.add.at(out, tuple(grid), g)
        return out

    def backward(self, gg):
        index = self.inputs[1]
        return Gather.apply(_crop(gg, index.shape, self.axis), index, axis=self.axis), None


def _index(op, shape, axis, index, xp, *, negative=False):
    """``index`` as a Tensor of non-negative ints, checked against ``shape`` as PyTorch does:
    as many dimensions, values in ``[0, n)`` along ``axis`` (``negative``: ``[-n, n)``, counted
    from the end), no larger along any other axis."""
    idx = index._data if isinstance(index, Tensor) else xp.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must hold integers, got dtype {idx.dtype}")
    if idx.ndim != len(shape):
        raise ValueError(f"{op}: index must have as many dimensions as the input "
                         f"({len(shape)}), got shape {idx.shape}")
    if any(m > n for d, (m, n) in enumerate(zip(idx.shape, shape)) if d != axis):
        raise ValueError(f"{op}: index of shape {idx.shape} is larger than the input's "
                         f"{tuple(shape)} along an axis other than {axis}")
    n = shape[axis]
    low = -n if negative else 0
    if idx.size and type(idx) is not MetaArray and (int(idx.min()) < low
                                                   or int(idx.max()) >= n):
        bad = int(idx.min()) if int(idx.min()) < low else int(idx.max())
        raise IndexError(f"{op}: index out of range for axis {axis} of size {n}: got {bad}, "
                         f"valid {low}..{n - 1}")
    if isinstance(index, Tensor) and (type(idx) is MetaArray
                                      or not (idx.size and int(idx.min()) < 0)):
        return index  # the Tensor itself: a trace (cr.trace) reads it again at every call
    return Tensor(idx % n if idx.size else idx)


def _crop(x, shape, axis):
    """``x`` cut to ``shape`` on every axis but ``axis`` (a view; the index may be smaller)."""
    if all(m == n for d, (m, n) in enumerate(zip(x.shape, shape)) if d != axis):
        return x
    return getitem(x, tuple(slice(None) if d == axis else slice(0, n)
                            for d, n in enumerate(shape)))


def gather(input, dim=None, index=None, *, sparse_grad: bool = False, axis=None):  # noqa: A002
    """``out[i][j] = input[i][index[i][j]]`` along ``dim`` (PyTorch's ``gather``).

    Args:
        input: a Tensor.
        dim: the axis to pick along (``axis`` is the NumPy name).
        index: an int Tensor with as many dimensions as ``input``, no larger than ``input`` along
            the other axes (the output has its shape, as in PyTorch; it is not broadcast).
        sparse_grad: accepted for PyTorch's signature; the gradient is always a dense tensor
            (the same values PyTorch's sparse one holds).
    """
    axis = dim_or_axis("gather", axis, dim)
    if scalar_dim(input, axis):  # a 0-D input as one axis of size 1 (PyTorch's)
        xp = get_array_module(input._data)
        idx = index._data if isinstance(index, Tensor) else xp.asarray(index)
        if idx.ndim > 1:
            raise ValueError(f"gather: an index into a 0-D tensor must be 0-D or 1-D, got shape "
                             f"{idx.shape}")
        return reshape(gather(reshape(input, 1), 0, Tensor(idx.reshape(-1))), idx.shape)
    if input.ndim == 1 and getattr(index, "ndim", None) == 0:  # one position, a 0-D result
        return reshape(gather(input, axis, reshape(index, 1)), ())
    axis = _one_axis("gather", axis, input.ndim)
    idx = _index("gather", input.shape, axis, index, get_array_module(input._data))
    return Gather.apply(_crop(input, idx.shape, axis), idx, axis=axis)


def scatter_add_along(g, dim, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` along ``dim`` (the adjoint of gather).

    As PyTorch's ``zeros(shape).scatter_add(dim, index, g)``: ``g`` may be larger than
    ``index``, whose shape selects the part of ``g`` that is added.
    """
    shape = tuple(shape)
    axis = _one_axis("scatter_add_along", dim, len(shape))
    idx = _index("scatter_add_along", shape, axis, index, get_array_module(g._data))
    if g.ndim != idx.ndim or any(m > n for m, n in zip(idx.shape, g.shape)):
        raise ValueError(f"scatter_add_along: index of shape {idx.shape} is larger than g "
                         f"{g.shape}")
    return ScatterAddAlong.apply(_crop(g, idx.shape, None), idx, axis=axis, shape=shape)


class ValuesIndices(NamedTuple):
    """``topk`` and ``sort``: the values and where they came from."""

    values: Tensor
    indices: Tensor


def argsort(input, dim: int | None = None, descending: bool = False,  # noqa: A002
            *, stable: bool = False, axis=None):
    """Indices that sort ``input`` along ``dim``, int64; not differentiable. The order is always
    stable (equal values keep their order), so PyTorch's ``stable=`` is accepted either way.

    nan sorts as the largest value (last ascending, first descending), as in PyTorch.
    """
    axis = dim_or_axis("argsort", axis, dim, -1)
    refuse_complex("argsort", input)
    if scalar_dim(input, axis):
        return on_one_axis(lambda t, d: argsort(t, d, descending), input)
    axis = _one_axis("argsort", axis, input.ndim)
    xp = get_array_module(input._data)

    def order(a):
        if not descending:
            return xp.argsort(a, axis=axis, kind="stable").astype("int64")
        # Descending without negating (wrong for bool, unsigned and the smallest int): the
        # ascending stable order of the reversed array, reversed, keeps ties in index order and
        # puts nan first (as PyTorch, which takes nan as the largest value).
        n = a.shape[axis]
        flip = (slice(None),) * axis + (slice(None, None, -1),)
        return (n - 1 - xp.argsort(a[flip], axis=axis, kind="stable"))[flip].astype("int64")

    return nondiff(order, input)


def sort(input, dim: int | None = None, descending: bool = False,  # noqa: A002
         *, stable: bool = False, axis=None):
    """``(values, indices)`` of ``input`` sorted along ``dim``; the values carry the gradient. The
    order is always stable, as ``argsort``'s (``stable=`` is accepted either way)."""
    axis = dim_or_axis("sort", axis, dim, -1)
    refuse_complex("sort", input)
    if scalar_dim(input, axis):
        return on_one_axis(lambda t, d: sort(t, d, descending), input)
    idx = argsort(input, dim=axis, descending=descending)
    return ValuesIndices(gather(input, dim=axis, index=idx), idx)


def topk(input, k: int, dim: int | None = None, largest: bool = True,  # noqa: A002
         sorted: bool = True, *, axis=None):  # noqa: A002 - PyTorch's names
    """The ``k`` largest (or smallest) values along ``dim`` and their indices, in order."""
    axis = dim_or_axis("topk", axis, dim, -1)
    refuse_bool("topk", refuse_complex("topk", input)[0], RuntimeError)
    k = plain_numbers(k)[0]  # np.int64 k, as PyTorch takes it (was refused)
    if scalar_dim(input, axis):
        if k != 1:
            raise ValueError(f"topk: k must be 1 for a 0-D tensor (its one entry), got {k!r}")
        return on_one_axis(lambda t, d: topk(t, k, d, largest, sorted), input)
    axis = _one_axis("topk", axis, input.ndim)
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= input.shape[axis]:
        raise ValueError(f"topk: k must be an int in [0, {input.shape[axis]}], got {k!r}")
    idx = argsort(input, dim=axis, descending=largest)
    idx = idx[(slice(None),) * axis + (slice(0, k),)]
    return ValuesIndices(gather(input, dim=axis, index=idx), idx)


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
    idx = tensor._data if isinstance(tensor, Tensor) else get_array_module(tensor).asarray(tensor)
    xp = get_array_module(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: tensor must hold integer class indices, got dtype {idx.dtype}")
    if idx.size and idx.min() < 0:
        raise ValueError(f"one_hot: class indices must be >= 0, got {int(idx.min())}")
    largest = int(idx.max()) + 1 if idx.size else 0
    inferred = num_classes == -1
    if inferred:
        if not idx.size:  # PyTorch refuses too: nothing to count the classes from
            raise ValueError(f"one_hot: num_classes=-1 cannot be inferred from an empty tensor "
                             f"(shape {tuple(idx.shape)}); pass num_classes")
        num_classes = largest
    num_classes = plain_numbers(num_classes)[0]  # np.int64, as PyTorch (was refused)
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < largest:
        raise ValueError(f"one_hot: num_classes must be -1 or an int above every index "
                         f"(largest {largest - 1}), got {num_classes!r}")
    def rows(a):
        if inferred and (not a.size or int(a.max()) + 1 != num_classes):
            # a trace's replay: the count came from the traced values (PyTorch's counts again)
            raise TraceError(f"one_hot: num_classes=-1 was {num_classes} for the traced indices, "
                             f"and this call's largest index is "
                             f"{int(a.max()) if a.size else None}; pass num_classes to trace it")
        return (a[..., None] == xp.arange(num_classes)).astype(xp.int64)
    rows.inferred_classes = inferred  # the count read from the values (ONNX export refuses it)
    # a nondiff step of a Tensor, which a trace (cr.trace) runs again at every call
    return nondiff(rows, tensor) if isinstance(tensor, Tensor) else Tensor(rows(idx))
