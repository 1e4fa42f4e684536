"""Products, PyTorch's names: addmm, addmv, addr, addbmm, baddbmm, vdot, chain_matmul, kron,
cross, block_diag, cartesian_prod, combinations (linalg's multi_dot and cross are in
linalg_norms.py; chain_matmul and cross call them).

All are compositions of recorded ops (matmul, broadcasting multiplies, slices, pads, gathers), so
their gradients, of any order, come from those ops and no backward is written here:

    addmm(input, A, B) = beta input + alpha A @ B      (beta = 0 ignores input, nan included)
    kron(a, b)[i*m + k, j*n + l] = a[i, j] b[k, l]     (a broadcasting product, reshaped)
"""

from __future__ import annotations

import itertools
import warnings

from ..autograd.promotion import result_type
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..backend.defaults import get_default_dtype
from ._conj import cj
from ._layout import strided
from ._same_dtype import same_dtype
from .elementwise import _check_broadcast
from .join import concat, pad, stack
from .linalg import matmul
from .linalg_norms import cross as _linalg_cross
from .linalg_norms import multi_dot
from .reduce import sum as _sum
from .shape import getitem, reshape

__all__ = ["addbmm", "addmm", "addmv", "addr", "baddbmm", "block_diag", "cartesian_prod",
           "chain_matmul", "combinations", "cross", "kron", "vdot"]


def _tensor(op, name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def _ndim(op, name, x, ndim):
    _tensor(op, name, x)
    if x.ndim != ndim:
        raise ValueError(f"{op}: {name} must be {ndim}-D, got shape {tuple(x.shape)}")
    return x


def _scaled_sum(op, input, product, beta, alpha):  # noqa: A002
    """beta input + alpha product; input must broadcast to the product's shape."""
    _tensor(op, "input", input)
    if input.ndim > product.ndim or any(
            m not in (1, n) for m, n in zip(reversed(input.shape), reversed(product.shape))):
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} cannot be broadcast to the "
                         f"product's shape {tuple(product.shape)}")
    # PyTorch's dtype: input's and the product's (the scalars do not promote), in which both are
    # scaled; for integer (and bool) tensors it truncates float scalars toward 0 (addr refuses)
    dtype = result_type(input, product)
    integral = dtype.kind in "biu"
    if integral:
        beta, alpha = (int(v) if isinstance(v, float) else v for v in (beta, alpha))
    product = product if product.dtype == dtype else product.astype(dtype)
    out = product if alpha == 1 else product * alpha
    if beta != 0:  # PyTorch's rule: for beta=0 input is not read (its nan and inf do not spread)
        input = input if input.dtype == dtype else input.astype(dtype)  # noqa: A001
        out = out + (input if beta == 1 else input * beta)
    return out.astype(dtype) if integral and out.dtype != dtype else out


