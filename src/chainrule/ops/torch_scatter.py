"""PyTorch's out-of-place writes: ``diagonal_scatter``, ``select_scatter``, ``slice_scatter``,
``index_copy``, ``index_fill``, ``index_put``, ``index_reduce``, and the split spellings
``split_with_sizes``, ``unsafe_split``, ``unsafe_chunk``, ``narrow_copy``.

A write is one op, ``_WriteInto``: the output is a copy of ``input`` with ``src`` written at a
region. Its gradient is the output's gradient with that region zeroed (for ``input``) and the
region read back (for ``src``), the read being a recorded op (``diagonal``, indexing,
``index_select``), so the write is differentiable again. ``index_put(accumulate=True)`` is
``put`` with the flat positions, and ``index_reduce`` is ``scatter_reduce``.
"""

from __future__ import annotations

import numbers
import warnings

from ..autograd.function import Function, nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..backend.dtypes import check_fill
from ._zero_d import as_1d, scalar_dim
from .diagonal import diagonal
from .elementwise import cast, where
from .indexing import gather
from .join import split
from .methods import chunk, clone, narrow
from .repeat import index_select
from .scatter_reduce import scatter_reduce
from .shape import _one_axis, getitem, reshape
from .shape import broadcast_to as _broadcast
from .shape_extra import put
from .torch_names import no_out, tensor_input

__all__ = [
    "diagonal_scatter", "index_copy", "index_fill", "index_put", "index_reduce", "narrow_copy",
    "select_scatter", "slice_scatter", "split_with_sizes", "unsafe_chunk", "unsafe_split",
    "unsafe_split_with_sizes",
]


class _WriteInto(Function):
    """``input`` with ``src`` written where ``place(array, values)`` writes; ``pick(tensor)``
    reads that region back (a recorded op)."""

    complex_grad = True

    def forward(self, x, src):
        out = x.copy()
        self.place(out, src)
        return out

    def backward(self, g):
        mask = get_array_module(g._data).ones(g.shape, g.dtype)
        self.place(mask, 0)
        return g * Tensor(mask), self.pick(g)


def _check_src(name, input, src, region_shape) -> None:  # noqa: A002
    tensor_input(name, input)
    tensor_input(name, src, "src")
    if tuple(src.shape) != tuple(region_shape):
        raise ValueError(f"{name}: src must have the shape of the region it fills, "
                         f"{tuple(region_shape)}, got {tuple(src.shape)}")


def _write(name, input, src, place, pick, region_shape) -> Tensor:  # noqa: A002
    """PyTorch's copy into the region: a ``src`` of another dtype is cast to the input's (its
    gradient comes back in its own dtype; a complex one into a real input loses its imaginary
    part, with PyTorch's warning)."""
    _check_src(name, input, src, region_shape)
    if src.dtype != input.dtype:
        if src.dtype.kind == "c" and input.dtype.kind != "c":
            warnings.warn("Casting complex values to real discards the imaginary part",
                          UserWarning, stacklevel=3)
        src = cast(src, input.dtype)
    return _WriteInto.apply(input, src, place=place, pick=pick)


def _slots(index, n, shape):
    """For each position along an axis of size ``n``: the entry of ``index`` that writes it
    (the last one), or -1; reshaped to ``shape``. A ``nondiff`` step, so that a trace
    (cr.trace) finds the positions again at every call."""
    def slots(i):
        xp = get_array_module(i)
        i = i.reshape(-1)
        out = xp.full(n, -1, dtype="int64")
        out[xp.where(i < 0, i + n, i)] = xp.arange(i.size)
        return out.reshape(shape)
    return nondiff(slots, index)


def _int(name, arg, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name}: {arg} must be an int, got {type(v).__name__}")
    return int(v)


