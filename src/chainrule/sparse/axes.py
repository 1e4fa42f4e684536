"""Adding and reordering the axes of a sparse COO tensor, as PyTorch's: ``s.unsqueeze(dim)``
(a new axis of size 1: sparse, an index row of zeros, where it falls among the sparse axes,
else a new axis of the values) and ``s.permute(*dims)`` (the sparse axes among themselves, the
dense ones among themselves). Before, both were missing (AttributeError). The values go
through the dense ops, so gradients reach them."""

from __future__ import annotations

from ..backend import get_array_module
from ..ops.shape import normalize_axis
from ..ops.shape import permute as _dense_permute
from ..ops.shape import unsqueeze as _dense_unsqueeze
from .tensor import SparseTensor

__all__ = ["permute", "unsqueeze"]


def unsqueeze(self, dim) -> SparseTensor:
    """``self`` with an axis of size 1 at ``dim`` (flagged uncoalesced unless it holds one entry
    or none, as PyTorch's)."""
    (d,) = normalize_axis("SparseTensor.unsqueeze", dim, self.ndim + 1)
    shape = self.shape[:d] + (1,) + self.shape[d:]
    sd = self.sparse_dim()
    if d <= sd:
        idx = get_array_module(self._idx).insert(self._idx, d, 0, axis=0)
        return SparseTensor(idx, self._vals, shape, coalesced=self._nnz() <= 1)
    vals = _dense_unsqueeze(self._vals, d - sd + 1)
    return SparseTensor(self._idx, vals, shape, coalesced=self._nnz() <= 1)


def permute(self, *dims) -> SparseTensor:
    """The axes in the order ``dims``; a sparse and a dense axis cannot trade places (PyTorch's
    rule). Coalesced when ``self`` is and the sparse axes keep their order."""
    who = "SparseTensor.permute"
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if len(dims) != self.ndim:
        raise ValueError(
            f"{who}: dims {dims} must name each of the {self.ndim} axes of a tensor "
            f"of shape {self.shape} once"
        )
    order = [normalize_axis(who, d, self.ndim)[0] for d in dims]
    if sorted(order) != list(range(self.ndim)):
        raise ValueError(f"{who}: dims {dims} repeat an axis")
    sd = self.sparse_dim()
    if sorted(order[:sd]) != list(range(sd)):
        raise ValueError(
            f"{who}: dims {dims} move a sparse axis among the dense ones or back "
            f"(sparse_dim {sd}); PyTorch's permute of a sparse tensor does not"
        )
    vals = self._vals
    if order[sd:] != list(range(sd, self.ndim)):
        vals = _dense_permute(vals, (0, *(k - sd + 1 for k in order[sd:])))
    same = order[:sd] == list(range(sd))
    return SparseTensor(
        self._idx[order[:sd]],
        vals,
        tuple(self.shape[k] for k in order),
        coalesced=self._coalesced and same,
    )
