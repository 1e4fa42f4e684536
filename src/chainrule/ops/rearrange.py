"""Running sums and rearrangements, PyTorch's names: cumsum, flip, roll, diff, unbind, movedim,
swapaxes, unflatten, the stacks, meshgrid, take and take_along_dim.

Each new primitive's gradient is another of them: flipping is its own adjoint, a roll's is the
roll back, and a running sum's is the running sum taken from the other end (flip, cumsum, flip).
The rest are compositions of differentiable ops (slices, permutes, reshapes, concats, gathers).
"""

from __future__ import annotations

import math

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module, quiet
from ._args import dim_or_axis
from ._real_only import refuse_bool
from ._zero_d import on_one_axis, scalar_dim
from .indexing import gather
from .join import concat, split
from .methods import clone
from .shape import (
    _int_tuple,
    _one_axis,
    broadcast_to,
    getitem,
    normalize_axis,
    permute,
    reshape,
    squeeze,
    transpose,
)

__all__ = [
    "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_shapes", "broadcast_tensors",
    "column_stack", "cumsum", "diff", "dstack", "flip", "hstack", "meshgrid", "movedim", "ravel",
    "roll", "swapaxes", "take", "take_along_dim", "unbind", "unflatten", "vstack",
]


class Flip(Function):
    complex_grad = True

    def forward(self, x):
        # A copy, as PyTorch's (NumPy's flip is a view: writing it would write x).
        return get_array_module(x).flip(x, axis=self.axes).copy()

    def backward(self, g):
        return Flip.apply(g, axes=self.axes)


class Roll(Function):
    complex_grad = True

    def forward(self, x):
        return get_array_module(x).roll(x, self.shifts, axis=self.axes)

    def backward(self, g):
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return Roll.apply(g, shifts=back, axes=self.axes)


# the dtype PyTorch's CPU scans (cumsum, cumprod, logcumsumexp) accumulate a dtype's running
# value in: float16's in float32, float32's in float64 (NumPy's would round every step, and a
# float32 running sum of 1e5 entries drifted by 1e-4 relative)
WIDER = {"float16": "float32", "float32": "float64", "complex64": "complex128"}


class CumSum(Function):
    """y_i = x_0 + ... + x_i along ``axis``; dL/dx_j = g_j + ... + g_n, the sum from the end."""

    complex_grad = True

    def forward(self, x):
        keep = x.dtype if x.dtype.kind in "iu" else None  # int32 stays int32, as PyTorch's
        xp = get_array_module(x)
        wide = WIDER.get(str(x.dtype))
        if wide is not None:  # summed wider, each sum rounded once, as PyTorch's CPU kernel
            with quiet(xp):  # beyond the dtype's largest is inf, silently
                return xp.cumsum(x, axis=self.axis, dtype=wide).astype(x.dtype)
        return xp.cumsum(x, axis=self.axis, dtype=keep)

    def backward(self, g):
        axes = (self.axis,)
        return Flip.apply(CumSum.apply(Flip.apply(g, axes=axes), axis=self.axis), axes=axes)


def flip(input, dims):  # noqa: A002
    """``input`` reversed along ``dims`` (an int or a sequence of ints)."""
    dims = _int_tuple("flip", "dims", (dims,) if not isinstance(dims, (tuple, list)) else dims)
    return Flip.apply(input, axes=normalize_axis("flip", dims, input.ndim, scalar=True))


def roll(input, shifts, dims=None):  # noqa: A002
    """``input`` shifted cyclically by ``shifts`` along ``dims`` (all elements, flattened, for
    None or no dims: then one shift)."""
    shifts = _int_tuple("roll", "shifts", (shifts,) if not isinstance(shifts, (tuple, list))
                        else shifts)
    dims = () if dims is None else _int_tuple(
        "roll", "dims", (dims,) if not isinstance(dims, (tuple, list)) else dims)
    if not shifts:
        raise ValueError(f"roll: shifts must name at least one shift, got {shifts}")
    if not dims:
        if len(shifts) != 1:
            raise ValueError(f"roll: shifts {shifts} without dims must be one shift (the "
                             "flattened tensor's)")
        shape = input.shape
        return reshape(Roll.apply(reshape(input, -1), shifts=shifts[0], axes=0), shape)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    axes = tuple(_one_axis("roll", d, input.ndim) for d in dims)
    return Roll.apply(input, shifts=shifts, axes=axes)


