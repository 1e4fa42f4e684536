"""PyTorch's compressed sparse layouts for matrices, CSR (``torch.sparse_csr``) and CSC
(``torch.sparse_csc``): a 2-D sparse tensor stored as its values in row-major (CSR) or
column-major (CSC) order, the column (row) index of each, and for each row (column) where its
entries start (``crow_indices``, ``ccol_indices``: n + 1 numbers from 0 to nnz).

A compressed tensor is converted, not computed on: ``to_dense()``, ``to_sparse()`` (COO),
``to_sparse_csr()``/``to_sparse_csc()``, ``@``/``mm``/``sparse.mm``/``sparse.addmm`` with a dense
matrix (through the COO form, sparse/ops.py), ``*`` or ``/`` a number. The values are an
ordinary Tensor: gradients reach them (and the dense tensor they were taken from, at the stored
positions) through these."""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor
from ..autograd.tensor import tensor as _tensor
from ..backend import get_array_module
from ..ops.tensor_info import layout
from .tensor import SparseTensor, _describe, refuse_array

__all__ = ["SparseCompressedTensor", "sparse_csc", "sparse_csc_tensor", "sparse_csr",
           "sparse_csr_tensor", "to_compressed"]

sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")


class SparseCompressedTensor:
    """A CSR or CSC matrix (see the module docstring); make one with ``sparse_csr_tensor``,
    ``sparse_csc_tensor`` or ``Tensor.to_sparse_csr()``/``to_sparse_csc()``."""

    is_sparse = False  # PyTorch's: is_sparse names the COO layout only

    def __init__(self, compressed, plain, values: Tensor, shape, layout_):
        self._compressed, self._plain, self._vals = compressed, plain, values
        self.shape = tuple(int(s) for s in shape)
        self.layout = layout_
        self.is_sparse_csr = layout_ is sparse_csr

    @property
    def _csr(self) -> bool:
        return self.layout is sparse_csr

    dtype = property(lambda self: self._vals.dtype)
    device = property(lambda self: self._vals.device)
    ndim = property(lambda self: 2)
    requires_grad = property(lambda self: self._vals.requires_grad)

    def dim(self) -> int:
        return 2

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return self.shape[0] * self.shape[1]

    def _nnz(self) -> int:
        return int(self._plain.shape[0])

    def _named(self, want_csr: bool, what: str):
        if self._csr != want_csr:
            raise RuntimeError(f"{what}: expected a {'CSR' if want_csr else 'CSC'} tensor, got "
                               f"layout {_name(self.layout)}")

    def crow_indices(self) -> Tensor:
        self._named(True, "crow_indices")
        return Tensor(self._compressed)

    def col_indices(self) -> Tensor:
        self._named(True, "col_indices")
        return Tensor(self._plain)

    def ccol_indices(self) -> Tensor:
        self._named(False, "ccol_indices")
        return Tensor(self._compressed)

    def row_indices(self) -> Tensor:
        self._named(False, "row_indices")
        return Tensor(self._plain)

    def values(self) -> Tensor:
        return self._vals

    def to_sparse(self, sparse_dim=None, *, layout=None):
        """The COO form (in the stored order; coalesced for CSR), or the layout asked for."""
        if layout is sparse_csr or layout is sparse_csc:
            return to_compressed(self, layout)
        if sparse_dim is not None and sparse_dim != 2:  # was: ignored (sparse_dim 2 came back)
            raise ValueError(f"to_sparse: a {_name(self.layout)} matrix converts to sparse_dim 2 "
                             f"only (as PyTorch's), got sparse_dim {sparse_dim!r}")
        xp = get_array_module(self._compressed)
        counts = xp.diff(self._compressed)
        outer = xp.repeat(xp.arange(counts.size, dtype=xp.int64), counts)
        idx = xp.stack([outer, self._plain] if self._csr else [self._plain, outer])
        return SparseTensor(idx.astype(xp.int64).reshape(2, -1), self._vals, self.shape,
                            coalesced=self._csr)  # CSC's: column-major, uncoalesced (PyTorch's)

    to_sparse_coo = to_sparse

    def to_sparse_csr(self):
        return to_compressed(self, sparse_csr)

    def to_sparse_csc(self):
        return to_compressed(self, sparse_csc)

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        out = self.to_sparse().to_dense()
        return out if dtype is None else out.to(dtype)

    def _with(self, values: Tensor):
        return SparseCompressedTensor(self._compressed, self._plain, values, self.shape,
                                      self.layout)

    def to(self, dtype):
        return self._with(self._vals.to(dtype))

    def clone(self):
        """A copy with its own index arrays and values (was missing: ``asarray(copy=True)``)."""
        return SparseCompressedTensor(self._compressed.copy(), self._plain.copy(),
                                      self._vals.clone(), self.shape, self.layout)

    def double(self):
        return self.to("float64")

    def float(self):  # noqa: A003 - PyTorch's name
        return self.to("float32")

    def detach(self):
        return self._with(self._vals.detach())

    def sum(self, dim=None, keepdim=False, dtype=None):  # noqa: A003 - PyTorch's name
        """The sum of every entry, a dense 0-d Tensor in the graph (was an AttributeError); over
        some axes PyTorch's CSR sum needs keepdim=True and gives a compressed tensor."""
        if dim is None:
            return (self._vals if dtype is None else self._vals.to(dtype)).sum()
        if not keepdim:
            raise RuntimeError("reduction operations on CSR tensors with keepdim=False is "
                               "unsupported (as PyTorch's): pass keepdim=True or dim=None")
        return to_compressed(self.to_sparse().sum(dim, True, dtype), self.layout)

    def t(self):
        """The transpose: a CSR matrix's arrays read as a CSC one's, and the reverse, as
        PyTorch's (was an AttributeError)."""
        other = sparse_csc if self._csr else sparse_csr
        return SparseCompressedTensor(self._compressed, self._plain, self._vals, self.shape[::-1],
                                      other)

    def __mul__(self, other):
        if isinstance(other, bool) or not isinstance(other, numbers.Number):
            raise TypeError(f"{_name(self.layout)} tensor * other: other must be a number, got "
                            f"{_describe(other)} (convert with to_sparse() for more)")
        return self._with(self._vals * other)

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, bool) or not isinstance(other, numbers.Number):
            raise TypeError(f"{_name(self.layout)} tensor / other: other must be a number, got "
                            f"{_describe(other)} (convert with to_sparse() for more)")
        return self._with(self._vals / other)  # / 0: inf and nan, as PyTorch's

    def __neg__(self):
        return self._with(-self._vals)

    def __matmul__(self, other):
        from .ops import mm
        return mm(self, other)

    mm = matmul = __matmul__

    def __rmatmul__(self, other, who="matmul"):  # dense @ sparse
        from .ops import dense_mm
        return dense_mm(other, self, who=who)

    __array__ = refuse_array  # no implicit dense array (sparse/tensor.py)
    __array_ufunc__ = None  # NumPy's scalars defer to the reflected operator (tensor.py)

    def __repr__(self) -> str:
        a, b = ("crow_indices", "col_indices") if self._csr else ("ccol_indices", "row_indices")
        vals = repr(self._vals.detach()).replace("\n", "\n" + " " * 14)
        return (f"tensor({a}={Tensor(self._compressed)!r},\n       {b}={Tensor(self._plain)!r},"
                f"\n       values={vals}, size={self.shape}, nnz={self._nnz()}, "
                f"layout={self.layout})")