def addmm(input, mat1, mat2, *, beta=1, alpha=1):  # noqa: A002 - PyTorch's names
    """beta * input + alpha * (mat1 @ mat2), mat1 (n, m) and mat2 (m, p); a sparse ``mat1``
    (chainrule.sparse) multiplies by its own ``mm``, as PyTorch's addmm of a sparse matrix."""
    if type(mat1) is not Tensor and getattr(mat1, "layout", strided) is not strided:  # COO, CSR
        return _scaled_sum("addmm", input, mat1.mm(mat2), beta, alpha)
    _ndim("addmm", "mat1", mat1, 2)
    _ndim("addmm", "mat2", mat2, 2)
    if mat1.shape[1] != mat2.shape[0]:
        raise ValueError(f"addmm: mat1 and mat2 shapes cannot be multiplied "
                         f"({tuple(mat1.shape)} and {tuple(mat2.shape)})")
    return _scaled_sum("addmm", input, matmul(mat1, mat2), beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * (mat @ vec), mat (n, m) and vec (m,)."""
    _ndim("addmv", "mat", mat, 2)
    _ndim("addmv", "vec", vec, 1)
    if mat.shape[1] != vec.shape[0]:
        raise ValueError(f"addmv: mat of shape {tuple(mat.shape)} and vec of shape "
                         f"{tuple(vec.shape)} cannot be multiplied")
    return _scaled_sum("addmv", input, matmul(mat, vec), beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * outer(vec1, vec2)."""
    _ndim("addr", "vec1", vec1, 1)
    _ndim("addr", "vec2", vec2, 1)
    dtype = result_type(input, vec1, vec2)  # (the outer product in it: uint8 vectors, int64 input)
    vec1, vec2 = (v if v.dtype == dtype else v.astype(dtype) for v in (vec1, vec2))
    outer = reshape(vec1, -1, 1) * reshape(vec2, 1, -1)
    for name, value in (("beta", beta), ("alpha", alpha)):  # PyTorch's addr checks these
        if dtype.kind in "biu" and isinstance(value, float):
            raise TypeError(f"addr: for integer (or bool) tensors, {name} must not be a floating "
                            f"point number, got {name}={value!r}")
        if isinstance(value, bool) and dtype.kind != "b":
            raise TypeError(f"addr: a bool {name} goes only with bool tensors, got "
                            f"{name}={value!r} for {dtype} ones")
    return _scaled_sum("addr", input, outer, beta, alpha)


def _batches(op, batch1, batch2):
    _ndim(op, "batch1", batch1, 3)
    _ndim(op, "batch2", batch2, 3)
    if batch1.shape[0] != batch2.shape[0] or batch1.shape[2] != batch2.shape[1]:
        raise ValueError(f"{op}: batch1 of shape {tuple(batch1.shape)} and batch2 of shape "
                         f"{tuple(batch2.shape)} cannot be multiplied batch by batch")
    return matmul(batch1, batch2)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * (batch1 @ batch2), one product per batch entry."""
    return _scaled_sum("baddbmm", input, _batches("baddbmm", batch1, batch2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * sum_b (batch1[b] @ batch2[b])."""
    products = _batches("addbmm", batch1, batch2)
    total = _sum(products, 0)  # (a sum of small integers is int64: back to theirs, PyTorch's)
    total = total if total.dtype == products.dtype else total.astype(products.dtype)
    return _scaled_sum("addbmm", input, total, beta, alpha)


def vdot(input, other):  # noqa: A002
    """sum(conj(input) * other) of two 1-D tensors of the same length (the first is conjugated,
    as PyTorch's; ``dot`` conjugates neither)."""
    _ndim("vdot", "input", input, 1)
    _ndim("vdot", "other", other, 1)
    same_dtype("vdot", input, other)
    if input.shape != other.shape:
        raise ValueError(f"vdot: input and other must have the same length, got shapes "
                         f"{tuple(input.shape)} and {tuple(other.shape)}")
    products = cj(input) * other
    total = _sum(products)  # (a sum of integers is int64: back to theirs, wrapping as PyTorch's)
    return total.astype(products.dtype) if total.dtype != products.dtype else total


def chain_matmul(*matrices):
    """The product of 2-D matrices, left to right (PyTorch's deprecated name of multi_dot)."""
    for i, m in enumerate(matrices):
        _ndim("chain_matmul", f"matrices[{i}]", m, 2)
    if not matrices:
        raise ValueError("chain_matmul: expected at least one matrix, got none")
    return matrices[0] * 1 if len(matrices) == 1 else multi_dot(matrices)


def kron(input, other):  # noqa: A002
    """The Kronecker product: each entry of ``input`` times all of ``other``, tiled blockwise.

    >>> import chainrule as cr
    >>> cr.kron(cr.tensor([1, 2]), cr.tensor([1, 10])).tolist()
    [1, 10, 2, 20]
    """
    a, b = _tensor("kron", "input", input), _tensor("kron", "other", other)
    n = max(a.ndim, b.ndim)
    sa, sb = (1,) * (n - a.ndim) + tuple(a.shape), (1,) * (n - b.ndim) + tuple(b.shape)
    a2 = reshape(a, [d for s in sa for d in (s, 1)])  # a[i, _, j, _] * b[_, k, _, l]
    b2 = reshape(b, [d for s in sb for d in (1, s)])
    return reshape(a2 * b2, [p * q for p, q in zip(sa, sb)])


def cross(input, other, dim=None):  # noqa: A002
    """The cross product of 3-vectors along ``dim`` (with broadcasting). Without ``dim``, PyTorch's
    deprecated default: the first dimension of size 3, with PyTorch's warning."""
    a, b = _tensor("cross", "input", input), _tensor("cross", "other", other)
    _check_broadcast("cross", a, b)
    if dim is None:
        shape = get_array_module(a._data).broadcast_shapes(a.shape, b.shape)
        sizes = [i for i, s in enumerate(shape) if s == 3]
        if not sizes:
            raise ValueError(f"cross: no dimension of size 3 in shapes {tuple(a.shape)} and "
                             f"{tuple(b.shape)}")
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated; pass dim "
                      "or use linalg.cross", UserWarning, stacklevel=2)
        dim = sizes[0]
    return _linalg_cross(a, b, dim=dim)


