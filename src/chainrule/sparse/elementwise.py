"""The elementwise sparse COO ops PyTorch has beyond ``+``, ``-`` and scaling (sparse/tensor.py):
the zero-preserving functions of the values (``s.abs()``, ``s.sqrt()``, ``s.sin()``, ``s ** 2``,
... on the coalesced tensor, as PyTorch's: an uncoalesced entry pair at one position is summed
first), the product with a dense tensor (which broadcasts to the sparse shape and keeps the
sparse pattern) or with another sparse tensor (the positions both hold), ``transpose`` of two
sparse axes, and the product of two sparse matrices. Each is written with dense ops on the
values, so autograd follows it without a backward of its own."""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.shape import _one_axis, getitem
from .tensor import SparseTensor, _describe

__all__ = ["UNARY", "div", "mul", "pow", "sparse_sparse_mm", "transpose"]

# the functions f with f(0) = 0 that PyTorch computes on a sparse tensor's values
UNARY = ("abs", "sqrt", "square", "sin", "tan", "tanh", "asin", "atan", "atanh", "sinh", "asinh",
         "expm1", "log1p", "erf", "erfinv", "relu", "sign", "sgn", "floor", "ceil", "round",
         "trunc", "frac", "deg2rad", "rad2deg", "nan_to_num", "isnan", "isinf", "signbit")


def unary(name):
    def op(self, *args, **kwargs):
        s = self.coalesce()
        return SparseTensor(s._idx, getattr(s._vals, name)(*args, **kwargs), s.shape,
                            coalesced=True)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``{name}`` of the stored values of the coalesced tensor (f(0) = 0)."
    return op


def pow(self, exponent):  # noqa: A001 - PyTorch's name
    """``s ** exponent`` for a number other than 0 (which would make every missing entry 1:
    refused, as PyTorch's), on the coalesced values."""
    if isinstance(exponent, bool) or not isinstance(exponent, numbers.Number):
        raise TypeError(f"SparseTensor.pow: exponent must be a number (PyTorch has no sparse "
                        f"pow by a tensor), got {_describe(exponent)}")
    if exponent == 0:
        raise ValueError("SparseTensor.pow: cannot raise a sparse tensor to the zeroth power "
                         "(every missing entry would be 1: the result would be dense)")
    s = self.coalesce()
    return SparseTensor(s._idx, s._vals ** exponent, s.shape, coalesced=True)


def _positions_of(s, index):
    """``index`` (dense, broadcast to ``s``'s shape) at each stored entry: (nnz, *dense_shape)."""
    return getitem(index, tuple(Tensor(row) for row in s._idx))


def mul(self, other):
    """``self * other``: a number or 0-d Tensor scales the values; a dense Tensor broadcast to
    ``self``'s shape multiplies each stored entry by its own element (the pattern is kept, as
    PyTorch's); a sparse tensor of the same shape keeps the positions both store."""
    if isinstance(other, SparseTensor):
        return _sparse_times_sparse(self, other)
    if isinstance(other, Tensor) and other.ndim:
        picked = _positions_of(self, other.expand(*_broadcast_to(self, other, "*")))
        return SparseTensor(self._idx, self._vals * picked, self.shape,
                            coalesced=self._coalesced)
    if isinstance(other, bool) or not isinstance(other, (numbers.Number, Tensor)):
        raise TypeError(f"SparseTensor * other: other must be a number, a Tensor or a "
                        f"SparseTensor, got {_describe(other)}")
    return SparseTensor(self._idx, self._vals * other, self.shape, coalesced=self._coalesced)


def div(self, other):
    """``self / other``: each stored value divided (true division), the pattern kept. ``other``
    is a number (0 included: PyTorch's inf and nan, was a ZeroDivisionError) or a dense
    Tensor broadcast to ``self``'s shape (PyTorch takes a 0-d one only)."""
    if isinstance(other, SparseTensor) or isinstance(other, bool) or not isinstance(
            other, (numbers.Number, Tensor)):
        raise TypeError(f"SparseTensor / other: other must be a number or a dense Tensor, got "
                        f"{_describe(other)}")
    if isinstance(other, Tensor) and other.ndim:
        other = _positions_of(self, other.expand(*_broadcast_to(self, other, "/")))
    return SparseTensor(self._idx, self._vals / other, self.shape, coalesced=self._coalesced)


