"""Joining and cutting tensors: concat (``cat``), stack, split, and pad.

Each is the other's adjoint where it can be: the gradient of a concat is a split of the gradient
and that of a split is a concat, so both differentiate to any order. A constant pad's gradient is
the slice of the gradient that covers the input; reflect and edge pads are indexing (``getitem``),
whose gradient adds up the copies.
"""

from __future__ import annotations

import itertools

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._args import dim_or_axis
from ._promotion import promoted_all
from .shape import _as_int, _one_axis, getitem, reshape

__all__ = ["cat", "concat", "pad", "split", "stack"]


def _check_same_shapes(op, tensors, axis):
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    first = tensors[0].shape
    for t in tensors[1:]:
        if len(t.shape) != len(first) or any(
            m != n for i, (m, n) in enumerate(zip(t.shape, first, strict=True)) if i != axis
        ):
            where = "" if axis is None else f" except along axis {axis}"
            raise ValueError(f"{op}: shapes must match{where}, got {first} and {t.shape}")


class Concat(Function):
    complex_grad = True
    reads_inputs = False  # backward splits the gradient by the inputs' shapes

    def forward(self, *xs):
        return get_array_module(*xs).concatenate(xs, axis=self.axis)

    def backward(self, g):
        return split(g, [x.shape[self.axis] for x in self.inputs], self.axis)


class Stack(Function):
    complex_grad = True
    reads_inputs = False  # backward splits the gradient by the inputs' shapes

    def forward(self, *xs):
        return get_array_module(*xs).stack(xs, axis=self.axis)

    def backward(self, g):
        pieces = split(g, 1, self.axis)
        return tuple(reshape(p, x.shape) for p, x in zip(pieces, self.inputs, strict=True))


class Split(Function):
    complex_grad = True

    def forward(self, x):
        return tuple(get_array_module(x).split(x, self.cuts, axis=self.axis))

    def backward(self, *gs):
        return concat(gs, self.axis)


def _tensor_list(op, tensors):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got {type(tensors).__name__}")
    out = [t if isinstance(t, Tensor) else Tensor(get_array_module(t).asarray(t)) for t in tensors]
    if len({t._data.dtype for t in out}) > 1:  # PyTorch's promotion: int64 with float32 is float32
        out = list(promoted_all(*out))
    return out


def concat(tensors, axis: int = None, *, dim=None):
    """Join tensors along an existing axis (default 0; ``dim`` is PyTorch's name for it).

    Their shapes must agree on every other axis.

    Shape:
        ``(2, 3)`` and ``(4, 3)`` with ``axis=0`` -> ``(6, 3)``
    """
    axis = dim_or_axis("concat", axis, dim, 0)
    tensors = _tensor_list("concat", tensors)
    if any(t.shape == (0,) for t in tensors) and any(t.shape != (0,) for t in tensors):
        # PyTorch's legacy rule: a 1-D empty tensor is skipped (``out = torch.tensor([])`` grown
        # by ``cat([out, x])``), after it took part in the dtype promotion above
        tensors = [t for t in tensors if t.shape != (0,)]
    if tensors and tensors[0].ndim == 0:
        raise ValueError("concat: zero-dimensional tensors cannot be concatenated; use stack")
    ax = _one_axis("concat", axis, tensors[0].ndim) if tensors else 0
    _check_same_shapes("concat", tensors, ax)
    return Concat.apply(*tensors, axis=ax)


cat = concat


def stack(tensors, axis: int = None, *, dim=None):
    """Join tensors of one shape along a new axis ``axis`` (default 0; or PyTorch's ``dim``).

    Shape:
        n tensors of shape ``(2, 3)`` with ``axis=1`` -> ``(2, n, 3)``
    """
    axis = dim_or_axis("stack", axis, dim, 0)
    tensors = _tensor_list("stack", tensors)
    _check_same_shapes("stack", tensors, None)
    ax = _one_axis("stack", axis, tensors[0].ndim + 1)
    return Stack.apply(*tensors, axis=ax)


