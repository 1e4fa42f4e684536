"""``torch.linalg``'s norms, condition numbers, products of vectors and chains of matrices, and
the tensor inverse and solve: all compositions of recorded ops (their gradients, of every order,
come from those).

Matrix norms: 'fro' sqrt(sum a_ij^2); 'nuc' the sum of singular values; 2 / -2 the largest /
smallest singular value; 1 / -1 the largest / smallest column sum of |a_ij|; inf / -inf the
same over rows.
"""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor
from ._conj import cj
from ._same_dtype import same_dtype
from .decomp import inv, solve
from .elementwise import abs as _abs
from .elementwise import fill_where
from .join import stack
from .linalg import matmul
from .linalg_solve import inv_ex
from .rearrange import movedim
from .reduce import max as _max
from .reduce import min as _min
from .reduce import sum as _sum
from .shape import getitem, normalize_axis, unsqueeze
from .stats import _floating, norm_dtype
from .stats import norm as _vector_norm
from .svd import _matrices, svdvals

__all__ = ["cond", "cross", "matrix_norm", "multi_dot", "norm", "tensorinv", "tensorsolve",
           "vecdot"]

_INF = float("inf")
_MATRIX_ORDS = ("fro", "nuc", 2, -2, 1, -1, _INF, -_INF)


def matrix_norm(input, ord="fro", dim=(-2, -1), keepdim: bool = False, *,  # noqa: A002
                dtype=None):
    """The matrix ``ord``-norm of the matrices over the two axes ``dim`` (see the module's
    docstring for the orders)."""
    return _matrix_norm("matrix_norm", input, ord, dim, keepdim, dtype)


def _matrix_norm(op, a, ord, dim, keepdim, dtype):  # noqa: A002
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(a).__name__}")
    _floating(op, a)
    if isinstance(ord, bool) or ord not in _MATRIX_ORDS:
        raise ValueError(f"{op}: ord must be one of 'fro', 'nuc', 2, -2, 1, -1, inf, -inf for "
                         f"matrices, got {ord!r}")
    if dim is None or isinstance(dim, int) or len(dim) != 2:
        raise ValueError(f"{op}: dim must be a pair of axes for a matrix norm, got {dim!r}")
    normalize_axis(op, tuple(dim), a.ndim)  # checks the range and that the two differ
    axes = tuple(d % a.ndim for d in dim)  # in order: rows, then columns
    a = norm_dtype(op, a, dtype)
    if ord == "fro":
        return _vector_norm(a, "fro", axes, keepdim)
    a = movedim(a, axes, (-2, -1))
    rows, cols = a.shape[-2:]
    picked = min(rows, cols) if ord in (2, -2) else cols if ord in (1, -1) else rows
    if ord not in ("nuc", "fro") and picked == 0:
        # PyTorch's: a largest singular value / sum among none is 0, a smallest undefined
        if ord < 0:
            raise ValueError(f"{op}: the {ord} norm of a matrix of shape {(rows, cols)} is "
                             "undefined (a smallest value among none)")
        out = _sum(_abs(a), axis=(-2, -1))
    elif ord == "nuc":
        out = _sum(svdvals(a), axis=-1)
    elif ord in (2, -2):  # (a max/min: tied singular values share the gradient, PyTorch's)
        out = (_max if ord > 0 else _min)(svdvals(a), axis=-1)
    else:
        sums = _sum(_abs(a), axis=-2 if ord in (1, -1) else -1)
        out = (_max if ord > 0 else _min)(sums, axis=-1)
    if keepdim:
        for axis in sorted(axes):
            out = unsqueeze(out, axis)
    return out


