"""Making sparse COO tensors and the sparse ops: ``sparse_coo_tensor``, ``to_sparse``, ``mm``,
``sum``, ``softmax``, ``add``. Each is written with dense ops on the values (see tensor.py), so
autograd differentiates it without a backward of its own."""

from __future__ import annotations

import numbers

from ..autograd.promotion import result_type
from ..autograd.tensor import Tensor
from ..autograd.tensor import tensor as _tensor
from ..backend import get_array_module
from ..ops._layout import check_factory_options
from ..ops.elementwise import where
from ..ops.products import _scaled_sum
from ..ops.reduce import sum as _dense_sum
from ..ops.select import index_add
from ..ops.shape import _one_axis, getitem, normalize_axis, unsqueeze
from ..ops.softmax import log_softmax as _dense_log_softmax
from ..ops.softmax import softmax as _dense_softmax
from ..ops.torch_names import concatenate
from .compressed import SparseCompressedTensor, sparse_csc, sparse_csr, to_compressed
from .tensor import SparseTensor, _describe

__all__ = ["add", "addmm", "dense_mm", "log_softmax", "mm", "softmax", "sparse_coo_tensor", "spmm",
           "sum", "sum_keepdim", "to_sparse"]


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None,
                      pin_memory: bool = False, requires_grad: bool = False,
                      check_invariants=None, is_coalesced=None) -> SparseTensor:
    """A sparse COO tensor with entries ``values`` at the columns of ``indices`` (PyTorch's).

    Args:
        indices: integers, shape ``(sparse_dim, nnz)``; column k is the position of entry k.
        values: shape ``(nnz, *dense_shape)``; a Tensor that requires grad stays in the graph
            (its gradient is per entry).
        size: the tensor's shape; None takes the smallest that holds every index.
        dtype: the values' dtype (default: theirs, float32 for Python floats).
        requires_grad: make the values a leaf that requires grad (the tensor's ``.grad``).

    >>> import chainrule as cr
    >>> s = cr.sparse_coo_tensor([[0, 1], [2, 0]], [3.0, 4.0], (2, 3))
    >>> s.to_dense().tolist()
    [[0.0, 0.0, 3.0], [4.0, 0.0, 0.0]]
    """
    who = "sparse_coo_tensor"
    check_factory_options(who, None, pin_memory)
    if isinstance(values, Tensor):
        vals = values if dtype is None else values.to(dtype)
    else:
        vals = _tensor(values, dtype=dtype)
    xp = get_array_module(vals._data)
    idx = xp.asarray(indices._data if isinstance(indices, Tensor) else indices)
    if idx.size == 0 and idx.ndim < 2:
        idx = idx.reshape(len(size) if size is not None else 1, 0)
    if idx.ndim != 2 or (idx.size and idx.dtype.kind not in "iu"):
        raise ValueError(f"{who}: indices must be a 2-D integer tensor (sparse_dim, nnz), got "
                         f"shape {tuple(idx.shape)} dtype {idx.dtype}")
    idx = idx.astype(xp.int64)
    sparse_dim, nnz = idx.shape
    if sparse_dim == 0:  # was: NumPy's "zero-size array to reduction operation minimum"
        raise ValueError(f"{who}: indices must have at least one row (sparse_dim >= 1), got "
                         f"shape {tuple(idx.shape)}; PyTorch's 0-d sparse tensors are not "
                         "supported")
    if vals.ndim == 0 or vals.shape[0] != nnz:
        raise ValueError(f"{who}: values must have shape (nnz, *dense_shape) with nnz = "
                         f"{nnz} (the columns of indices), got shape {tuple(vals.shape)}")
    if nnz and int(idx.min()) < 0:
        raise ValueError(f"{who}: indices must be non-negative, got {int(idx.min())}")
    dense_shape = tuple(vals.shape[1:])
    if size is None:
        size = tuple(int(m) + 1 for m in idx.max(axis=1)) if nnz else (0,) * sparse_dim
        size = size + dense_shape
    size = tuple(size.shape if isinstance(size, SparseTensor) else size)
    if len(size) != sparse_dim + len(dense_shape) or tuple(size[sparse_dim:]) != dense_shape:
        raise ValueError(f"{who}: size {size} does not fit indices with sparse_dim {sparse_dim} "
                         f"and values of shape {tuple(vals.shape)} (size must be "
                         f"(sparse sizes..., {', '.join(map(str, dense_shape))}))")
    for d in range(sparse_dim if nnz else 0):
        top = int(idx[d].max())
        if top >= size[d]:
            raise ValueError(f"{who}: indices[{d}] holds {top}, out of range for size {size[d]} "
                             f"of dimension {d} (size {size})")
    if vals.dtype.kind not in "fc" and requires_grad:
        raise TypeError(f"{who}: only floating-point values can require gradients, got dtype "
                        f"{vals.dtype}")
    if requires_grad:
        vals = vals.detach().requires_grad_() if vals._ctx is not None or vals.requires_grad \
            else Tensor(vals._data, requires_grad=True)
    return SparseTensor(idx, vals, size, coalesced=bool(is_coalesced) or nnz <= 1)