def split(tensor, split_size_or_sections, axis: int = None, *, dim=None):
    """Split ``tensor`` along ``axis`` into views, like ``torch.split``.

    Args:
        x: a Tensor of at least one dimension.
        split_size_or_sections: an int chunk size (the last chunk may be smaller) or a list of
            sizes that add up to ``x.shape[axis]``.
        axis: the axis to split (default 0; ``dim`` is PyTorch's name for it).

    Returns:
        A tuple of Tensors.
    """
    axis = dim_or_axis("split", axis, dim, 0)
    ax = _one_axis("split", axis, tensor.ndim)
    n = tensor.shape[ax]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [_as_int("split", "each section", s) for s in split_size_or_sections]
        if not sizes or any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ValueError(
                f"split: sections {sizes} must be non-negative and add up to {n}, the size of axis "
                f"{ax} of shape {tensor.shape}"
            )
    else:
        size = _as_int("split", "split_size_or_sections", split_size_or_sections)
        if size < 0 or (size == 0 and n):  # 0 splits an empty axis into one piece, as PyTorch's
            raise ValueError(f"split: split size must be positive, got {size} (0 splits only an "
                             f"empty axis; axis {ax} has size {n})")
        sizes = [min(size, n - start) for start in range(0, n, size or 1)] or [0]
    cuts = list(itertools.accumulate(sizes[:-1]))
    return Split.apply(tensor, cuts=cuts, axis=ax)


def _pad_pairs(pad_width, ndim):
    """NumPy's pad_width forms (n, (b, a), ((b0, a0), ...)) as one (before, after) pair per axis."""
    bad = ValueError(
        f"pad: pad_width must be an int, a (before, after) pair or one pair per axis ({ndim}), "
        f"with non-negative ints, got {pad_width!r}"
    )
    if hasattr(pad_width, "tolist"):
        pad_width = pad_width.tolist()
    if not isinstance(pad_width, (tuple, list)):
        pad_width = (pad_width,)
    if pad_width and all(not isinstance(p, (tuple, list)) for p in pad_width):
        pad_width = (tuple(pad_width),)
    pairs = [tuple(p) if isinstance(p, (tuple, list)) else () for p in pad_width]
    if len(pairs) == 1:
        pairs = pairs * ndim
    pairs = [p * 2 if len(p) == 1 else p for p in pairs]
    if len(pairs) != ndim or any(len(p) != 2 for p in pairs):
        raise bad
    try:
        pairs = [(_as_int("pad", "pad_width", b), _as_int("pad", "pad_width", a)) for b, a in pairs]
    except TypeError:
        raise bad from None
    if any(b < 0 or a < 0 for b, a in pairs):
        raise bad
    return pairs


class ConstantPad(Function):
    complex_grad = True

    def forward(self, x):
        return get_array_module(x).pad(x, self.pairs, mode="constant", constant_values=self.value)

    def backward(self, g):
        shape = self.inputs[0].shape
        return g[tuple(slice(b, b + n) for (b, _), n in zip(self.pairs, shape, strict=True))]


def _source_positions(xp, n, before, after, mode):
    """For each output position along one axis, the input position that reflect/edge mode copies."""
    p = xp.arange(-before, n + after)
    if mode == "wrap":  # circular: the other end's values
        return p % n
    if mode == "edge" or n == 1:
        return xp.clip(p, 0, n - 1)
    period = 2 * (n - 1)
    p = p % period
    return xp.where(p >= n, period - p, p)


def pad(x, pad_width, mode: str = "constant", value: float = 0.0):
    """Pad ``x`` with NumPy's ``pad_width`` convention.

    Args:
        x: a Tensor.
        pad_width: an int, a (before, after) pair for every axis, or one pair per axis.
        mode: "constant" (fill with ``value``), "reflect" (mirror, not repeating the edge),
            "edge" (repeat the edge) or "wrap" (circular: continue from the other end).
        value: the fill value of constant mode.

    Shape:
        ``(d_0, ...) -> (b_0 + d_0 + a_0, ...)``
    """
    if mode not in ("constant", "reflect", "edge", "wrap"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'edge' or 'wrap', got "
                         f"{mode!r}")
    pairs = _pad_pairs(pad_width, x.ndim)
    if mode == "constant" or not any(b or a for b, a in pairs):
        # with nothing to pad, a new copy all the same (NumPy's and PyTorch's), never x itself:
        # a later in-place change of either would have changed the other
        return ConstantPad.apply(x, pairs=pairs, value=value if mode == "constant" else 0)
    xp = get_array_module(x._data)
    for ax, (b, a) in enumerate(pairs):
        if b == a == 0:
            continue
        if x.shape[ax] == 0:
            raise ValueError(f"pad: {mode} mode cannot pad axis {ax} of size 0 (shape {x.shape})")
        src = _source_positions(xp, x.shape[ax], b, a, mode)
        x = getitem(x, (slice(None),) * ax + (src,))
    return x
