"""Copies of a tensor's values by index: ``index_select``, ``repeat``, ``tile`` and
``repeat_interleave`` (PyTorch's names and conventions).

None needs a gradient rule of its own. ``index_select`` and ``repeat_interleave`` pick entries by
index (``getitem``, whose gradient adds up the copies), and ``repeat``/``tile`` lay the tensor out
on a grid of copies with a reshape and a broadcast (whose gradient sums the copies back), so all
of them differentiate to any order.
"""

from __future__ import annotations

from ..autograd.tensor import Tensor
from ..backend import MetaArray, get_array_module
from ._zero_d import scalar_dim
from .methods import clone
from .shape import _int_tuple, _one_axis, broadcast_to, getitem, reshape

__all__ = ["index_select", "repeat", "repeat_interleave", "tile"]


def _int_array(op, name, value, xp):
    arr = value._data if isinstance(value, Tensor) else xp.asarray(value)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must hold integers, got dtype {arr.dtype}")
    return arr


def _along(x, axis, idx):
    """``x`` at the integer array ``idx`` along ``axis``."""
    return getitem(x, (slice(None),) * axis + (Tensor(idx),))


def index_select(input, dim, index):  # noqa: A002
    """The entries of ``input`` at ``index`` (a 1-D int tensor) along ``dim``:
    ``input[:, index]`` for ``dim=1``. Unlike NumPy indexing, a negative index is refused, as in
    PyTorch. A sparse COO ``input`` gives its own ``index_select`` (sparse), as PyTorch's."""
    if not isinstance(input, Tensor):  # was: AttributeError '_data' from a sparse tensor
        if getattr(input, "is_sparse", False):
            return input.index_select(dim, index)
        raise TypeError(f"index_select: input must be a Tensor or a sparse COO tensor, got "
                        f"{type(input).__name__}")
    xp = get_array_module(input._data)
    if scalar_dim(input, dim):  # a 0-D input as one axis of size 1 (PyTorch's): one index
        idx = _int_array("index_select", "index", index, xp)
        if idx.size != 1:
            raise ValueError(f"index_select: an index into a 0-D tensor must hold one value, got "
                             f"shape {idx.shape}")
        return reshape(index_select(reshape(input, 1), 0, Tensor(idx.reshape(1))), ())
    axis = _one_axis("index_select", dim, input.ndim)
    idx = _int_array("index_select", "index", index, xp)
    if idx.ndim > 1:
        raise ValueError(f"index_select: index must be 1-D, got shape {idx.shape}")
    idx = idx.reshape(-1)
    n = input.shape[axis]
    if idx.size and type(idx) is not MetaArray and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise IndexError(f"index_select: index holds {int(idx.min())}..{int(idx.max())}, out of "
                         f"range for axis {axis} of size {n} (0..{n - 1})")
    return _along(input, axis, idx)


def repeat(x, *sizes):
    """``x`` copied ``sizes[i]`` times along axis ``i`` (PyTorch's ``Tensor.repeat``, NumPy's
    ``tile``); extra leading sizes add leading axes: ``repeat(x, 2, 1, 1)`` for a 2-D ``x``."""
    sizes = _int_tuple("repeat", "sizes", sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: {len(sizes)} sizes {sizes} for a tensor of shape {x.shape}; "
                         f"give at least {x.ndim}, one per axis (tile pads them with 1s)")
    if any(s < 0 for s in sizes):
        raise ValueError(f"repeat: sizes must be >= 0, got {sizes}")
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    # Axis i becomes the pair (copy, value): x of shape (1, n0, 1, n1, ...) broadcast to
    # (r0, n0, r1, n1, ...), then each pair merged: (r0 * n0, r1 * n1, ...).
    paired = reshape(x, tuple(d for n in shape for d in (1, n)))
    grid = broadcast_to(paired, tuple(d for r, n in zip(sizes, shape) for d in (r, n)))
    out = reshape(grid, tuple(r * n for r, n in zip(sizes, shape)))
    # PyTorch's repeat copies. The reshape may give a view of x instead (all sizes 1, or copies
    # only along axes of size 1), and a write into it would write x (or fail on the broadcast).
    if get_array_module(x._data).may_share_memory(out._data, x._data):
        out = clone(out)
    return out


def tile(input, *reps, dims=None):  # noqa: A002
    """PyTorch's ``tile``: ``repeat`` with ``dims`` padded with leading 1s to ``input``'s rank
    (``tile(x, (2, 1))``, ``x.tile(2, 1)`` or ``tile(x, dims=(2, 1))``)."""
    if dims is not None:
        if reps:
            raise TypeError(f"tile: give the repetitions once, as {reps} or dims={dims}")
        reps = (dims,)
    dims = _int_tuple("tile", "dims", reps)
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):  # noqa: A002
    """Each entry of ``input`` repeated ``repeats`` times in place along ``dim`` (all entries,
    flattened, for ``dim=None``): ``[1, 2] -> [1, 1, 2, 2]``. ``repeats`` is an int or a 1-D
    int tensor with one count per entry. ``repeat_interleave(counts)`` alone gives the indices
    ``0`` repeated ``counts[0]`` times, then ``1``..., as PyTorch's."""
    xp = get_array_module(input._data)
    if repeats is None:
        counts = _int_array("repeat_interleave", "repeats", input, xp)
        if counts.ndim != 1 or (counts.size and int(counts.min()) < 0):
            raise ValueError("repeat_interleave: a single argument must be a 1-D tensor of "
                             f"counts >= 0, got shape {counts.shape}")
        # the indices in the counts' dtype, as PyTorch's (int32 counts give int32 indices)
        kind = xp.int32 if counts.dtype == xp.int32 else xp.int64
        return Tensor(xp.repeat(xp.arange(counts.size, dtype=kind), counts))
    if dim is None:
        input, axis = reshape(input, -1), 0  # noqa: A001
    else:
        axis = _one_axis("repeat_interleave", dim, input.ndim)
    n = input.shape[axis]
    counts = _int_array("repeat_interleave", "repeats", repeats, xp).reshape(-1)
    if counts.size not in (1, n):
        raise ValueError(f"repeat_interleave: repeats has {counts.size} counts for an axis of "
                         f"size {n}; give one count, or one per entry")
    if counts.size and int(counts.min()) < 0:
        raise ValueError(f"repeat_interleave: repeats must be >= 0, got {counts.tolist()}")
    idx = xp.repeat(xp.arange(n), counts if counts.size == n else int(counts[0]))
    if output_size is not None and output_size != idx.size:
        raise ValueError(f"repeat_interleave: output_size={output_size}, but the repeats give "
                         f"{idx.size} entries")
    return _along(input, axis, idx)


Tensor.index_select = index_select
Tensor.repeat = repeat
Tensor.tile = tile
Tensor.repeat_interleave = repeat_interleave
