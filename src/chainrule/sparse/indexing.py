"""Selecting parts of a sparse COO tensor, as PyTorch's: ``s.index_select(dim, index)`` and
``s.narrow_copy(dim, start, length)``, along a sparse axis (the entries whose position there is
picked, renumbered) or a dense one of a hybrid tensor (the values sliced). The values are
gathered with the dense ops, so gradients reach them (PyTorch has no backward for these)."""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.repeat import index_select as _dense_index_select
from ..ops.shape import _one_axis, getitem
from .tensor import SparseTensor, _describe

__all__ = ["index_select", "narrow_copy", "select", "sparse_mask"]


def _picked(s, keep, idx):
    """The entries ``keep`` (an int array, in order) of ``s`` at the new indices ``idx``."""
    xp = get_array_module(s._idx)
    vals = getitem(s._vals, Tensor(keep.astype(xp.int64)))
    return vals, idx.astype(xp.int64).reshape(s.sparse_dim(), -1)


def index_select(self, dim, index) -> SparseTensor:
    """The slices ``index[k]`` along ``dim``, as slice k of the result (repeats kept): PyTorch's
    ``Tensor.index_select`` of a sparse tensor (flagged uncoalesced unless it holds one entry or
    none, as PyTorch's; its entries come in the order of ``index``, then of ``self``'s, where
    PyTorch's order depends on the sizes: the coalesced tensors are the same)."""
    who = "SparseTensor.index_select"
    d = _one_axis(who, dim, self.ndim)
    data = index._data if isinstance(index, Tensor) else None
    if data is None or data.ndim != 1 or data.dtype.kind not in "iu":
        raise IndexError(f"{who}: index must be a 1-D integer Tensor, got {_describe(index)}"
                         + (f" of dtype {data.dtype}" if data is not None else ""))
    n = self.shape[d]
    if data.size and (int(data.min()) < -n or int(data.max()) >= n):
        bad = int(data.min()) if int(data.min()) < -n else int(data.max())
        raise IndexError(f"{who}: index holds {bad}, out of range for size {n} of dimension "
                         f"{d} (valid: -{n} to {n - 1})")
    data = data.astype("int64") % max(n, 1)  # a negative index counts from the end, as PyTorch's
    shape = self.shape[:d] + (int(data.size),) + self.shape[d + 1:]
    if d >= self.sparse_dim():  # a dense axis: every entry's values sliced
        vals = _dense_index_select(self._vals, d - self.sparse_dim() + 1, Tensor(data))
        return SparseTensor(self._idx, vals, shape, coalesced=self._nnz() <= 1)  # PyTorch's flag
    xp = get_array_module(self._idx)
    order = xp.argsort(data, kind="stable")
    where = self._idx[d]
    lo = xp.searchsorted(data[order], where, side="left")
    counts = xp.searchsorted(data[order], where, side="right") - lo
    entry = xp.repeat(xp.arange(self._nnz()), counts)  # each (entry, k) pair that matches
    k = order[xp.repeat(lo, counts) + xp.arange(int(counts.sum())) -
              xp.repeat(xp.cumsum(counts) - counts, counts)]
    by_k = xp.lexsort((entry, k))  # PyTorch's order: by k, then by entry
    entry, k = entry[by_k], k[by_k]
    idx = self._idx[:, entry].copy()
    idx[d] = k
    vals, idx = _picked(self, entry, idx)
    return SparseTensor(idx, vals, shape, coalesced=idx.shape[1] <= 1)


def narrow_copy(self, dim, start, length) -> SparseTensor:
    """The slices ``start`` to ``start + length`` along ``dim`` (PyTorch's ``narrow_copy`` of a
    sparse tensor: the range must lie in the axis, no negative start)."""
    who = "SparseTensor.narrow_copy"
    d = _one_axis(who, dim, self.ndim)
    for name, v in (("start", start), ("length", length)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{who}: {name} must be an int, got {_describe(v)}")
    start, length = int(start), int(length)
    if start < 0 or length < 0 or start + length > self.shape[d]:
        raise RuntimeError(f"{who}: the range [{start}, {start + length}) must lie in [0, "
                           f"{self.shape[d]}) (dimension {d} of shape {self.shape})")
    shape = self.shape[:d] + (length,) + self.shape[d + 1:]
    if d >= self.sparse_dim():
        axis = (slice(None),) * (d - self.sparse_dim() + 1) + (slice(start, start + length),)
        return SparseTensor(self._idx, getitem(self._vals, axis), shape,
                            coalesced=self._coalesced)
    xp = get_array_module(self._idx)
    keep = xp.nonzero((self._idx[d] >= start) & (self._idx[d] < start + length))[0]
    idx = self._idx[:, keep].copy()
    idx[d] -= start
    vals, idx = _picked(self, keep, idx)
    return SparseTensor(idx, vals, shape, coalesced=self._coalesced)  # PyTorch's flag


def select(self, dim, index):
    """The slice ``index`` along ``dim`` (PyTorch's ``select`` of a sparse tensor, and ``s[i]``):
    along a sparse axis the entries there, that axis dropped (dense, their values summed, when it
    was the only sparse axis); along a dense axis of a hybrid tensor the values sliced. Flagged
    coalesced when it holds one entry or none, as PyTorch's."""
    who = "SparseTensor.select"
    d = _one_axis(who, dim, self.ndim)
    if isinstance(index, Tensor) and index.ndim == 0 and index.dtype.kind in "iu":
        index = int(index.item())
    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise TypeError(f"{who}: index must be an int, got {_describe(index)}")
    n = self.shape[d]
    if not -n <= index < n:
        raise IndexError(f"{who}: index {index} is out of range for size {n} of dimension {d} "
                         f"(shape {self.shape})")
    index, sd = int(index) % n, self.sparse_dim()
    shape = self.shape[:d] + self.shape[d + 1:]
    if d >= sd:  # a dense axis: every entry's values sliced
        vals = getitem(self._vals, (slice(None),) * (d - sd + 1) + (index,))
        return SparseTensor(self._idx, vals, shape, coalesced=self._nnz() <= 1)
    xp = get_array_module(self._idx)
    keep = xp.nonzero(self._idx[d] == index)[0]
    vals, idx = _picked(self, keep, self._idx[:, keep])
    if sd == 1:  # no sparse axis left: the entries' sum, dense (bool: any, as to_dense's)
        return SparseTensor(idx * 0, vals, (1,) + shape).to_dense()[0]
    idx = xp.delete(idx, d, axis=0)
    return SparseTensor(idx, vals, shape, coalesced=idx.shape[1] <= 1)


def sparse_mask(self, mask) -> SparseTensor:
    """PyTorch's ``Tensor.sparse_mask(mask)``: the dense tensor's entries at ``mask``'s positions
    (its values ignored), a sparse COO tensor of ``mask``'s indices; gradients reach ``self``.
    An uncoalesced ``mask`` keeps its repeats, each holding the entry, as PyTorch's."""
    who = "Tensor.sparse_mask"
    if not isinstance(mask, SparseTensor):
        raise TypeError(f"{who}: mask must be a sparse COO tensor, got {_describe(mask)}")
    if not isinstance(self, Tensor) or tuple(self.shape) != mask.shape:
        raise ValueError(f"{who}: the tensor ({_describe(self)}) and mask (shape {mask.shape}) "
                         "must have the same shape")
    vals = getitem(self, tuple(Tensor(row) for row in mask._idx))
    return SparseTensor(mask._idx, vals, mask.shape, coalesced=mask._coalesced)