def norm(input, ord=None, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A002
    """PyTorch's ``linalg.norm``: a vector norm over one ``dim`` (or of a 1-D ``input``), a matrix
    norm over two (or of a 2-D ``input`` given an ``ord``); with neither ``ord`` nor ``dim``, the
    2-norm of all entries."""
    if not isinstance(input, Tensor):
        raise TypeError(f"norm: expected a Tensor, got {type(input).__name__}")
    if dim is None and ord is None:
        return _vector_norm(input, "fro", None, keepdim, dtype=dtype)
    if dim is None:
        if input.ndim not in (1, 2):
            raise ValueError(f"norm: with ord={ord!r} and no dim, x must be 1-D or 2-D, got "
                             f"shape {input.shape}")
        dim = (-2, -1) if input.ndim == 2 else -1
    if isinstance(dim, numbers.Integral):  # a NumPy integer too, as PyTorch takes it
        dim = int(dim)
    if isinstance(dim, int) or len(dim) == 1:
        if isinstance(ord, str):
            raise ValueError(f"norm: ord={ord!r} is a matrix norm; dim={dim!r} names one axis")
        return _vector_norm(input, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    return _matrix_norm("norm", input, "fro" if ord is None else ord, dim, keepdim, dtype)


def cond(input, p=None):  # noqa: A002 - PyTorch's name
    """The condition number of each matrix: s_max / s_min for p None or 2 (s_min / s_max for
    -2), else ||A||_p ||A^-1||_p of square matrices (p: 'fro', 'nuc', inf, -inf, 1, -1)."""
    _matrices("cond", input, complex_ok=True)
    square = input.shape[-1] == input.shape[-2]
    if input.shape[-1] * input.shape[-2] == 0 and (square or not isinstance(p, str)):
        return _sum(_abs(input), axis=(-2, -1))  # PyTorch's: 0 (a non-square one too)
    if p is None or (p in (2, -2) and not isinstance(p, bool)):
        s = svdvals(input)
        big, small = s[..., 0], s[..., -1]
        return small / big if p == -2 else big / small
    if not square:
        raise ValueError(f"cond: p={p!r} needs square matrices (*, n, n), got shape "
                         f"{input.shape}")
    if p == "nuc":  # PyTorch's: sum(s) sum(1 / s), from the singular values, not an inverse
        s = svdvals(input)
        zero = s._data == 0  # (1 / 0 is inf, and 0 inf NaN for a zero matrix, warned of none)
        recip = _sum(fill_where(zero, _INF, 1 / fill_where(zero, 1, s)), axis=-1)
        total = _sum(s, axis=-1)
        empty = total._data == 0
        return fill_where(empty, float("nan"), total * fill_where(empty, 1, recip))
    inverse, info = inv_ex(input)  # PyTorch's: a singular matrix's condition number is inf
    failed = info._data != 0
    if failed.any():  # (the NaN inverses zeroed first: an SVD of NaN would not converge)
        inverse = fill_where(failed[..., None, None] | (inverse._data != inverse._data), 0,
                             inverse)
    out = _matrix_norm("cond", input, p, (-2, -1), False, None) * \
        _matrix_norm("cond", inverse, p, (-2, -1), False, None)
    return fill_where(failed, _INF, out) if failed.any() else out


def vecdot(x, y, *, dim: int = -1):
    """The dot products of the vectors of ``x`` and ``y`` along ``dim`` (broadcast); x is
    conjugated (sum conj(x) y), as PyTorch's, which changes nothing for real x."""
    _floating("vecdot", x)
    _floating("vecdot", y)
    same_dtype("linalg.vecdot", x, y, ("x", "y"))
    return _sum(cj(x) * y, axis=dim)


def cross(input, other, *, dim: int = -1):  # noqa: A002 - PyTorch's name
    """The cross products of the 3-vectors of ``input`` and ``other`` along ``dim``
    (broadcast over the other axes)."""
    for name, v in (("input", input), ("other", other)):
        if not isinstance(v, Tensor):
            raise TypeError(f"cross: {name} must be a Tensor, got {type(v).__name__}")
    same_dtype("cross", input, other)
    if input._data.dtype.kind == "b":  # (NumPy would fail on the subtraction of bools)
        raise TypeError("cross: bool tensors are not supported (as in PyTorch); convert them to "
                        "an integer or floating-point dtype first")
    if input.ndim != other.ndim:
        raise ValueError(f"cross: input and other must have the same number of dimensions, got "
                         f"shapes {input.shape} and {other.shape}")
    axis = normalize_axis("cross", dim, input.ndim)[0]
    if input.shape[axis] != 3 or other.shape[axis] != 3:
        raise ValueError(f"cross: dim={dim} must have size 3 in both, got shapes {input.shape} "
                         f"and {other.shape}")
    lead = (slice(None),) * axis

    def part(v, i):
        return getitem(v, lead + (i % 3,))
    return stack([part(input, i + 1) * part(other, i + 2) - part(input, i + 2) * part(other, i + 1)
                  for i in range(3)], axis)


def multi_dot(tensors):
    """The product of a chain of matrices, multiplied in the order that costs the fewest scalar
    products; the first may be a 1-D row vector and the last a 1-D column vector."""
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"multi_dot: expected a list of Tensors, got {type(tensors).__name__}")
    if len(tensors) < 2:
        raise ValueError(f"multi_dot: expected at least two Tensors, got {len(tensors)}")
    mats = list(tensors)
    for i, t in enumerate(mats):
        if not isinstance(t, Tensor):
            raise TypeError(f"multi_dot: tensors[{i}] is a {type(t).__name__}, not a Tensor")
        if t.ndim != 2 and not (t.ndim == 1 and i in (0, len(mats) - 1)):
            raise ValueError(f"multi_dot: tensors[{i}] must be 2-D (1-D only first or last), "
                             f"got shape {t.shape}")
    first_vec, last_vec = mats[0].ndim == 1, mats[-1].ndim == 1
    if first_vec:
        mats[0] = mats[0].reshape(1, -1)
    if last_vec:
        mats[-1] = mats[-1].reshape(-1, 1)
    for i in range(len(mats) - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise ValueError(f"multi_dot: tensors[{i}] of shape {tensors[i].shape} and "
                             f"tensors[{i + 1}] of shape {tensors[i + 1].shape} cannot be "
                             "multiplied")
    dims = [m.shape[0] for m in mats] + [mats[-1].shape[1]]
    out = _chain(mats, _split_points(dims), 0, len(mats) - 1)
    if first_vec:
        out = out.reshape(out.shape[1:])
    if last_vec:
        out = out.reshape(out.shape[:-1])
    return out


def _split_points(dims):
    """The classic dynamic programme: split[i][j] is where the cheapest product of matrices i..j
    divides."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j], split[i][j] = min(
                (cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1], k)
                for k in range(i, j))
    return split


def _chain(mats, split, i, j):
    if i == j:
        return mats[i]
    k = split[i][j]
    return matmul(_chain(mats, split, i, k), _chain(mats, split, k + 1, j))


def _size(shape):
    total = 1
    for d in shape:
        total *= d
    return total


def tensorinv(input, ind: int = 2):  # noqa: A002 - PyTorch's name
    """X, of shape input.shape[ind:] + input.shape[:ind], with tensordot(input, X, ind) the
    identity: the inverse of ``input`` seen as a (prod(shape[:ind]), prod(shape[ind:])) matrix,
    which must be square."""
    if not isinstance(input, Tensor):
        raise TypeError(f"tensorinv: expected a Tensor, got {type(input).__name__}")
    if isinstance(ind, bool) or not isinstance(ind, numbers.Integral) or not 0 < ind < input.ndim:
        raise ValueError(f"tensorinv: ind must be an int from 1 to {input.ndim - 1}, got {ind!r}")
    ind = int(ind)
    rows, cols = _size(input.shape[:ind]), _size(input.shape[ind:])
    if rows != cols:
        raise ValueError(f"tensorinv: the first {ind} dimensions of shape {input.shape} hold "
                         f"{rows} entries and the rest {cols}; they must be equal")
    return inv(input.reshape(rows, cols)).reshape(input.shape[ind:] + input.shape[:ind])


def tensorsolve(input, other, dims=None):  # noqa: A002 - PyTorch's names
    """X, of shape input.shape[other.ndim:], with tensordot(input, X, X.ndim) = ``other``; the
    axes ``dims`` of ``input`` are first moved to its end."""
    for name, v in (("input", input), ("other", other)):
        if not isinstance(v, Tensor):
            raise TypeError(f"tensorsolve: {name} must be a Tensor, got {type(v).__name__}")
    if dims is not None:
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        input = movedim(input, dims, tuple(range(-len(dims), 0)))  # noqa: A001
    k = other.ndim
    size = _size(other.shape)
    if input.shape[:k] != other.shape or _size(input.shape[k:]) != size:
        raise ValueError(f"tensorsolve: input of shape {input.shape} must start with other's "
                         f"shape {other.shape} and its other dimensions hold as many entries")
    x = solve(input.reshape(size, size), other.reshape(size))
    return x.reshape(input.shape[k:])