def cumsum(input, dim=None, *, dtype=None, axis=None):  # noqa: A002
    """Running sums along ``dim`` (PyTorch requires it; NumPy's ``axis`` also works)."""
    dim = dim_or_axis("cumsum", axis, dim)
    if dim is None:
        raise TypeError("cumsum: dim is required (PyTorch's); flatten first for a running sum "
                        "over all elements")
    if dtype is not None:  # dtype=bool: PyTorch's error (NumPy's running sum was int64)
        input = refuse_bool("cumsum(dtype=bool)", input.astype(dtype))  # noqa: A001
    elif input.dtype.kind in "biu":  # PyTorch sums integers and booleans in int64
        input = input.astype("int64")  # noqa: A001
    if scalar_dim(input, dim):
        return on_one_axis(lambda t, d: cumsum(t, d, dtype=t.dtype), input)
    return CumSum.apply(input, axis=_one_axis("cumsum", dim, input.ndim))


def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None):  # noqa: A002
    """The n-th forward difference along ``dim``: ``input[i + 1] - input[i]``, ``n`` times."""
    axis = _one_axis("diff", dim, input.ndim)
    if n < 0:
        raise ValueError(f"diff: n must be >= 0, got {n}")
    original = input
    if prepend is not None or append is not None:
        parts = [p for p in (prepend, input, append) if p is not None]
        xp = get_array_module(input._data)
        input = concat([p if isinstance(p, Tensor) else Tensor(xp.asarray(p))  # noqa: A001
                        for p in parts], axis)
    if n == 0:  # PyTorch's: a copy of the input, prepend and append left out (checked only)
        return clone(original)
    lead = (slice(None),) * axis
    for _ in range(n):
        after = getitem(input, lead + (slice(1, None),))
        before = getitem(input, lead + (slice(None, -1),))
        # bool: PyTorch's xor
        input = after != before if input.dtype == bool else after - before  # noqa: A001
    return input


def unbind(input, dim: int = 0):  # noqa: A002
    """The slices of ``input`` along ``dim``, each without that axis (a tuple)."""
    axis = _one_axis("unbind", dim, input.ndim)
    if input.shape[axis] == 0:
        return ()
    return tuple(squeeze(p, axis) for p in split(input, 1, axis))


def movedim(input, source, destination):  # noqa: A002
    """``input`` with the axes ``source`` moved to the positions ``destination``; the others keep
    their order."""
    src = _int_tuple("movedim", "source", (source,) if isinstance(source, int) else source)
    dst = _int_tuple("movedim", "destination",
                     (destination,) if isinstance(destination, int) else destination)
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {src} and destination {dst} must have the same length")
    src = [_one_axis("movedim", s, input.ndim, True) for s in src]  # 0-D: 0 or -1, PyTorch's
    dst = [_one_axis("movedim", d, input.ndim, True) for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"movedim: repeated axes in source {src} or destination {dst}")
    rest = iter([a for a in range(input.ndim) if a not in src])
    where = dict(zip(dst, src))
    return permute(input, [where[i] if i in where else next(rest) for i in range(input.ndim)])


def swapaxes(input, axis0: int, axis1: int):  # noqa: A002
    return transpose(input, axis0, axis1)


def ravel(input):  # noqa: A002
    return reshape(input, -1)


def unflatten(input, dim: int, sizes):  # noqa: A002
    """Axis ``dim`` split into ``sizes`` (one may be -1)."""
    axis = _one_axis("unflatten", dim, input.ndim)
    sizes = _inferred_sizes(input.shape[axis], _int_tuple("unflatten", "sizes", (sizes,)))
    return reshape(input, input.shape[:axis] + sizes + input.shape[axis + 1:])