def diagonal_scatter(input, src, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:  # noqa: A002
    """``input`` with its ``offset`` diagonal (over ``dim1``, ``dim2``) replaced by ``src``,
    which has ``diagonal(input, offset, dim1, dim2)``'s shape."""
    region = diagonal(tensor_input("diagonal_scatter", input), offset, dim1, dim2)
    d1, d2 = (_one_axis("diagonal_scatter", d, input.ndim) for d in (dim1, dim2))
    n = region.shape[-1]
    xp = get_array_module(input._data)
    rows = xp.arange(n) + max(-offset, 0)
    cols = xp.arange(n) + max(offset, 0)

    def place(arr, values):
        xp.moveaxis(arr, (d1, d2), (-2, -1))[..., rows, cols] = values

    return _write("diagonal_scatter", input, src, place,
                  lambda g: diagonal(g, offset, dim1, dim2), region.shape)


def _region_write(name, input, src, index) -> Tensor:  # noqa: A002
    region = getitem(input, index)

    def place(arr, values):
        arr[index] = values

    return _write(name, input, src, place, lambda g: getitem(g, index), region.shape)


def select_scatter(input, src, dim: int, index: int) -> Tensor:  # noqa: A002
    """``input`` with the slice ``select(input, dim, index)`` replaced by ``src``."""
    axis = _one_axis("select_scatter", dim, tensor_input("select_scatter", input).ndim)
    i = _int("select_scatter", "index", index)
    if not -input.shape[axis] <= i < input.shape[axis]:
        raise IndexError(f"select_scatter: index {i} is out of range for dimension {dim} of "
                         f"size {input.shape[axis]}")
    return _region_write("select_scatter", input, src, (slice(None),) * axis + (i,))


def slice_scatter(input, src, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:  # noqa: A002
    """``input`` with ``input[..., start:end:step, ...]`` (along ``dim``) replaced by ``src``."""
    axis = _one_axis("slice_scatter", dim, tensor_input("slice_scatter", input).ndim)
    if _int("slice_scatter", "step", step) < 1:
        raise ValueError(f"slice_scatter: step must be positive, got {step}")
    return _region_write("slice_scatter", input, src,
                         (slice(None),) * axis + (slice(start, end, step),))


def _index(name, input, dim, index, negative=False):  # noqa: A002
    """``(axis, index)``: a 1-D integer index in ``[0, n)`` (``negative``, index_fill's:
    ``[-n, n)``, counted from the end), as PyTorch checks it."""
    axis = _one_axis(name, dim, tensor_input(name, input).ndim, True)  # 0-D: 0 or -1
    tensor_input(name, index, "index")
    if index.ndim > 1 or index.dtype.kind not in "iu":
        raise ValueError(f"{name}: index must be a 1-D tensor of integers, got shape "
                         f"{tuple(index.shape)}, dtype {index.dtype}")
    idx = index._data.reshape(-1)
    n = input.shape[axis] if input.ndim else 1
    if idx.size and (int(idx.min()) < (-n if negative else 0) or int(idx.max()) >= n):
        raise IndexError(f"{name}: index holds {int(idx.min())}..{int(idx.max())}, out of range "
                         f"for dimension {dim} of size {n}")
    # negatives counted from the end, as the write does: the backward's index_select takes none
    return axis, get_array_module(idx).where(idx < 0, idx + n, idx)


def index_copy(input, dim: int, index, source, *, out=None) -> Tensor:  # noqa: A002
    """``input`` with the slices ``index`` along ``dim`` replaced by those of ``source``."""
    no_out("index_copy", out)
    if scalar_dim(input, dim):  # a 0-D input as one axis of size 1 (PyTorch's)
        return reshape(index_copy(as_1d(input), 0, as_1d(index), as_1d(source)), ())
    axis, idx = _index("index_copy", input, dim, index)
    want = tuple(idx.size if d == axis else s for d, s in enumerate(input.shape))
    _check_src("index_copy", input, source, want)
    if idx.size == 0 or input.ndim == 0:  # nothing written, or the one element
        region = (slice(None),) * axis + (idx,)

        def place(arr, values):
            arr[region] = values

        return _WriteInto.apply(input, source, place=place,
                                pick=lambda g: index_select(g, axis, Tensor(idx)))
    # each position takes the source slice written last there, picked by gather (the
    # gradient goes back to that slice) from positions found again at each traced call
    slot = _slots(index, input.shape[axis], [-1 if d == axis else 1 for d in range(input.ndim)])
    at = _broadcast(nondiff(lambda s: get_array_module(s).maximum(s, 0), slot), input.shape)
    return where(nondiff(lambda s: s >= 0, slot), gather(source, axis, at), input)


def index_fill(input, dim: int, index, value) -> Tensor:  # noqa: A002
    """``input`` with the slices ``index`` along ``dim`` set to ``value`` (a number, or a 0-d
    tensor, which then gets the gradient of every filled entry)."""
    axis, _ = _index("index_fill", input, dim, index, negative=True)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"index_fill: value must be a number or a 0-d tensor, got shape "
                             f"{tuple(value.shape)}")
        value = cast(value, input.dtype)
    else:  # a number the dtype cannot hold (1e5 into float16) is PyTorch's error
        value = check_fill("index_fill", value, input.dtype) if isinstance(
            value, numbers.Number) else value
        value = Tensor(get_array_module(input._data).asarray(value, input.dtype))
    n = input.shape[axis] if input.ndim else 1
    shape = [-1 if d == axis else 1 for d in range(input.ndim)]
    # each slice is filled once however often the index names it, so the value's gradient
    # counts it once (PyTorch's too); the positions are found again at each traced call
    hit = nondiff(lambda s: s >= 0, _slots(index, n, shape))
    return where(hit, value, input)


def index_put(input, indices, values, accumulate: bool = False) -> Tensor:  # noqa: A002
    """``input`` with ``values`` (broadcast) written at ``input[indices]`` (a tuple of integer
    or boolean index tensors); with ``accumulate`` they add, repeated positions included."""
    tensor_input("index_put", input)
    if not isinstance(indices, (tuple, list)) or not all(
            isinstance(i, Tensor) or i is None for i in indices):
        raise TypeError(f"index_put: indices must be a tuple of Tensors, got "
                        f"{type(indices).__name__}")
    if isinstance(values, Tensor) and values.dtype != input.dtype:  # PyTorch's rule (no cast)
        raise TypeError(f"index_put: values must have input's dtype {input.dtype}, got "
                        f"{values.dtype}")
    index = tuple(slice(None) if i is None else i._data for i in indices)
    xp = get_array_module(input._data)
    values = values if isinstance(values, Tensor) else Tensor(xp.asarray(values, input.dtype))
    region = xp.arange(input.numel()).reshape(input.shape)[index]
    src = _broadcast(cast(values, input.dtype), region.shape)
    if accumulate:
        # asarray: 0-d indices give a NumPy scalar, which Tensor() would read as a size
        return put(input, Tensor(xp.asarray(region)), src, accumulate=True)
    return _region_write("index_put", input, src, index)


def index_reduce(input, dim: int, index, source, reduce: str, *,  # noqa: A002
                 include_self: bool = True, out=None) -> Tensor:
    """``input`` with the slices of ``source`` reduced into the slices ``index`` along ``dim``
    (``reduce``: "prod", "mean", "amax" or "amin"); ``scatter_reduce`` with ``index`` spread
    over ``source``'s shape."""
    no_out("index_reduce", out)
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise ValueError(f"index_reduce: reduce must be 'prod', 'mean', 'amax' or 'amin', got "
                         f"{reduce!r}")
    if scalar_dim(input, dim):  # a 0-D input as one axis of size 1 (PyTorch's)
        return reshape(index_reduce(as_1d(input), 0, as_1d(index), as_1d(source), reduce,
                                    include_self=include_self), ())
    axis, idx = _index("index_reduce", input, dim, index)
    want = tuple(idx.size if d == axis else s for d, s in enumerate(input.shape))
    if tuple(tensor_input("index_reduce", source, "source").shape) != want:
        raise ValueError(f"index_reduce: source must have shape {want} (input's "
                         f"{tuple(input.shape)} with {idx.size} slices along {axis}), got "
                         f"{tuple(source.shape)}")
    xp = get_array_module(input._data)
    n = input.shape[axis]
    spread = xp.broadcast_to(xp.where(idx < 0, idx + n, idx).reshape(
        (-1,) + (1,) * (input.ndim - 1 - axis)), want)
    return scatter_reduce(input, axis, Tensor(xp.ascontiguousarray(spread)), source, reduce,
                          include_self=include_self)


def split_with_sizes(input, split_sizes, dim: int = 0) -> tuple:  # noqa: A002
    """``split`` into pieces of the given sizes, which must add up to the size of ``dim``."""
    if not isinstance(split_sizes, (list, tuple)):
        raise TypeError(f"split_with_sizes: split_sizes must be a list of ints, got "
                        f"{type(split_sizes).__name__}")
    return split(tensor_input("split_with_sizes", input), list(split_sizes), dim)


def unsafe_split(tensor, split_size, dim: int = 0) -> tuple:
    """``split`` (PyTorch's variant without view tracking; chainrule's split is safe already).
    PyTorch's keyword is ``split_size`` (its docstring says ``split_size_or_sections``)."""
    return split(tensor_input("unsafe_split", tensor, "tensor"), split_size, dim)


def unsafe_split_with_sizes(input, split_sizes, dim: int = 0) -> tuple:  # noqa: A002
    """``split_with_sizes`` (PyTorch's variant without view tracking)."""
    return split_with_sizes(input, split_sizes, dim)


def unsafe_chunk(input, chunks: int, dim: int = 0) -> tuple:  # noqa: A002
    """``chunk`` (PyTorch's variant without view tracking)."""
    return chunk(tensor_input("unsafe_chunk", input), chunks, dim)


def narrow_copy(input, dim: int, start: int, length: int, *, out=None) -> Tensor:  # noqa: A002
    """``narrow`` as a copy with its own memory."""
    no_out("narrow_copy", out)
    return clone(narrow(tensor_input("narrow_copy", input), dim, start, length))


_METHODS = {
    "diagonal_scatter": diagonal_scatter, "select_scatter": select_scatter,
    "slice_scatter": slice_scatter, "index_copy": index_copy, "index_fill": index_fill,
    "index_put": index_put, "index_reduce": index_reduce, "split_with_sizes": split_with_sizes,
    "unsafe_split": unsafe_split, "unsafe_split_with_sizes": unsafe_split_with_sizes,
    "unsafe_chunk": unsafe_chunk, "narrow_copy": narrow_copy,
}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
