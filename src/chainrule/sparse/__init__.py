"""Sparse COO tensors, as PyTorch's ``torch.sparse``: ``sparse_coo_tensor``, ``Tensor.to_sparse``,
``sparse.mm``/``spmm``/``addmm``, ``sparse.sum``, ``sparse.softmax``/``log_softmax``, and the
legacy ``sparse.FloatTensor(indices, values, size)``. See docs/sparse.md."""

from __future__ import annotations

import warnings

from ..autograd.tensor import Tensor
from . import axes as _axes
from . import conversions as _conversions
from . import elementwise as _elementwise
from . import indexing as _indexing
from . import protocol as _protocol
from .batched import bmm as _bmm
from .compressed import (
    SparseCompressedTensor,
    sparse_csc,
    sparse_csc_tensor,
    sparse_csr,
    sparse_csr_tensor,
    to_compressed,
)
from .invariants import check_sparse_tensor_invariants
from .ops import (
    add,
    addmm,
    log_softmax,
    mm,
    softmax,
    sparse_coo_tensor,
    spmm,
    sum,  # noqa: A004 - PyTorch's torch.sparse.sum
    to_sparse,
)
from .tensor import SparseTensor, sparse_coo

for _name in _elementwise.UNARY:
    setattr(SparseTensor, _name, _elementwise.unary(_name))
SparseTensor.pow = SparseTensor.__pow__ = _elementwise.pow
SparseTensor.transpose = _elementwise.transpose
SparseTensor.index_select = _indexing.index_select
SparseTensor.narrow_copy = _indexing.narrow_copy
SparseTensor.select = _indexing.select
Tensor.sparse_mask = _indexing.sparse_mask  # dense.sparse_mask(s), as PyTorch's
SparseTensor.unsqueeze, SparseTensor.permute = _axes.unsqueeze, _axes.permute
SparseTensor.bmm = SparseCompressedTensor.bmm = _bmm  # torch.bmm of a sparse batch (batched.py)
_conversions.attach(SparseTensor)  # to(...), cpu(), half(), abs(s), add/sub alpha=
_conversions.attach_in_place(SparseTensor)  # mul_, div_, neg_, add_, sub_
_protocol.attach(SparseTensor, indexing=True)  # ==, bool, len, s[i] (sparse/protocol.py)
_protocol.attach(SparseCompressedTensor, indexing=False)
Tensor.to_sparse_csr = SparseTensor.to_sparse_csr = lambda self: to_compressed(self, sparse_csr)
Tensor.to_sparse_csc = SparseTensor.to_sparse_csc = lambda self: to_compressed(self, sparse_csc)

__all__ = ["DoubleTensor", "FloatTensor", "SparseCompressedTensor", "SparseTensor", "add", "addmm",
           "check_sparse_tensor_invariants",
           "log_softmax", "mm", "softmax", "sparse_coo", "sparse_coo_tensor", "sparse_csc",
           "sparse_csc_tensor", "sparse_csr", "sparse_csr_tensor", "spmm", "sum", "to_sparse"]

Tensor.to_sparse = to_sparse
Tensor.to_sparse_coo = lambda self: to_sparse(self)
Tensor.to_dense = lambda self, dtype=None, *, masked_grad=None: (  # PyTorch's: a dense tensor is
    self if dtype is None else self.to(dtype))  # its own dense form


def _legacy(name, dtype):
    def make(indices, values, size=None):
        warnings.warn(f"chainrule.sparse.{name}(indices, values, shape) is deprecated.  Please "
                      "use chainrule.sparse_coo_tensor(indices, values, shape, dtype=) (as "
                      "PyTorch's warns).", UserWarning, stacklevel=2)
        return sparse_coo_tensor(indices, values, size, dtype=dtype)
    make.__name__ = name
    make.__doc__ = (f"PyTorch's legacy ``torch.sparse.{name}(indices, values, size)``: "
                    f"``sparse_coo_tensor`` with {dtype} values.")
    return make


FloatTensor = _legacy("FloatTensor", "float32")
DoubleTensor = _legacy("DoubleTensor", "float64")