def _inferred_sizes(n, sizes):
    """``sizes`` with its -1 worked out from the axis size ``n`` alone, as PyTorch's: not from
    the whole shape, which has no answer when another axis is empty."""
    known = math.prod(s for s in sizes if s != -1)
    if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
        raise ValueError(f"unflatten: sizes must be >= 0 with at most one -1, got {sizes}")
    if -1 in sizes and known and n % known == 0:
        return tuple(n // known if s == -1 else s for s in sizes)
    if -1 in sizes or known != n:
        raise ValueError(f"unflatten: sizes {sizes} do not multiply up to the size of the "
                         f"axis ({n})" + (" (the -1 is ambiguous)" if -1 in sizes and n == 0
                                          and not known else ""))
    return sizes


def _atleast(who, tensors, one):
    """``one`` applied to a tensor, to each of several (``f(a, b)`` or ``f([a, b])``): a tuple."""
    listed = len(tensors) == 1 and isinstance(tensors[0], (list, tuple))
    items = tuple(tensors[0]) if listed else tensors
    for t in items:
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: expects a Tensor, several, or a list of them, got "
                            f"{type(t).__name__}")
    out = tuple(one(t) for t in items)
    return out[0] if len(out) == 1 and not listed else out


def _one_1d(x):
    return reshape(x, (1,)) if x.ndim == 0 else x


def _one_2d(x):
    return reshape(x, (1,) * (2 - x.ndim) + x.shape) if x.ndim < 2 else x


def _one_3d(x):
    if x.ndim >= 3:
        return x
    return reshape(x, {0: (1, 1, 1), 1: (1, *x.shape, 1), 2: (*x.shape, 1)}[x.ndim])


def atleast_1d(*tensors):
    """Each tensor with at least one dimension (a 0-d one becomes shape (1,)); a tuple for
    several (or a list) of them."""
    return _atleast("atleast_1d", tensors, _one_1d)


def atleast_2d(*tensors):
    """Each tensor with at least two dimensions (leading dimensions of size 1 added)."""
    return _atleast("atleast_2d", tensors, _one_2d)


def atleast_3d(*tensors):
    """Each tensor with at least three dimensions, as PyTorch and NumPy: () -> (1, 1, 1),
    (n,) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    return _atleast("atleast_3d", tensors, _one_3d)


def hstack(tensors):
    """Concatenate along axis 1 (axis 0 for 1-D tensors)."""
    tensors = [_one_1d(t) for t in tensors]
    return concat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """Concatenate along axis 0, 1-D tensors as rows."""
    return concat([_one_2d(t) for t in tensors], 0)


def dstack(tensors):
    """Concatenate along axis 2, smaller tensors seen as (1, N, 1) or (M, N, 1)."""
    return concat([_one_3d(t) for t in tensors], 2)


def column_stack(tensors):
    """1-D tensors as columns, 2-D ones as they are, side by side."""
    return concat([reshape(t, (-1, 1)) if t.ndim <= 1 else t for t in tensors], 1)


def broadcast_shapes(*shapes):
    """The shape that ``shapes`` broadcast to, or a ValueError naming them."""
    out = []
    for dims in zip(*[(1,) * (max(map(len, shapes), default=0) - len(s)) + tuple(s)
                      for s in shapes]):
        big = {d for d in dims if d != 1}
        if len(big) > 1:
            raise ValueError(f"broadcast_shapes: shapes {list(shapes)} cannot be broadcast")
        out.append(big.pop() if big else 1)
    return tuple(out)


def broadcast_tensors(*tensors):
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(broadcast_to(t, shape) for t in tensors)


def meshgrid(*tensors, indexing: str | None = None):
    """Coordinate grids from 1-D tensors: ``indexing="ij"`` (PyTorch's default) or ``"xy"``."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if any(t.ndim > 1 for t in tensors):
        raise ValueError(f"meshgrid: expects 0-D or 1-D tensors, got shapes "
                         f"{[t.shape for t in tensors]}")
    if len({t.dtype for t in tensors}) > 1:  # PyTorch's rule: no promotion between them
        raise TypeError(f"meshgrid: expects tensors of one dtype, got "
                        f"{[str(t.dtype) for t in tensors]}")
    tensors = [_one_1d(t) for t in tensors]
    swap = indexing == "xy" and len(tensors) >= 2
    order = [1, 0] + list(range(2, len(tensors))) if swap else list(range(len(tensors)))
    shape = tuple(tensors[i].shape[0] for i in order)
    grids = []
    for i, t in enumerate(tensors):
        at = order.index(i)
        grids.append(broadcast_to(reshape(t, tuple(-1 if k == at else 1
                                                   for k in range(len(shape)))), shape))
    return tuple(grids)


def take(input, index):  # noqa: A002
    """The elements of ``input``, flattened, at ``index`` (ints; the result has index's shape)."""
    idx = index._data if isinstance(index, Tensor) else get_array_module(input._data).asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"take: index must hold integers, got dtype {idx.dtype}")
    n = input._data.size
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise IndexError(f"take: index out of range for a tensor of {n} elements")
    if isinstance(index, Tensor):  # an op, so that a trace (cr.trace) follows the index
        return getitem(reshape(input, -1), index % max(n, 1))
    # asarray: a 0-d index gives a NumPy scalar, which Tensor() would read as a size
    return getitem(reshape(input, -1), Tensor(get_array_module(idx).asarray(idx % max(n, 1))))