def block_diag(*tensors):
    """The tensors (0-D, 1-D as a row, or 2-D) placed along the diagonal of a zero matrix."""
    mats = []
    for i, t in enumerate(tensors):
        _tensor("block_diag", f"tensors[{i}]", t)
        if t.ndim > 2:
            raise ValueError(f"block_diag: tensors[{i}] must have 2 or fewer dimensions, got "
                             f"shape {tuple(t.shape)}")
        mats.append(reshape(t, 1, 1) if t.ndim == 0 else reshape(t, 1, -1) if t.ndim == 1 else t)
    if not mats:
        return Tensor(get_array_module().zeros((1, 0), get_default_dtype()))
    dtype = result_type(*tensors)  # PyTorch's (a 0-D tensor only lifts the kind), not NumPy's
    cols = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        m = m.astype(dtype) if m.dtype != dtype else m
        rows.append(pad(m, ((0, 0), (left, cols - left - m.shape[1]))))
        left += m.shape[1]
    return concat(rows, 0)


def cartesian_prod(*tensors):
    """Every combination of one entry from each 1-D tensor, as rows (one tensor: itself)."""
    for i, t in enumerate(tensors):
        _ndim("cartesian_prod", f"tensors[{i}]", t, 1)
    if not tensors:
        raise ValueError("cartesian_prod: expected at least one tensor, got none")
    if len(tensors) == 1:
        return tensors[0]
    if len({t.dtype for t in tensors}) > 1:  # PyTorch's (its meshgrid's) rule: no promotion
        raise TypeError(f"cartesian_prod: expects tensors of one dtype, got "
                        f"{[str(t.dtype) for t in tensors]}")
    xp = get_array_module(*[t._data for t in tensors])
    grids = xp.meshgrid(*[xp.arange(t.shape[0]) for t in tensors], indexing="ij")
    return stack([getitem(t, g.reshape(-1)) for t, g in zip(tensors, grids)], 1)


def combinations(input, r=2, with_replacement=False):  # noqa: A002
    """The length-r combinations of a 1-D tensor's entries, as rows (itertools' order)."""
    _ndim("combinations", "input", input, 1)
    if isinstance(r, bool) or not isinstance(r, int) or r < 0:
        raise ValueError(f"combinations: r must be a non-negative int, got {r!r}")
    xp = get_array_module(input._data)
    if r == 0:
        return Tensor(xp.zeros((0,), input.dtype))
    pick = itertools.combinations_with_replacement if with_replacement else (
        itertools.combinations)
    rows = list(pick(range(input.shape[0]), r))
    index = xp.asarray(rows, dtype="int64").reshape(len(rows), r)
    return getitem(input, index)


_METHODS = {"addmm": addmm, "addmv": addmv, "addr": addr, "addbmm": addbmm, "baddbmm": baddbmm,
            "vdot": vdot, "kron": kron, "cross": cross}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
