"""Shape helpers and writers, PyTorch's names: t, adjoint, swapdims, rot90, fliplr, flipud,
tensor_split, hsplit, vsplit, dsplit, row_stack, masked_scatter, put, and in place triu_, tril_,
masked_scatter_, put_.

All are compositions of recorded ops (transposes, flips, slices, gathers, ``where``), so they are
differentiable through those: ``masked_scatter`` gives ``source``'s first k entries to the k masked
positions in order (each position gathers its entry), ``put`` writes ``source`` at flat indices
(the last write to a position wins, and only it receives that position's gradient; with
``accumulate`` all add). The in-place forms go through the writers' checks (``select._writer``).
"""

from __future__ import annotations

import operator

from ..autograd.function import nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._conj import conj_copy
from .creation import tril, triu
from .elementwise import where
from .methods import _t
from .rearrange import broadcast_shapes, flip, vstack
from .select import _writer, index_add
from .shape import _one_axis, broadcast_to, getitem, reshape, transpose

__all__ = ["adjoint", "dsplit", "fliplr", "flipud", "hsplit", "masked_scatter", "put", "rot90",
           "row_stack", "swapdims", "t", "tensor_split", "vsplit"]


def _tensor(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x


def t(input):  # noqa: A002 - PyTorch's name
    """The transpose of a 2-D tensor; 0-D and 1-D tensors are returned as they are."""
    return _t(_tensor("t", input))


def adjoint(input):  # noqa: A002
    """The conjugate transpose of the last two dimensions (a real tensor's: the transpose)."""
    x = _tensor("adjoint", input)
    if x.ndim < 2:
        raise ValueError(f"adjoint: input must have at least 2 dimensions, got shape {x.shape}")
    return conj_copy(transpose(x, -2, -1), "adjoint()")


def swapdims(input, dim0: int, dim1: int):  # noqa: A002 - PyTorch's names
    """``input`` with dimensions ``dim0`` and ``dim1`` exchanged (``swapaxes`` by PyTorch's other
    names)."""
    return transpose(input, dim0, dim1)


def rot90(input, k=1, dims=(0, 1)):  # noqa: A002
    """Rotation by 90 degrees ``k`` times in the plane of ``dims``, from the first axis towards
    the second.

    >>> import chainrule as cr
    >>> cr.rot90(cr.tensor([[1, 2], [3, 4]])).tolist()
    [[2, 4], [1, 3]]
    """
    x = _tensor("rot90", input)
    dims = tuple(dims)
    if len(dims) != 2:
        raise ValueError(f"rot90: dims must hold 2 dimensions, got {dims!r}")
    if x.ndim < 2:
        raise ValueError(f"rot90: input must have at least 2 dimensions, got shape {x.shape}")
    a, b = (_one_axis("rot90", d, x.ndim) for d in dims)
    if a == b:
        raise ValueError(f"rot90: dims must be two different dimensions, got {dims!r}")
    k = operator.index(k) % 4
    if k == 1:
        return transpose(flip(x, b), a, b)
    if k == 2:
        return flip(x, (a, b))
    if k == 3:
        return flip(transpose(x, a, b), b)
    return x * 1 if x.dtype.kind == "f" else x


def fliplr(input):  # noqa: A002
    """``input`` reversed along dim 1 (left to right); at least 2-D."""
    x = _tensor("fliplr", input)
    if x.ndim < 2:
        raise ValueError(f"fliplr: input must be at least 2-D, got shape {x.shape}")
    return flip(x, 1)


def flipud(input):  # noqa: A002
    """``input`` reversed along dim 0 (up to down); at least 1-D."""
    x = _tensor("flipud", input)
    if x.ndim < 1:
        raise ValueError(f"flipud: input must be at least 1-D, got shape {x.shape}")
    return flip(x, 0)


def tensor_split(input, indices_or_sections=None, dim=0, *, sections=None, indices=None,  # noqa: A002
                 tensor_indices_or_sections=None):
    """Views of ``input`` along ``dim``: ``sections`` nearly equal parts (the first ``n % sections``
    one longer), or the parts between the given ``indices``. The split is given positionally or
    by one of PyTorch's keywords (``sections=``, ``indices=``, ``tensor_indices_or_sections=``)."""
    x = _tensor("tensor_split", input)
    given = {k: v for k, v in (("indices_or_sections", indices_or_sections),
                               ("sections", sections), ("indices", indices),
                               ("tensor_indices_or_sections", tensor_indices_or_sections))
             if v is not None}
    if len(given) != 1:
        raise TypeError(f"tensor_split: give exactly one of indices_or_sections, sections, "
                        f"indices, tensor_indices_or_sections; got {sorted(given) or 'none'}")
    axis = _one_axis("tensor_split", dim, x.ndim)
    n = x.shape[axis]
    spec = next(iter(given.values()))
    if isinstance(spec, Tensor):
        if spec.dtype.kind not in "iu" or spec.ndim > 1:
            raise TypeError(f"tensor_split: a tensor indices_or_sections must be a 0-D or 1-D "
                            f"int tensor, got dtype {spec.dtype}, shape {spec.shape}")
        spec = int(spec.item()) if spec.ndim == 0 else [int(i) for i in spec.tolist()]
    if isinstance(spec, (list, tuple)):  # Python's slice bounds: negative from the end, clamped
        cuts = [operator.index(i) for i in spec]
        bounds = [0] + [min(max(i + n if i < 0 else i, 0), n) for i in cuts] + [n]
    else:
        sections = operator.index(spec)
        if sections < 1:
            raise ValueError(f"tensor_split: sections must be at least 1, got {sections}")
        size, extra = divmod(n, sections)
        bounds = [0]
        for i in range(sections):
            bounds.append(bounds[-1] + size + (1 if i < extra else 0))
    lead = (slice(None),) * axis
    return tuple(getitem(x, lead + (slice(lo, max(lo, hi)),))
                 for lo, hi in zip(bounds, bounds[1:]))


def _split_along(op, x, spec, dim, need):
    x = _tensor(op, x)
    if x.ndim < need:
        raise ValueError(f"{op}: input must have at least {need} dimensions, got shape {x.shape}")
    if not isinstance(spec, (list, tuple, Tensor)) and x.shape[dim] % operator.index(spec):
        raise ValueError(f"{op}: dim {dim} of size {x.shape[dim]} is not divisible into {spec} "
                         "equal parts")
    return tensor_split(x, spec, dim)


def hsplit(input, indices_or_sections):  # noqa: A002
    """``tensor_split`` along dim 1 (dim 0 for 1-D input); equal sections only."""
    dim = 0 if getattr(input, "ndim", 0) == 1 else 1
    return _split_along("hsplit", input, indices_or_sections, dim, 1)


def vsplit(input, indices_or_sections):  # noqa: A002
    """``tensor_split`` along dim 0 of an at least 2-D tensor; equal sections only."""
    return _split_along("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input, indices_or_sections):  # noqa: A002
    """``tensor_split`` along dim 2 of an at least 3-D tensor; equal sections only."""
    return _split_along("dsplit", input, indices_or_sections, 2, 3)


row_stack = vstack


def masked_scatter(input, mask, source):  # noqa: A002
    """``input`` with the positions where ``mask`` is True filled from ``source``'s entries in
    order; ``input`` and ``mask`` broadcast together, as in PyTorch (the in-place
    ``masked_scatter_`` keeps the input's shape)."""
    x, src = _tensor("masked_scatter", input), _tensor("masked_scatter", source)
    m = _tensor("masked_scatter", mask)._data
    if m.dtype != bool:
        raise TypeError(f"masked_scatter: mask must be boolean, got dtype {m.dtype}")
    xp = get_array_module(x._data, m)
    try:
        shape = broadcast_shapes(m.shape, x.shape)
    except ValueError:
        raise ValueError(f"masked_scatter: mask of shape {tuple(mask.shape)} cannot be broadcast "
                         f"with the input's shape {tuple(x.shape)}") from None
    m = xp.broadcast_to(m, shape)
    if shape != x.shape:
        x = broadcast_to(x, shape)
    k = int(m.sum())
    if k > src.numel():
        raise ValueError(f"masked_scatter: source has {src.numel()} elements, fewer than the "
                         f"{k} positions the mask selects")
    if src.dtype != x.dtype:
        raise TypeError(f"masked_scatter: source must have the input's dtype {x.dtype}, got "
                        f"{src.dtype}")
    rank = xp.maximum(xp.cumsum(m.reshape(-1)) - 1, 0).reshape(x.shape)  # entry of each position
    picked = getitem(reshape(src, -1), rank) if src.numel() else x
    return where(Tensor(m), picked, x)


def put(input, index, source, accumulate=False):  # noqa: A002
    """``input`` (flattened, shape kept) with ``source`` written at the flat positions ``index``
    (negative ones count from the end); with ``accumulate`` the values add."""
    x, src = _tensor("put", input), _tensor("put", source)
    idx = _tensor("put", index)._data
    if idx.dtype.kind not in "iu":
        raise TypeError(f"put: index must hold integers, got dtype {idx.dtype}")
    if idx.size != src.numel():
        raise ValueError(f"put: index has {idx.size} elements and source {src.numel()}; they "
                         "must match")
    if src.dtype != x.dtype:
        raise TypeError(f"put: source must have the input's dtype {x.dtype}, got {src.dtype}")
    n = x.numel()
    idx = idx.reshape(-1)
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise IndexError(f"put: index out of range for a tensor of {n} elements "
                         f"(got {int(idx.min())} to {int(idx.max())})")
    xp = get_array_module(x._data, idx)
    flat, values = reshape(x, -1), reshape(src, -1)
    if accumulate:
        idx = idx % max(n, 1)
        return reshape(index_add(flat, 0, Tensor(idx.astype("int64")), values), x.shape)
    if not idx.size:
        return reshape(flat, x.shape)

    def writers(i):  # for each flat position, the entry written there last, or -1
        out = xp.full(n, -1, dtype="int64")
        out[i.reshape(-1) % max(n, 1)] = xp.arange(i.size)
        return out

    # nondiff steps of the index, which a trace (cr.trace) runs again at every call
    index = index if isinstance(index, Tensor) else Tensor(idx)
    writer = nondiff(writers, index)
    hit = nondiff(lambda w: w >= 0, writer)
    picked = getitem(values, nondiff(lambda w: xp.maximum(w, 0), writer))
    return reshape(where(hit, picked, flat), x.shape)


_METHODS = {"adjoint": adjoint, "rot90": rot90, "fliplr": fliplr, "flipud": flipud,
            "tensor_split": tensor_split, "hsplit": hsplit, "vsplit": vsplit, "dsplit": dsplit,
            "masked_scatter": masked_scatter, "put": put, "swapdims": swapdims}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
for _name, _compute in {
    "triu_": lambda self, diagonal=0: triu(self, diagonal),
    "tril_": lambda self, diagonal=0: tril(self, diagonal),
    "masked_scatter_": lambda self, mask, source: masked_scatter(self, mask, source),
    "put_": lambda self, index, source, accumulate=False: put(self, index, source, accumulate),
}.items():
    setattr(Tensor, _name, _writer(_name, _compute))