def take_along_dim(input, indices, dim=None):  # noqa: A002
    """``gather`` with broadcasting (PyTorch's ``take_along_dim``); ``dim=None``: flattened."""
    if dim is None:
        flat = reshape(indices, -1) if isinstance(indices, Tensor) else indices
        xp = get_array_module(input._data)
        low = flat._data if isinstance(flat, Tensor) else xp.asarray(flat)
        if low.size and int(low.min()) < 0:  # PyTorch's gathers from the flattened input
            raise IndexError(f"take_along_dim: index {int(low.min())} is out of bounds for the "
                             f"flattened input of size {input.numel()} (dim=None counts no index "
                             "from the end, as PyTorch's)")
        return take(input, flat)
    axis = _one_axis("take_along_dim", dim, input.ndim)
    idx = indices if isinstance(indices, Tensor) else Tensor(
        get_array_module(input._data).asarray(indices))
    if idx.ndim != input.ndim:
        raise ValueError(f"take_along_dim: indices of shape {idx.shape} must have as many axes "
                         f"as the input {input.shape}")
    shape = broadcast_shapes(tuple(n for k, n in enumerate(input.shape) if k != axis),
                             tuple(n for k, n in enumerate(idx.shape) if k != axis))
    full = list(shape)
    wide = tuple(full[:axis] + [input.shape[axis]] + full[axis:])
    input = broadcast_to(input, wide)  # noqa: A001
    # ops rather than new arrays, so that a trace (cr.trace) follows the indices
    idx = broadcast_to(idx, tuple(full[:axis] + [idx.shape[axis]] + full[axis:]))
    n = input.shape[axis]
    if idx._data.size and int(idx._data.min()) < 0 and int(idx._data.min()) >= -n:
        idx = idx % n  # PyTorch's take_along_dim counts negatives from the end
    return gather(input, axis, idx)


def _flip_method(self, *dims, **kwargs):
    """``x.flip(0, 1)``, ``x.flip((0, 1))`` or ``x.flip(dims=[0, 1])``, as PyTorch's method."""
    if kwargs:
        if dims or set(kwargs) != {"dims"}:
            raise TypeError(f"flip: takes the dims as ints, one sequence or dims=, got "
                            f"{dims!r} and keywords {sorted(kwargs)}")
        return flip(self, kwargs["dims"])
    return flip(self, dims[0] if len(dims) == 1 else dims)


_METHODS = {
    "flip": _flip_method,
    "roll": roll, "cumsum": cumsum, "diff": diff, "unbind": unbind, "movedim": movedim,
    "moveaxis": movedim, "swapaxes": swapaxes, "swapdims": swapaxes, "ravel": ravel,
    "unflatten": unflatten, "take": take, "take_along_dim": take_along_dim,
}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