def to_sparse(self, sparse_dim=None, *, layout=None) -> SparseTensor:
    """``Tensor.to_sparse()``: the nonzero entries of a dense tensor, coalesced. With
    ``sparse_dim`` the leading axes only: the entries are the nonzero sub-arrays (hybrid)."""
    if layout is sparse_csr or layout is sparse_csc:
        return to_compressed(self, layout)
    if layout is not None and layout is not SparseTensor.layout:
        raise ValueError(f"to_sparse: layout must be chainrule.sparse_coo, sparse_csr or "
                         f"sparse_csc, got {layout!r}")
    sd = self.ndim if sparse_dim is None else int(sparse_dim)
    if not 0 < sd <= self.ndim:
        raise ValueError(f"to_sparse: sparse_dim must be within [1, {self.ndim}] for a tensor "
                         f"of shape {tuple(self.shape)}, got {sparse_dim!r}")
    xp = get_array_module(self._data)
    rest = int(xp.prod(self.shape[sd:], dtype=xp.int64))  # not -1: a size-0 tensor has no -1
    data = self._data.reshape(tuple(self.shape[:sd]) + (rest,))
    where = xp.nonzero(xp.any(data != 0, axis=-1))
    idx = xp.stack(where).astype(xp.int64) if where else xp.zeros((sd, 0), xp.int64)
    vals = getitem(self, tuple(Tensor(w) for w in where))
    return SparseTensor(idx.reshape(sd, -1), vals, self.shape, coalesced=True)