def _broadcast_to(self, other, op):
    xp = get_array_module(other._data)
    try:
        full = xp.broadcast_shapes(tuple(other.shape), self.shape)
    except ValueError:
        full = None
    if full != self.shape:
        raise ValueError(f"SparseTensor {op} Tensor: the dense operand of shape "
                         f"{tuple(other.shape)} must broadcast to the sparse shape {self.shape}")
    return self.shape


def _sparse_times_sparse(a, b):
    if a.shape != b.shape or a.sparse_dim() != b.sparse_dim():
        raise ValueError(f"SparseTensor * SparseTensor: shapes {a.shape} (sparse_dim "
                         f"{a.sparse_dim()}) and {b.shape} (sparse_dim {b.sparse_dim()}) "
                         "differ")
    a, b = a.coalesce(), b.coalesce()
    xp = get_array_module(a._idx)
    _, ia, ib = xp.intersect1d(a._flat_positions(), b._flat_positions(), assume_unique=True,
                               return_indices=True)
    vals = getitem(a._vals, Tensor(ia.astype(xp.int64))) * getitem(
        b._vals, Tensor(ib.astype(xp.int64)))
    return SparseTensor(a._idx[:, ia], vals, a.shape, coalesced=True)


def transpose(self, dim0, dim1):
    """Two sparse axes swapped (their index rows); PyTorch transposes sparse axes only."""
    d0, d1 = (_one_axis("SparseTensor.transpose", d, self.ndim) for d in (dim0, dim1))
    if max(d0, d1) >= self.sparse_dim():
        raise ValueError(f"SparseTensor.transpose: both axes must be sparse (sparse_dim "
                         f"{self.sparse_dim()}), got {dim0} and {dim1}")
    order = list(range(self.ndim))
    order[d0], order[d1] = d1, d0
    idx = self._idx[order[:self.sparse_dim()]]
    return SparseTensor(idx.copy(), self._vals, tuple(self.shape[k] for k in order),
                        coalesced=self._coalesced and d0 == d1)


def sparse_sparse_mm(a, b):
    """The product of two sparse matrices, sparse and coalesced (PyTorch's ``sparse.mm`` of two
    sparse operands): each pair of entries (i, j, v) of ``a`` and (j, k, w) of ``b`` adds
    ``v * w`` at (i, k). Gradients reach both operands' values."""
    for name, s in (("mat1", a), ("mat2", b)):
        if s.sparse_dim() != 2 or s.dense_dim() != 0:
            raise ValueError(f"sparse.mm: {name} must be a 2-D sparse matrix, got shape "
                             f"{s.shape} with sparse_dim {s.sparse_dim()}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"sparse.mm: mat1 of shape {a.shape} and mat2 of shape {b.shape} "
                         "cannot be multiplied")
    if a.dtype != b.dtype:
        raise TypeError(f"sparse.mm: mat1 has dtype {a.dtype} but mat2 has dtype {b.dtype}")
    xp = get_array_module(a._idx)
    order = xp.argsort(b._idx[0], kind="stable")  # b's entries grouped by row
    starts = xp.searchsorted(b._idx[0][order], a._idx[1], side="left")
    ends = xp.searchsorted(b._idx[0][order], a._idx[1], side="right")
    counts = ends - starts
    ia = xp.repeat(xp.arange(a._nnz()), counts)  # each pair's entry of a
    offsets = xp.arange(int(counts.sum())) - xp.repeat(xp.cumsum(counts) - counts, counts)
    ib = order[xp.repeat(starts, counts) + offsets]  # and of b
    vals = getitem(a._vals, Tensor(ia.astype(xp.int64))) * getitem(
        b._vals, Tensor(ib.astype(xp.int64)))
    idx = xp.stack([a._idx[0][ia], b._idx[1][ib]]).astype(xp.int64).reshape(2, -1)
    return SparseTensor(idx, vals, (a.shape[0], b.shape[1])).coalesce()
