"""SparseTensor: PyTorch's sparse COO layout, a tensor stored as its nonzero entries only.

A sparse COO tensor of ``shape`` is three things:

* ``indices``: an int64 array of shape ``(sparse_dim, nnz)``; column ``k`` is the position of
  entry ``k`` along the first ``sparse_dim`` axes;
* ``values``: a Tensor of shape ``(nnz, *shape[sparse_dim:])`` (one number per entry when
  ``sparse_dim == len(shape)``; one dense row per entry in a *hybrid* tensor such as the gradient
  of an embedding table, ``(1, nnz)`` row ids and ``(nnz, dim)`` rows);
* ``shape``.

Every position not listed is zero. A position may be listed twice (the entries add up): such a
tensor is *uncoalesced*; ``coalesce()`` sorts the positions and sums the repeats.

The values are an ordinary chainrule Tensor, so every sparse op here is written with the dense
ops on ``values`` and autograd follows it without a backward of its own: gradients reach the
values (and, through them, a ``values`` tensor the caller made) and the dense operands.
"""

from __future__ import annotations

import numbers

from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor
from ..autograd.tensor_data import Size
from ..backend import get_array_module
from ..ops.select import index_add
from ..ops.shape import reshape
from ..ops.tensor_info import layout

__all__ = ["SparseTensor", "sparse_coo"]


sparse_coo = layout("sparse_coo")  # PyTorch's torch.sparse_coo: the layout of a SparseTensor