def _check_dense(who, name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: {name} must be a dense Tensor, got {_describe(x)}")


def mm(sparse, dense) -> Tensor:
    """``sparse @ dense``: a (n, m) sparse matrix times a dense (m, k) one (or vector), dense.

    Each entry (i, j, v) adds ``v * dense[j]`` to row i of the result. Gradients reach
    ``dense`` and the sparse tensor's values (PyTorch's ``torch.sparse.mm``).
    """
    who = "sparse.mm"
    if isinstance(dense, (SparseTensor, SparseCompressedTensor)) and isinstance(sparse, Tensor):
        return dense_mm(sparse, dense, who=who)  # dense @ sparse
    if isinstance(sparse, SparseCompressedTensor):  # CSR/CSC: through the COO form
        sparse = sparse.to_sparse()
    if not isinstance(sparse, SparseTensor):
        raise TypeError(f"{who}: mat1 must be a sparse COO tensor, got {_describe(sparse)}")
    if isinstance(dense, SparseTensor):
        from .elementwise import sparse_sparse_mm
        return sparse_sparse_mm(sparse, dense)
    _check_dense(who, "mat2", dense)
    if sparse.sparse_dim() != 2 or sparse.dense_dim() != 0:
        raise ValueError(f"{who}: mat1 must be a 2-D sparse matrix, got shape {sparse.shape} "
                         f"with sparse_dim {sparse.sparse_dim()}")
    if dense.ndim not in (1, 2) or dense.shape[0] != sparse.shape[1]:
        raise ValueError(f"{who}: mat1 of shape {sparse.shape} and mat2 of shape "
                         f"{tuple(dense.shape)} cannot be multiplied (mat2 must be "
                         f"({sparse.shape[1]}, k) or ({sparse.shape[1]},))")
    if dense.dtype != sparse.dtype:
        raise TypeError(f"{who}: mat1 has dtype {sparse.dtype} but mat2 has dtype {dense.dtype} "
                        "(convert one, e.g. .double())")
    rows, cols = (Tensor(i) for i in sparse._idx)
    picked = getitem(dense, cols)  # dense[j] for each entry
    weights = sparse._vals if dense.ndim == 1 else unsqueeze(sparse._vals, 1)
    zeros = dense.new_zeros((sparse.shape[0],) + tuple(dense.shape[1:]))
    return index_add(zeros, 0, rows, weights * picked)


def dense_mm(dense, sparse, *, who="matmul") -> Tensor:
    """``dense @ sparse`` (PyTorch's ``sparse.mm(dense, sparse)``, ``mm``, ``matmul``, ``@``):
    ``(sparse.t() @ dense.t()).t()``, dense, with gradients to both operands (a sparse leaf's on
    its pattern). ``matmul``/``@`` also take a vector or a batch of matrices, as PyTorch's."""
    if isinstance(sparse, SparseCompressedTensor):
        sparse = sparse.to_sparse()
    _check_dense(who, "mat1", dense)
    if sparse.sparse_dim() != 2 or sparse.dense_dim() != 0:
        raise ValueError(f"{who}: mat2 must be a 2-D sparse matrix, got shape {sparse.shape} "
                         f"with sparse_dim {sparse.sparse_dim()}")
    m = sparse.shape[0]
    if (dense.ndim < 1 if who == "matmul" else dense.ndim != 2) or dense.shape[-1] != m:
        want = f"(..., {m})" if who == "matmul" else f"(n, {m})"
        raise ValueError(f"{who}: mat1 of shape {tuple(dense.shape)} and mat2 of shape "
                         f"{sparse.shape} cannot be multiplied (mat1 must be {want})")
    if dense.dtype != sparse.dtype:
        raise TypeError(f"{who}: mat1 has dtype {dense.dtype} but mat2 has dtype {sparse.dtype} "
                        "(convert one, e.g. .double())")
    rows = dense.reshape(-1, m)
    out = mm(sparse.t(), rows.t()).t()
    return out.reshape(*dense.shape[:-1], sparse.shape[1])


def spmm(sparse, dense) -> Tensor:
    """PyTorch's ``torch.spmm``: ``sparse.mm``."""
    return mm(sparse, dense)


def add(a, b):
    """``a + b`` with a sparse tensor: sparse for two sparse tensors of one shape, dense with a
    dense one. Two sparse tensors combine as PyTorch's sparse add does: their entry lists are
    walked as a merge of sorted lists would walk them, and two entries at the same position
    that meet in the walk become one (their sum); the rest keep the walk's order."""
    if isinstance(b, Tensor) and not isinstance(a, Tensor):
        a, b = b, a
    if isinstance(a, Tensor):  # dense + sparse is dense
        if a.shape != b.shape:
            raise ValueError(f"add: shapes {tuple(a.shape)} and {b.shape} differ")
        return a + b.to_dense()
    if isinstance(b, numbers.Number) and b == 0:  # sum(list of sparse tensors) starts at 0
        return a
    a, b = _same_layout(a, b)
    xp = get_array_module(a._idx)
    fa, fb = a._flat_positions().tolist(), b._flat_positions().tolist()
    slot_a, slot_b, positions = [], [], []
    i = j = 0
    while i < len(fa) or j < len(fb):
        take_a = j >= len(fb) or (i < len(fa) and fa[i] <= fb[j])
        take_b = i >= len(fa) or (j < len(fb) and fb[j] <= fa[i])
        positions.append(fa[i] if take_a else fb[j])
        if take_a:
            slot_a.append(len(positions) - 1)
            i += 1
        if take_b:
            slot_b.append(len(positions) - 1)
            j += 1
    slots = Tensor(xp.asarray(slot_a + slot_b, dtype=xp.int64))
    zeros = a._vals.new_zeros((len(positions), *a.shape[a.sparse_dim():]))
    vals = index_add(zeros, 0, slots, concatenate([a._vals, b._vals], 0))
    sparse_shape = a.shape[:a.sparse_dim()]
    idx = xp.stack(xp.unravel_index(xp.asarray(positions, dtype=xp.int64), sparse_shape))
    # two coalesced lists merge into one (sorted, unique): coalesced, as PyTorch flags it, so
    # that .indices() and .values() of a sum work (were refused)
    return SparseTensor(idx.astype(xp.int64).reshape(len(sparse_shape), -1), vals, a.shape,
                        coalesced=a.is_coalesced() and b.is_coalesced())


def _same_layout(a, b):
    """``a`` and ``b`` checked (sparse tensors of one shape and sparse_dim), in the dtype they
    promote to (int64 and float64 values: float64, as PyTorch's; was ``a``'s dtype)."""
    if not isinstance(b, SparseTensor):
        raise TypeError(f"add: a sparse tensor adds to a sparse or dense tensor of its shape, "
                        f"got {_describe(b)}")
    if a.shape != b.shape or a.sparse_dim() != b.sparse_dim():
        raise ValueError(f"add: sparse tensors of shapes {a.shape} (sparse_dim "
                         f"{a.sparse_dim()}) and {b.shape} (sparse_dim {b.sparse_dim()}) differ")
    dtype = result_type(a._vals, b._vals)
    return tuple(x if x.dtype == dtype else x.to(dtype) for x in (a, b))


def sum(input, dim=None, dtype=None):  # noqa: A001,A002 - PyTorch's names
    """PyTorch's ``torch.sparse.sum``: over every axis, a dense 0-d Tensor; over some sparse
    axes, a coalesced SparseTensor of the remaining ones (hybrid axes become dense)."""
    if not isinstance(input, SparseTensor):
        raise TypeError(f"sparse.sum: input must be a sparse COO tensor, got {_describe(input)}")
    if input._vals._data.dtype.kind == "b":  # two Trues at one position are one True: 1, as
        input = input.coalesce()  # noqa: A001 - to_dense and PyTorch count them, not 2
    vals = input._vals if dtype is None else input._vals.to(dtype)
    if dim is None:
        return _dense_sum(vals)
    dims = normalize_axis("sparse.sum", dim, input.ndim)  # out of range or repeated: refused
    sd = input.sparse_dim()
    dense_axes = [d - sd + 1 for d in dims if d >= sd]
    if dense_axes:
        vals = _dense_sum(vals, dim=tuple(dense_axes))
    keep = [d for d in range(sd) if d not in dims]
    if not keep:
        return _dense_sum(vals, dim=0)
    out_shape = tuple(s for d, s in enumerate(input.shape) if d not in dims)
    return SparseTensor(input._idx[keep], vals, out_shape).coalesce()


def sum_keepdim(input, dim, dtype=None):  # noqa: A002 - PyTorch's names
    """``s.sum(dim, keepdim=True)``: the sum with each summed axis put back with size 1, as
    PyTorch's (a sparse result gets an index row of zeros there, flagged coalesced only with
    one entry or none; was a TypeError for keepdim)."""
    if dim is None:
        raise TypeError("SparseTensor.sum: keepdim=True needs dim (as PyTorch's)")
    out = sum(input, dim, dtype)
    xp = get_array_module(input._idx)
    for d in sorted(normalize_axis("sparse.sum", dim, input.ndim)):
        if isinstance(out, Tensor):
            out = unsqueeze(out, d)
            continue
        shape = out.shape[:d] + (1,) + out.shape[d:]
        if d <= out.sparse_dim():
            idx = xp.insert(out._idx, d, 0, axis=0)
            out = SparseTensor(idx, out._vals, shape, coalesced=out._nnz() <= 1)
        else:
            out = SparseTensor(out._idx, unsqueeze(out._vals, d - out.sparse_dim() + 1), shape,
                               coalesced=out._nnz() <= 1)
    return out


def softmax(input, dim: int, dtype=None) -> SparseTensor:  # noqa: A002 - PyTorch's name
    """PyTorch's ``torch.sparse.softmax``: the softmax along ``dim`` over the stored entries
    only (a missing entry counts as minus infinity, so it stays missing); along a dense axis of
    a hybrid tensor, each entry's values' softmax."""
    s, shifted, total = _exp_sums("sparse.softmax", input, dim, dtype)
    vals = _dense_softmax(s._vals, total) if shifted is None else shifted.exp() / total
    return SparseTensor(s._idx, vals, s.shape, coalesced=True)


def log_softmax(input, dim: int, dtype=None) -> SparseTensor:  # noqa: A002 - PyTorch's name
    """PyTorch's ``torch.sparse.log_softmax``: ``log(softmax)`` over the stored entries, as
    ``x - max - log(sum(exp(x - max)))`` per group."""
    s, shifted, total = _exp_sums("sparse.log_softmax", input, dim, dtype)
    vals = _dense_log_softmax(s._vals, total) if shifted is None else shifted - total.log()
    return SparseTensor(s._idx, vals, s.shape, coalesced=True)


def _exp_sums(who, input, dim, dtype):  # noqa: A002
    """The coalesced input, its values less their group's maximum (a constant shift, which a
    softmax does not see), and each entry's group sum of their exponentials. A group is the
    entries that share their positions along the sparse axes other than ``dim`` (a hybrid
    tensor's dense positions each apart). Along a dense axis: (s, None, that axis of values)."""
    if not isinstance(input, SparseTensor):
        raise TypeError(f"{who}: input must be a sparse COO tensor, got {_describe(input)}")
    s = input.coalesce()
    if dtype is not None:
        s = s.to(dtype)
    if s._vals.dtype.kind not in "fc":  # was: index_add's or NumPy's error from deep inside
        raise TypeError(f"{who}: the values must be floating point, got dtype {s.dtype} (as "
                        "PyTorch's: pass dtype=, e.g. chainrule.float32)")
    d = _one_axis(who, dim, s.ndim)  # out of range: refused (was taken modulo ndim)
    if d >= s.sparse_dim():  # was refused for every hybrid tensor
        return s, None, d - s.sparse_dim() + 1
    xp = get_array_module(s._idx)
    others = [k for k in range(s.sparse_dim()) if k != d]
    if others:
        _, group = xp.unique(xp.ravel_multi_index(tuple(s._idx[others]),
                                                  tuple(s.shape[k] for k in others)),
                             return_inverse=True)
        group = group.reshape(-1)
    else:
        group = xp.zeros(s._nnz(), xp.int64)
    n = int(group.max()) + 1 if group.size else 0
    peak = xp.full((n, *s._vals.shape[1:]), -xp.inf, dtype=s._vals._data.dtype)
    xp.maximum.at(peak, group, s._vals._data)
    g = Tensor(group.astype(xp.int64))
    shifted = s._vals - Tensor(peak[group])
    total = index_add(shifted.new_zeros(peak.shape), 0, g, shifted.exp())
    return s, shifted, getitem(total, g)


def addmm(input, mat1, mat2, *, beta=1.0, alpha=1.0) -> Tensor:  # noqa: A002 - PyTorch's names
    """PyTorch's ``torch.sparse.addmm``: ``beta * input + alpha * (mat1 @ mat2)`` with a sparse
    ``mat1`` (dense result); ``input`` broadcasts to the product's shape, and with ``beta=0`` it
    is not read (its nan and inf do not spread), as ``addmm``'s (was: nan * 0 spread)."""
    _check_dense("sparse.addmm", "input", input)
    out = _scaled_sum("sparse.addmm", input, mm(mat1, mat2), beta, alpha)
    if beta == 0 and input.requires_grad:  # PyTorch's gradient of input there: zeros, not None
        out = out + where(input.new_zeros(tuple(input.shape), dtype="bool"), input, 0)
    return out