def _name(layout_) -> str:
    return str(layout_).rsplit(".", 1)[-1]


def _from_coo(coo: SparseTensor, layout_) -> SparseCompressedTensor:
    if coo.ndim != 2 or coo.dense_dim() != 0:
        raise ValueError(f"to_{_name(layout_)}: only 2-D matrices are supported (no batch or dense "
                         f"axes), got shape {coo.shape}")
    coo = coo.coalesce()
    xp = get_array_module(coo._idx)
    outer_axis = 0 if layout_ is sparse_csr else 1
    order = xp.lexsort((coo._idx[1 - outer_axis], coo._idx[outer_axis]))
    vals = coo._vals if layout_ is sparse_csr else coo._vals[Tensor(order.astype(xp.int64))]
    outer = coo._idx[outer_axis][order]
    counts = xp.bincount(outer, minlength=coo.shape[outer_axis])
    compressed = xp.concatenate([xp.zeros(1, xp.int64), xp.cumsum(counts)]).astype(xp.int64)
    return SparseCompressedTensor(compressed, coo._idx[1 - outer_axis][order].astype(xp.int64),
                                  vals, coo.shape, layout_)


def to_compressed(x, layout_) -> SparseCompressedTensor:
    """``x`` (dense, COO or compressed) as a CSR or CSC matrix."""
    if isinstance(x, SparseCompressedTensor):
        return x if x.layout is layout_ else _from_coo(x.to_sparse(), layout_)
    if isinstance(x, Tensor):
        if x.ndim != 2:
            raise ValueError(f"to_{_name(layout_)}: only 2-D matrices are supported, got shape "
                             f"{tuple(x.shape)}")
        from .ops import to_sparse
        x = to_sparse(x)
    return _from_coo(x, layout_)


