"""Shape and indexing ops: reshape, permute, transpose, squeeze, broadcast_to, sum_to, getitem.

Forwards return NumPy views wherever NumPy does (reshape of contiguous data, transposes, basic
slicing), so they cost no copy. Backwards are written with these same ops, so they can be
differentiated again.
"""

from __future__ import annotations

import math
import operator

from ..autograd.function import Function
from ..autograd.inplace import drop_empty_ellipsis, ints_first
from ..autograd.tensor import Tensor
from ..autograd.write import sequence_as_tuple
from ..backend import MetaArray, get_array_module, numpy
from ..backend.dtypes import uint8_as_mask
from ..kernels import K
from ._args import dim_or_axis

__all__ = [
    "broadcast_to", "flatten", "getitem", "permute", "reshape", "squeeze", "transpose", "unsqueeze",
]


def _as_int(op, name, value):
    """``value`` as a Python int (NumPy integers too), or a TypeError naming ``op`` and ``name``."""
    if isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int, got {value!r}") from None


def _int_tuple(op, name, values):
    """Ints given as varargs or as one sequence: ``f(x, 2, 3)`` or ``f(x, (2, 3))``."""
    if len(values) == 1 and isinstance(values[0], (tuple, list)):
        values = values[0]
    return tuple(_as_int(op, name, v) for v in values)