class SparseTensor:
    """A sparse COO tensor (see the module docstring); make one with ``sparse_coo_tensor``.

    Unlike PyTorch's, it is its own class rather than a layout of ``Tensor``: the dense ops do
    not take it. What it offers is what the sparse programs use: ``to_dense()``, ``coalesce()``,
    ``sparse.mm``/``@``, ``sparse.sum``, ``+`` another SparseTensor, ``/`` a number, ``*`` a
    number or a dense or sparse tensor, and the zero-preserving functions (sparse/elementwise.py).
    """

    is_sparse = True
    is_sparse_csr = False
    layout = sparse_coo

    def __init__(self, indices, values: Tensor, shape, *, coalesced: bool = False):
        self._idx = indices  # int64 array (sparse_dim, nnz), checked by sparse_coo_tensor
        self._vals = values
        self.shape = tuple(int(s) for s in shape)
        self._coalesced = coalesced

    # ---- inspection -------------------------------------------------------------------------
    @property
    def dtype(self):
        return self._vals.dtype

    @property
    def device(self):
        return self._vals.device

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def dim(self) -> int:
        return len(self.shape)

    def size(self, dim=None):
        return Size(self.shape) if dim is None else self.shape[dim]

    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def sparse_dim(self) -> int:
        """How many leading axes the indices address."""
        return int(self._idx.shape[0])

    def dense_dim(self) -> int:
        """How many trailing axes each entry's value spans (0 unless hybrid)."""
        return len(self.shape) - self.sparse_dim()

    def _nnz(self) -> int:
        """The number of entries stored (repeats counted)."""
        return int(self._idx.shape[1])

    def is_coalesced(self) -> bool:
        """True when the positions are sorted and each appears once (``coalesce()``'s result)."""
        return self._coalesced

    def _indices(self) -> Tensor:
        """The stored indices (sparse_dim, nnz), coalesced or not."""
        return Tensor(self._idx)

    def _values(self) -> Tensor:
        """The stored values (nnz, *dense shape), coalesced or not; in the graph."""
        return self._vals

    def indices(self) -> Tensor:
        """The indices of a coalesced tensor (PyTorch refuses them on an uncoalesced one)."""
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return Tensor(self._idx)

    def values(self) -> Tensor:
        """The values of a coalesced tensor (PyTorch refuses them on an uncoalesced one)."""
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._vals

    # ---- autograd ---------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._vals.requires_grad

    @property
    def is_leaf(self) -> bool:
        return self._vals._ctx is None

    def requires_grad_(self, requires_grad: bool = True) -> SparseTensor:
        self._vals.requires_grad_(requires_grad)
        return self

    @property
    def grad(self):
        """The gradient of a leaf: dLoss/d(the dense tensor) at the stored positions, as a
        SparseTensor on the coalesced positions (PyTorch's gradient of ``sparse.mm``'s sparse
        operand). Repeated positions get the same gradient each, so the first one is taken."""
        g = self._vals.grad
        return None if g is None else self._on_pattern(g.detach())

    def _on_pattern(self, g: Tensor) -> SparseTensor:
        """``g``, one row per stored entry, as the sparse gradient ``.grad`` and
        ``autograd.grad`` give (in the graph when ``g`` is, for ``create_graph``)."""
        xp = get_array_module(self._idx)
        flat = self._flat_positions()
        order = xp.argsort(flat, kind="stable")
        first = order[xp.concatenate([xp.ones(min(1, flat.size), bool),
                                      flat[order][1:] != flat[order][:-1]])]
        # sorted and unique, but flagged uncoalesced, as PyTorch flags most such gradients
        return SparseTensor(self._idx[:, first], g[Tensor(first.astype(xp.int64))], self.shape)

    @grad.setter
    def grad(self, value):
        if value is not None:
            raise TypeError("SparseTensor.grad can only be set to None (it is read from the "
                            "values' gradient)")
        self._vals.grad = None

    def zero_(self) -> SparseTensor:
        """No entries left (PyTorch's ``zero_`` of a sparse tensor, e.g. ``zero_grad(False)``)."""
        self._idx = self._idx[:, :0]
        self._vals = self._vals.detach().new_zeros((0, *self.shape[self.sparse_dim():]))
        self._coalesced = True
        return self

    def clone(self) -> SparseTensor:
        """A copy with its own indices and values (the values' copy stays in the graph)."""
        return SparseTensor(self._idx.copy(), self._vals.clone(), self.shape,
                            coalesced=self._coalesced)

    def detach(self) -> SparseTensor:
        return SparseTensor(self._idx, self._vals.detach(), self.shape, coalesced=self._coalesced)

    # ---- conversions ------------------------------------------------------------------------
    def _flat_positions(self):
        """Each entry's position as one number over the sparse axes (row-major)."""
        xp = get_array_module(self._idx)
        if self._idx.shape[1] == 0:
            return xp.zeros(0, dtype=xp.int64)
        return xp.ravel_multi_index(tuple(self._idx), self.shape[:self.sparse_dim()])

    def coalesce(self) -> SparseTensor:
        """The same tensor with sorted, unique positions (repeated entries summed)."""
        if self._coalesced:
            return self
        xp = get_array_module(self._idx)
        sparse_shape = self.shape[:self.sparse_dim()]
        unique, inverse = xp.unique(self._flat_positions(), return_inverse=True)
        idx = xp.stack(xp.unravel_index(unique, sparse_shape)).astype(xp.int64).reshape(
            len(sparse_shape), -1)
        zeros = self._vals.new_zeros((unique.size, *self.shape[self.sparse_dim():]))
        vals = index_add(zeros, 0, Tensor(inverse.reshape(-1).astype(xp.int64)), self._vals)
        return SparseTensor(idx, vals, self.shape, coalesced=True)

    def to_dense(self) -> Tensor:
        """The dense Tensor: zeros with the values added at their positions (repeats add)."""
        xp = get_array_module(self._idx)
        sd = self.sparse_dim()
        rows = 1
        for s in self.shape[:sd]:
            rows *= s
        zeros = self._vals.new_zeros((rows, *self.shape[sd:]))
        flat = Tensor(self._flat_positions().astype(xp.int64))
        return reshape(index_add(zeros, 0, flat, self._vals), self.shape)

    def to_sparse(self, sparse_dim=None, *, layout=None):
        """Itself; another ``sparse_dim`` is refused, as PyTorch's (was: ignored, so a tensor of
        sparse_dim 2 came back for ``to_sparse(1)``); ``layout=`` CSR or CSC converts."""
        if layout is not None and layout is not sparse_coo:
            from .compressed import sparse_csc, sparse_csr, to_compressed
            if layout is not sparse_csr and layout is not sparse_csc:
                raise ValueError(f"to_sparse: layout must be chainrule.sparse_coo, sparse_csr or "
                                 f"sparse_csc, got {layout!r}")
            return to_compressed(self, layout)
        if sparse_dim is not None and sparse_dim != self.sparse_dim():
            raise ValueError(f"to_sparse: a sparse tensor of sparse_dim {self.sparse_dim()} is "
                             f"not converted to sparse_dim {sparse_dim!r} (as PyTorch's)")
        return self

    def to(self, dtype) -> SparseTensor:
        return SparseTensor(self._idx, self._vals.to(dtype), self.shape, coalesced=self._coalesced)

    def double(self) -> SparseTensor:
        return self.to("float64")

    def float(self) -> SparseTensor:  # noqa: A003 - PyTorch's name
        return self.to("float32")

    def t(self) -> SparseTensor:
        """The transpose of a 2-D sparse matrix (its two index rows swapped); 1-D: itself."""
        if self.ndim < 2:  # was refused; PyTorch's t() of a vector is the vector
            return self
        if self.sparse_dim() != 2 or self.dense_dim() != 0:
            raise ValueError(f"SparseTensor.t: needs a 2-D sparse matrix, got shape {self.shape} "
                             f"with sparse_dim {self.sparse_dim()}")
        return SparseTensor(self._idx[::-1].copy(), self._vals, self.shape[::-1])

    # ---- arithmetic (the products live in sparse/ops.py) --------------------------------------
    def __add__(self, other):
        from .ops import add
        return add(self, other)

    __radd__ = __add__

    def __neg__(self):
        return SparseTensor(self._idx, -self._vals, self.shape, coalesced=self._coalesced)

    def __sub__(self, other):
        return self + (-other)

    def __mul__(self, other):
        from .elementwise import mul  # a number, a dense or a sparse tensor
        return mul(self, other)

    __rmul__ = __mul__

    def __truediv__(self, other):
        from .elementwise import div  # a number (0 too: inf, as PyTorch's) or a dense tensor
        return div(self, other)

    def __matmul__(self, other):
        from .ops import mm
        return mm(self, other)

    def mm(self, other):
        from .ops import mm
        return mm(self, other)

    def __rmatmul__(self, other, who="matmul"):  # dense @ sparse
        from .ops import dense_mm
        return dense_mm(other, self, who=who)

    matmul = mm
    add = __add__
    mul = __mul__
    sub = __sub__
    div = __truediv__

    def sum(self, dim=None, keepdim=False, dtype=None):  # noqa: A003 - PyTorch's name
        """``sparse.sum``: over every axis a dense 0-d Tensor, over some a sparse tensor (with
        ``keepdim``, the summed axes kept with size 1, as PyTorch's ``Tensor.sum``)."""
        from .ops import sum as sparse_sum
        from .ops import sum_keepdim
        if keepdim:
            return sum_keepdim(self, dim, dtype)
        return sparse_sum(self, dim, dtype)

    def __repr__(self) -> str:
        with no_grad():
            idx = repr(Tensor(self._idx)).replace("\n", "\n" + " " * 15)
            vals = repr(self._vals.detach()).replace("\n", "\n" + " " * 14)
        extra = f", dtype={self.dtype}" if self.dtype != "float32" else ""
        if self._vals._ctx is not None:
            extra += f", grad_fn={type(self._vals._ctx).__name__}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return (f"tensor(indices={idx},\n       values={vals},\n       size={self.shape}, "
                f"nnz={self._nnz()}{extra}, layout=chainrule.sparse_coo)")


def refuse_array(self, dtype=None, copy=None):
    """``__array__`` of the sparse classes: NumPy made a sparse tensor an object array (a 0-d
    array holding it, or a grid of them), so a dense op given one computed on that object and
    returned a silent wrong result (``cr.eq(d, s)`` all False, ``cr.clone(s)`` a 0-d object
    tensor) or failed far from the cause. It is refused here, naming the way out."""
    raise TypeError(f"a sparse tensor ({self.layout}, shape {tuple(self.shape)}) is not converted "
                    "to a dense array implicitly, and chainrule's dense ops do not take one "
                    "(PyTorch's take some): call .to_dense() first, or use its own methods and "
                    "chainrule.sparse's ops (see docs/sparse.md)")


SparseTensor.__array__ = refuse_array
# NumPy's scalars and arrays defer to the reflected operator (np.float64(2.5) * s is s * 2.5,
# as PyTorch's; was the TypeError above, NumPy having tried to make s an array)
SparseTensor.__array_ufunc__ = None


def _describe(x) -> str:
    if isinstance(x, (Tensor, SparseTensor)):
        return f"a {type(x).__name__} of shape {tuple(x.shape)}"
    return repr(x) if isinstance(x, numbers.Number) else type(x).__name__