def _make(who, layout_, compressed, plain, values, size, dtype, requires_grad):
    vals = values if isinstance(values, Tensor) else _tensor(values, dtype=dtype)
    vals = vals if dtype is None or vals.dtype == dtype else vals.to(dtype)
    xp = get_array_module(vals._data)
    comp, pl = (xp.asarray(a._data if isinstance(a, Tensor) else a) for a in (compressed, plain))
    names = ("crow_indices", "col_indices") if layout_ is sparse_csr else ("ccol_indices",
                                                                          "row_indices")
    for name, a in zip(names, (comp, pl)):
        if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
            raise ValueError(f"{who}: {name} must be a 1-D integer tensor (batches are not "
                             f"supported), got shape {tuple(a.shape)} dtype {a.dtype}")
    comp, pl = comp.astype(xp.int64), pl.astype(xp.int64)
    nnz = pl.size
    if vals.ndim != 1 or vals.shape[0] != nnz:
        raise ValueError(f"{who}: values must be 1-D with one entry per {names[1]} ({nnz}), "
                         f"got shape {tuple(vals.shape)}")
    if comp.size < 1 or comp[0] != 0 or comp[-1] != nnz or (xp.diff(comp) < 0).any():
        raise ValueError(f"{who}: {names[0]} must start at 0, never decrease and end at nnz = "
                         f"{nnz}, got {comp.tolist()}")
    outer = comp.size - 1
    if size is None:
        inner = int(pl.max()) + 1 if nnz else 0
        size = (outer, inner) if layout_ is sparse_csr else (inner, outer)
    size = tuple(int(s) for s in size)
    o_axis = 0 if layout_ is sparse_csr else 1
    if len(size) != 2 or size[o_axis] != outer:
        raise ValueError(f"{who}: size {size} does not fit {names[0]} of length {comp.size} "
                         f"(a 2-D size with {outer} {'rows' if o_axis == 0 else 'columns'})")
    if nnz and (pl.min() < 0 or pl.max() >= size[1 - o_axis]):
        raise ValueError(f"{who}: {names[1]} must lie in [0, {size[1 - o_axis]}), got "
                         f"{pl.min()} to {pl.max()}")
    if requires_grad:
        if vals.dtype.kind not in "fc":
            raise TypeError(f"{who}: only floating-point values can require gradients, got "
                            f"dtype {vals.dtype}")
        vals = Tensor(vals._data, requires_grad=True)
    return SparseCompressedTensor(comp, pl, vals, size, layout_)


def sparse_csr_tensor(crow_indices, col_indices, values, size=None, *, dtype=None, device=None,
                      pin_memory=False, requires_grad=False, check_invariants=None):
    """PyTorch's ``torch.sparse_csr_tensor``: a 2-D CSR matrix (its invariants always checked).

    >>> import chainrule as cr
    >>> cr.sparse_csr_tensor([0, 1, 3], [1, 0, 2], [1.0, 2.0, 3.0], (2, 3)).to_dense().tolist()
    [[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]]
    """
    return _make("sparse_csr_tensor", sparse_csr, crow_indices, col_indices, values, size,
                 dtype, requires_grad)


def sparse_csc_tensor(ccol_indices, row_indices, values, size=None, *, dtype=None, device=None,
                      pin_memory=False, requires_grad=False, check_invariants=None):
    """PyTorch's ``torch.sparse_csc_tensor``: a 2-D CSC matrix (its invariants always checked)."""
    return _make("sparse_csc_tensor", sparse_csc, ccol_indices, row_indices, values, size,
                 dtype, requires_grad)