def normalize_axis(op: str, axis, ndim: int, *, scalar: bool = False) -> tuple[int, ...]:
    """Sorted non-negative axes for an ``axis`` given as None (all), an int or a tuple of ints;
    ``scalar=True``: a 0-D tensor takes 0 or -1 (PyTorch's rule), which name no axis of it."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if isinstance(a, bool) or not hasattr(a, "__index__"):
            raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}")
        a = operator.index(a)
        if not -ndim <= a < ndim and not (scalar and ndim == 0 and a in (0, -1)):
            valid = (f"valid: {-ndim} to {ndim - 1}" if ndim else "valid: -1 or 0"
                     if scalar else "it has no axes; use axis=None")
            raise ValueError(f"{op}: axis {a} is out of range for a {ndim}-D tensor ({valid})")
        out.append(a % (ndim or 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out)) if ndim else ()


def _one_axis(op: str, axis, ndim: int, scalar: bool = False) -> int:
    if axis is None or isinstance(axis, (tuple, list)):
        raise TypeError(f"{op}: axis must be a single int, got {axis!r}")
    return (normalize_axis(op, axis, ndim, scalar=scalar) or (0,))[0]


class Reshape(Function):
    complex_grad = True
    reads_inputs = False  # a view: backward moves the gradient by shape

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, g):
        return reshape(g, self.inputs[0]._data.shape)


class Permute(Function):
    complex_grad = True
    reads_inputs = False  # a view: backward moves the gradient by shape

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, g):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return Permute.apply(g, axes=tuple(inverse))


def reshape(input, *sizes, shape=None):  # noqa: A002
    """``input`` with a new shape and the same elements (a view when NumPy can make one).

    Args:
        input: a Tensor.
        sizes: the new shape as varargs or one tuple; one entry may be -1 (inferred).
        shape: the same as one tuple, by PyTorch's keyword (``reshape(x, shape=(2, -1))``).

    >>> import chainrule as cr
    >>> cr.tensor([1.0, 2.0, 3.0, 4.0]).reshape(2, -1).shape
    (2, 2)
    """
    if shape is None:
        shape = sizes[0] if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    elif sizes:
        raise TypeError(f"reshape: give the shape once, as sizes {sizes} or shape={shape}")
    old = input._data.shape if isinstance(input, Tensor) else input.shape
    size = math.prod(old)
    non_negative = True  # the common case: non-negative ints (a loop: cheaper than a comprehension)
    for s in shape:
        if type(s) is not int or s < 0:
            non_negative = False
            break
    if non_negative and math.prod(shape) == size:
        shape = tuple(shape)
    else:
        shape = _int_tuple("reshape", "each shape entry", shape)
        if shape.count(-1) > 1 or any(s < -1 for s in shape):
            raise ValueError(
                f"reshape: invalid shape {shape}: sizes must be >= 0 with at most one -1"
            )
        known = math.prod(s for s in shape if s != -1)
        unknown = -1 in shape
        if (known == 0 or size % known) if unknown else known != size:
            raise ValueError(f"reshape: cannot reshape shape {old} ({size} elements) to {shape}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    if shape == old:
        return input
    return Reshape.apply(input, shape=shape)


def permute(input, *axes, dims=None):  # noqa: A002
    """``input`` with its axes reordered: output axis i is input axis ``axes[i]`` (a view);
    ``dims=`` (a tuple) is PyTorch's keyword for the order.

    Shape:
        ``(d_0, ..., d_{n-1}) -> (d_axes[0], ..., d_axes[n-1])``
    """
    if dims is not None:
        if axes:
            raise TypeError(f"permute: give the order once, as axes {axes} or dims={dims}")
        axes = (dims,)
    axes = _int_tuple("permute", "each axis", axes)
    n = input.ndim
    if len(axes) != n or not all(-n <= a < n for a in axes) or len({a % n for a in axes}) != n:
        raise ValueError(
            f"permute: axes {axes} are not a permutation of the {input.ndim} axes of shape "
            f"{input.shape}"
        )
    axes = tuple(a % input.ndim for a in axes)
    if axes == tuple(range(input.ndim)):
        return input
    return Permute.apply(input, axes=axes)


def transpose(input, axis0: int = None, axis1: int = None, *, dim0=None, dim1=None):  # noqa: A002
    """``input`` with axes ``axis0`` and ``axis1`` (PyTorch's ``dim0``/``dim1``) swapped."""
    axis0 = dim_or_axis("transpose", axis0, dim0)
    axis1 = dim_or_axis("transpose", axis1, dim1)
    a = _one_axis("transpose", axis0, input.ndim, True)  # 0-D: 0 or -1, PyTorch's
    b = _one_axis("transpose", axis1, input.ndim, True)
    axes = list(range(input.ndim or 1))
    axes[a], axes[b] = axes[b], axes[a]
    return permute(input, axes[:input.ndim])


def flatten(input, start_axis: int = None, end_axis: int = None,  # noqa: A002 - PyTorch's name
            *, start_dim=None, end_dim=None):
    """Merge axes ``start_axis`` to ``end_axis`` (both included) into one, like ``torch.flatten``.

    ``start_dim``/``end_dim`` are PyTorch's names for the two (defaults 0 and -1).

    Shape:
        ``(2, 3, 4, 5)`` with ``start_axis=1`` -> ``(2, 60)``; a 0-d tensor becomes shape ``(1,)``.
    """
    start_axis = dim_or_axis("flatten", start_axis, start_dim, 0)
    end_axis = dim_or_axis("flatten", end_axis, end_dim, -1)
    if input.ndim == 0:  # dims 0 and -1 only, as PyTorch's
        _one_axis("flatten", start_axis, 0, True), _one_axis("flatten", end_axis, 0, True)
        return reshape(input, 1)
    s = _one_axis("flatten", start_axis, input.ndim)
    e = _one_axis("flatten", end_axis, input.ndim)
    if s > e:
        raise ValueError(
            f"flatten: start_axis {start_axis} comes after end_axis {end_axis} for shape "
            f"{input.shape}"
        )
    shape = input.shape
    return reshape(input, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


def squeeze(input, axis=None, *, dim=None):  # noqa: A002
    """Remove axes of size 1: all of them (``axis=None``) or those of the given ones that are 1.

    A given axis whose size is not 1 is left as it is, as in PyTorch (NumPy would raise).
    """
    axis = dim_or_axis("squeeze", axis, dim)
    axes = normalize_axis("squeeze", axis, input.ndim, scalar=True)
    axes = tuple(a for a in axes if input.shape[a] == 1)
    if not axes:
        return input
    return reshape(input, tuple(n for i, n in enumerate(input.shape) if i not in axes))


def unsqueeze(input, axis=None, *, dim=None):  # noqa: A002
    """Insert axes of size 1 so that they sit at ``axis`` (an int or tuple) of the result.

    ``dim`` is PyTorch's name for ``axis``.
    """
    axis = dim_or_axis("unsqueeze", axis, dim)
    if axis is None:
        raise TypeError("unsqueeze: give the axis (dim) at which to insert, e.g. unsqueeze(x, 0)")
    new = len(axis) if isinstance(axis, (tuple, list)) else 1
    axes = normalize_axis("unsqueeze", axis, input.ndim + new)
    dims = iter(input.shape)
    out_shape = tuple(1 if i in axes else next(dims) for i in range(input.ndim + len(axes)))
    return reshape(input, out_shape)


# Broadcasting and its adjoint: the one place where a gradient is summed back to its input's
# shape (every broadcasting op's backward calls sum_to; Sum's backward is a broadcast_to).


def _reduced_axes(big: tuple[int, ...], small: tuple[int, ...]) -> tuple[int, ...]:
    """Axes of ``big`` that broadcasting from ``small`` created or stretched."""
    lead = len(big) - len(small)
    axes = list(range(lead))
    axes += [lead + i for i, n in enumerate(small) if n == 1 and big[lead + i] != 1]
    return tuple(axes)


class SumTo(Function):
    """Sum a broadcast gradient back down to ``shape`` (the adjoint of broadcasting)."""

    complex_grad = True

    def forward(self, x):
        axes = _reduced_axes(x.shape, self.shape)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(self.shape)

    def backward(self, g):
        return broadcast_to(g, self.inputs[0].shape)


class BroadcastTo(Function):
    complex_grad = True

    def forward(self, x):
        return get_array_module(x).broadcast_to(x, self.shape)

    def backward(self, g):
        return sum_to(g, self.inputs[0].shape)


def sum_to(x, shape):
    """Sum ``x`` over its broadcast axes so that it has ``shape`` (identity when it already has)."""
    shape = tuple(shape)
    if (x._data.shape if isinstance(x, Tensor) else x.shape) == shape:
        return x
    return SumTo.apply(x, shape=shape)


def broadcast_to(x, shape):
    """Broadcast ``x`` to ``shape`` like NumPy (a read-only view); the gradient is summed back."""
    shape = tuple(shape)
    have = x._data.shape if isinstance(x, Tensor) else x.shape
    if have == shape:
        return x
    try:
        numpy.broadcast_shapes(have, shape)  # shapes only: NumPy's rule serves every device
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {have} to {shape}") from None
    return BroadcastTo.apply(x, shape=shape)


def _convert_index(index, xp):
    """Turn Tensors and lists inside an index into arrays of ``xp``; note whether any is integer."""
    items = index if isinstance(index, tuple) else (index,)
    out, has_int_array = [], False
    for i in items:
        if isinstance(i, Tensor):
            i = i._data
        i = uint8_as_mask(i)  # PyTorch's (deprecated) byte mask
        if isinstance(i, list):
            i = xp.asarray(i) if i else xp.zeros(0, dtype=xp.intp)
        elif getattr(i, "shape", None) == () and i.dtype.kind in "iu":
            i = int(i)  # a 0-d integer array indexes like an int: basic indexing, a view
        elif hasattr(i, "dtype") and hasattr(i, "shape") and type(i) is not MetaArray:
            i = xp.asarray(i)
        if getattr(i, "ndim", 0) > 0 and i.dtype.kind in "iu":
            has_int_array = True
        out.append(i)
    return (tuple(out) if isinstance(index, tuple) else out[0]), has_int_array


class GetItem(Function):
    """``x[index]``. An integer Tensor used as the whole index (an embedding's ids, an argmax) is
    the node's second input rather than a setting, so that ``cr.trace`` reads it again at every
    call. ``rows``: (who, n) to check such ids against ``0 <= id < n`` here, in the op, where a
    trace runs it too (``nn.Embedding``)."""

    complex_grad = True
    reads_inputs = False  # backward scatters the gradient by position

    rows = None

    def forward(self, x, ids=None):
        if ids is not None:
            if self.rows is not None:
                _check_rows(ids, *self.rows)
            # a 0-d id indexes like an int, as in PyTorch: a view; an embedding's (rows) copies
            # its row as PyTorch's, so that a later change to the weight leaves the output alone
            self.index = int(ids) if ids.ndim == 0 and self.rows is None else ids
        out = x[self.index]
        if isinstance(out, numpy.generic):  # NumPy's one element is a copy; PyTorch's a 0-d view
            out = x[(*self.index, ...) if isinstance(self.index, tuple) else (self.index, ...)]
        return out

    def backward(self, g):
        x = self.inputs[0]
        gx = ScatterAdd.apply(g, index=self.index, shape=x.shape, accumulate=self.accumulate)
        return gx if len(self.inputs) == 1 else (gx, None)


class _IdRangeError(IndexError):
    """An id outside ``rows``: its message is complete, ``getitem`` passes it on as it is."""


def _check_rows(ids, who, n):
    if ids.size:
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= n:
            bad = low if low < 0 else high
            raise _IdRangeError(f"{who}: id {bad} is out of range for {n} embeddings (valid ids "
                                f"are 0 to {n - 1}); ids of shape {ids.shape}")


class ScatterAdd(Function):
    """The adjoint of indexing: zeros of ``shape`` with ``g`` added at ``index``."""

    complex_grad = True

    def forward(self, g):
        if self.accumulate:
            # An integer-array index may repeat a position; plain assignment would keep only one.
            return K.scatter_add(g, self.index, self.shape)
        out = get_array_module(g).zeros(self.shape, dtype=g.dtype)
        out[self.index] = g
        return out

    def backward(self, gg):
        return GetItem.apply(gg, index=self.index, accumulate=self.accumulate)


def getitem(x, index, *, rows=None):
    """``x[index]``: ints, slices, None, Ellipsis, integer arrays, boolean masks.

    NumPy's rules, but an int beside an array selects first, as in PyTorch (``ints_first``), and a
    list holding sequences is a tuple, as PyTorch 2.13 reads it (``sequence_as_tuple``).
    Basic indexing returns a view. Integer arrays (Tensors, arrays or lists) may repeat positions:
    their gradients add up.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> x[[0, 0, 2]].sum().backward()
    >>> x.grad.tolist()
    [2.0, 0.0, 1.0]

    ``rows=(who, n)``: integer Tensor ids in [0, n), checked in the op (``nn.Embedding``).
    """
    xp = get_array_module(x._data)
    ids = index if isinstance(index, Tensor) and index._data.dtype.kind in "iu" and \
        index._data.dtype.itemsize + (index._data.dtype.kind == "i") > 1 else None  # not uint8
    index, accumulate = _convert_index(sequence_as_tuple(index), xp)
    index = drop_empty_ellipsis(index, x._data.ndim)
    if accumulate or isinstance(index, tuple):
        steps = ints_first(index)
        if steps is not None:  # PyTorch's order: the ints select first, then the arrays
            return getitem(getitem(x, steps[0]), steps[1])
    try:
        if ids is not None and get_array_module(ids._data) is xp:
            return GetItem.apply(x, ids, index=None, accumulate=accumulate, rows=rows)
        if rows is not None:  # not the ids path (another device): check them here instead
            _check_rows(xp.asarray(index), *rows)
        return GetItem.apply(x, index=index, accumulate=accumulate)
    except _IdRangeError:
        raise
    except IndexError as e:
        shown = repr(index) if len(repr(index)) <= 80 else repr(index)[:77] + "..."
        raise IndexError(f"getitem: {e} (tensor shape {x.shape}, index {shown})") from None


def _iter(self):
    for i in range(len(self)):
        yield getitem(self, i)


Tensor.reshape = reshape
Tensor.view = reshape
Tensor.permute = permute
Tensor.transpose = transpose
Tensor.flatten = flatten
Tensor.squeeze = squeeze
Tensor.unsqueeze = unsqueeze
Tensor.broadcast_to = broadcast_to
Tensor.__getitem__ = getitem
Tensor.__iter__ = _iter
Tensor.T = property(lambda self: Permute.apply(self, axes=tuple(range(self._data.ndim))[::-1]),
                    doc="This tensor with all axes reversed (a view).")


def _mT(self):  # noqa: N802 - named like torch.Tensor.mT
    """This tensor with its last two axes swapped (a view); needs at least 2 dimensions."""
    if self.ndim < 2:
        raise ValueError(f"mT: needs a tensor with at least 2 dimensions, got shape {self.shape}")
    return transpose(self, -2, -1)


Tensor.mT = property(_mT)
