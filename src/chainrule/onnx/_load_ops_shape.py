"""ONNX operators that move, select or count entries: reshapes, slicing, gathering, the shape
arithmetic exporters emit for dynamic axes (evaluated on concrete integer arrays), reductions.
"""

from __future__ import annotations

import math

from .. import ops
from ..autograd.function import nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module, numpy
from ._load_ops import const, ints, is_float, op, scalar

__all__: list[str] = []


def _axis(axis, ndim, who):
    if not -ndim <= axis < ndim:
        raise ValueError(f"{who}: axis {axis} is out of range for a tensor of rank {ndim}")
    return axis % ndim


def _shape_tensor(shape) -> Tensor:
    return Tensor(numpy.asarray(shape, dtype=numpy.int64))


@op("Reshape", const=(1,))
def _reshape(ctx, attrs, x, shape):
    target = list(ints(shape))
    if not attrs.get("allowzero", 0):  # 0 copies the input's dimension at that position
        target = [x.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return ops.reshape(x, tuple(target))


@op("Flatten")
def _flatten(ctx, attrs, x):
    axis = attrs.get("axis", 1)
    axis = axis + x.ndim if axis < 0 else axis
    return ops.reshape(x, (math.prod(x.shape[:axis]), math.prod(x.shape[axis:])))


@op("Transpose")
def _transpose(ctx, attrs, x):
    perm = attrs.get("perm") or tuple(reversed(range(x.ndim)))
    return ops.permute(x, tuple(perm))


def _axes(ctx, attrs, axes_input, since):
    """Axes from the attribute (before opset ``since``) or the optional input (from it)."""
    if ctx.opset < since:
        return attrs.get("axes")
    return None if axes_input is None else ints(axes_input)


@op("Squeeze", const=(1,))
def _squeeze(ctx, attrs, x, axes=None):
    axes = _axes(ctx, attrs, axes, 13)
    if axes is None:
        axes = [i for i, d in enumerate(x.shape) if d == 1]
    axes = {_axis(a, x.ndim, "Squeeze") for a in axes}
    bad = [a for a in axes if x.shape[a] != 1]
    if bad:
        raise ValueError(f"Squeeze: axes {bad} of shape {tuple(x.shape)} are not of size 1")
    return ops.reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in axes))


@op("Unsqueeze", const=(1,))
def _unsqueeze(ctx, attrs, x, axes=None):
    axes = _axes(ctx, attrs, axes, 13)
    rank = x.ndim + len(axes)
    axes = {_axis(a, rank, "Unsqueeze") for a in axes}
    dims = iter(x.shape)
    return ops.reshape(x, tuple(1 if i in axes else next(dims) for i in range(rank)))


@op("Concat")
def _concat(ctx, attrs, *xs):
    xs = [x for x in xs if x is not None]
    if not any(is_float(x) for x in xs):
        return nondiff(lambda *a: get_array_module(*a).concatenate(a, attrs["axis"]), *xs)
    return ops.concat(xs, axis=attrs["axis"])


@op("Split", const=(1,))
def _split(ctx, attrs, x, split=None):
    axis = _axis(attrs.get("axis", 0), x.ndim, "Split")
    n = attrs["_n_outputs"]
    sizes = attrs.get("split") if ctx.opset < 13 else (None if split is None else ints(split))
    if sizes is None:
        dim = x.shape[axis]
        if "num_outputs" in attrs:  # opset 18: equal pieces of ceil(dim / n), the last smaller
            step = -(-dim // n)
            sizes = [min(step, dim - i * step) for i in range(n)]
        elif dim % n:
            raise ValueError(f"Split: axis {axis} of length {dim} does not split into {n} equal "
                             "parts")
        else:
            sizes = [dim // n] * n
    if sum(sizes) != x.shape[axis]:
        raise ValueError(f"Split: sizes {list(sizes)} do not add up to axis {axis} of shape "
                         f"{tuple(x.shape)}")
    bounds = numpy.cumsum([0, *sizes]).tolist()
    lead = (slice(None),) * axis
    return tuple(x[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:], strict=True))


def _slice_of(start, end, step, dim):
    """ONNX's clamping rules for one axis as a Python slice."""
    if step == 0:
        raise ValueError("Slice: steps must not be 0")
    start = start + dim if start < 0 else start
    end = end + dim if end < 0 else end
    if step > 0:
        return slice(min(max(start, 0), dim), min(max(end, 0), dim), step)
    start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return slice(start, None if end < 0 else end, step)


@op("Slice", const=(1, 2, 3, 4))
def _slice(ctx, attrs, x, starts, ends, axes=None, steps=None):
    starts, ends = ints(starts), ints(ends)
    axes = range(len(starts)) if axes is None else ints(axes)
    steps = (1,) * len(starts) if steps is None else ints(steps)
    index = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis = _axis(axis, x.ndim, "Slice")
        index[axis] = _slice_of(start, end, step, x.shape[axis])
    return x[tuple(index)]


def _indices(index, dim, who):
    """Indices with ONNX's negative values counted from the end, checked against ``dim``."""
    xp = get_array_module(index._data)
    idx = index._data.astype(xp.int64)
    if idx.size and (int(idx.min()) < -dim or int(idx.max()) >= dim):
        raise IndexError(f"{who}: an index is out of range for an axis of length {dim} "
                         f"(indices from {int(idx.min())} to {int(idx.max())})")
    return xp.where(idx < 0, idx + dim, idx)


@op("Gather")
def _gather(ctx, attrs, x, index):
    axis = _axis(attrs.get("axis", 0), x.ndim, "Gather")
    idx = _indices(index, x.shape[axis], "Gather")
    if not is_float(x):
        return nondiff(lambda a: get_array_module(a).take(a, idx, axis=axis), x)
    if idx.ndim == 0:
        return x[(slice(None),) * axis + (int(idx),)]
    return x[(slice(None),) * axis + (idx,)]


@op("GatherElements")
def _gather_elements(ctx, attrs, x, index):
    axis = _axis(attrs.get("axis", 0), x.ndim, "GatherElements")
    idx = Tensor(_indices(index, x.shape[axis], "GatherElements"))
    if not is_float(x):
        return nondiff(lambda a: get_array_module(a).take_along_axis(a, idx._data, axis), x)
    return ops.gather(x, axis, idx)


@op("TopK", const=(1,))
def _top_k(ctx, attrs, x, k):
    """The k largest (or smallest) along ``axis``, sorted, ties in index order (ONNX's rule)."""
    axis, largest = _axis(attrs.get("axis", -1), x.ndim, "TopK"), bool(attrs.get("largest", 1))
    (count,) = ints(k)
    if is_float(x):
        return tuple(ops.topk(x, count, axis, largest))
    index = ops.argsort(x, axis, descending=largest)  # stable: ties keep their order
    index = index[(slice(None),) * axis + (slice(0, count),)]
    return nondiff(lambda a, i: get_array_module(a).take_along_axis(a, i, axis), x, index), index


@op("Shape", const=(0,))
def _shape(ctx, attrs, x):
    start, end = attrs.get("start", 0), attrs.get("end")
    return _shape_tensor(x.shape[slice(start, end)])


@op("Size", const=(0,))
def _size(ctx, attrs, x):
    return Tensor(numpy.asarray(math.prod(x.shape), dtype=numpy.int64))


@op("ConstantOfShape", const=(0,))
def _constant_of_shape(ctx, attrs, shape):
    value = attrs.get("value")
    value = numpy.zeros(1, dtype=numpy.float32) if value is None else value
    return const(ctx, numpy.full(ints(shape), value.reshape(-1)[0], dtype=value.dtype))


@op("Range", const=(0, 1, 2))
def _range(ctx, attrs, start, limit, delta):
    dtype = start._data.dtype
    values = numpy.arange(scalar(start), scalar(limit), scalar(delta))
    return const(ctx, values.astype(dtype))


@op("Expand", const=(1,))
def _expand(ctx, attrs, x, shape):
    target = numpy.broadcast_shapes(tuple(x.shape), ints(shape))
    if not is_float(x):
        return nondiff(lambda a: get_array_module(a).broadcast_to(a, target).copy(), x)
    return ops.broadcast_to(x, target)


@op("Tile", const=(1,))
def _tile(ctx, attrs, x, repeats):
    reps = ints(repeats)
    if not is_float(x):
        return nondiff(lambda a: get_array_module(a).tile(a, reps), x)
    return ops.tile(x, *reps)


# What a reduction over no axes (noop_with_empty_axes) leaves: its elementwise part, as
# onnxruntime and ONNX's reference implementation compute it (|x| for ReduceL2, not x).
_NOOP = {"ReduceSumSquare": lambda x: x * x, "ReduceL1": ops.abs, "ReduceL2": ops.abs,
         "ReduceLogSum": ops.log}


_OF_NOTHING = ("ReduceMax", "ReduceMin", "ReduceMean")


def _of_nothing(name, x, axes, keep):
    """A max, min or mean over no values: ONNX's -inf and +inf (an integer type's extremes), and
    onnxruntime's 0 for the mean, where chainrule's ops refuse an empty reduction."""
    xp = get_array_module(x._data)
    info = (xp.finfo if is_float(x) else xp.iinfo)(x._data.dtype)
    value = {"ReduceMax": -xp.inf if is_float(x) else info.min,
             "ReduceMin": xp.inf if is_float(x) else info.max, "ReduceMean": 0}[name]
    shape = [1 if a in axes else n for a, n in enumerate(x.shape) if keep or a not in axes]
    return Tensor(xp.full(shape, value, dtype=x._data.dtype))


def _reduce(name, since, fn, int_fn):
    def evaluate(ctx, attrs, x, axes=None):
        axes = _axes(ctx, attrs, axes, since)
        keep = bool(attrs.get("keepdims", 1))
        if not axes:
            if attrs.get("noop_with_empty_axes", 0):
                if not is_float(x):  # a reduction over no axes: x's dtype, as onnxruntime's
                    return nondiff(lambda a: int_fn(a, axis=(), keepdims=True), x)
                return _NOOP.get(name, lambda t: t)(x)
            axes = tuple(range(x.ndim))
        axes = tuple(sorted({_axis(a, x.ndim, "Reduce") for a in axes}))
        if name in _OF_NOTHING and any(x.shape[a] == 0 for a in axes):
            return _of_nothing(name, x, axes, keep)
        if not is_float(x):
            return nondiff(lambda a: int_fn(a, axis=axes, keepdims=keep), x)
        return fn(x, axes, keep)
    return evaluate


def _sum_square(x, axes, keep):
    return ops.sum(x * x, axis=axes, keepdims=keep)


def _float_prod(x, axes, keep):
    for axis in reversed(axes):
        x = ops.prod(x, axis, keep)
    return x


def _in_float(fn):
    """An integer reduction computed in float64 and truncated toward zero, as onnxruntime's
    (ReduceMean of [1, -2, 4] is 1, ReduceL2 of [1, 2, 4] is 4)."""
    def reduce(a, axis, keepdims):
        xp = get_array_module(a)
        with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return xp.trunc(fn(xp, a.astype("float64"), axis, keepdims)).astype(a.dtype)
    return reduce


def _int_log_sum_exp(xp, a, axis, keepdims):
    top = a.max(axis=axis, keepdims=True, initial=-xp.inf)  # -inf over no values
    out = top + xp.log(xp.exp(a - top).sum(axis=axis, keepdims=True))
    return out if keepdims else xp.squeeze(out, axis)


_REDUCTIONS = {
    "ReduceSum": (13, lambda x, a, k: ops.sum(x, axis=a, keepdims=k), numpy.sum),
    "ReduceMean": (18, lambda x, a, k: ops.mean(x, axis=a, keepdims=k),
                   _in_float(lambda xp, a, ax, k: a.mean(axis=ax, keepdims=k))),
    "ReduceMax": (18, lambda x, a, k: ops.amax(x, a, k), numpy.max),
    "ReduceMin": (18, lambda x, a, k: ops.amin(x, a, k), numpy.min),
    "ReduceProd": (18, _float_prod, numpy.prod),
    "ReduceSumSquare": (18, _sum_square, lambda a, axis, keepdims: (a * a).sum(axis, None,
                                                                               None, keepdims)),
    "ReduceL1": (18, lambda x, a, k: ops.sum(ops.abs(x), axis=a, keepdims=k),
                 lambda a, axis, keepdims: abs(a).sum(axis, None, None, keepdims)),
    "ReduceL2": (18, lambda x, a, k: ops.sqrt(_sum_square(x, a, k)),
                 _in_float(lambda xp, a, ax, k: xp.sqrt((a * a).sum(axis=ax, keepdims=k)))),
    "ReduceLogSumExp": (18, lambda x, a, k: ops.logsumexp(x, axis=a, keepdims=k),
                        _in_float(_int_log_sum_exp)),
    "ReduceLogSum": (18, lambda x, a, k: ops.log(ops.sum(x, axis=a, keepdims=k)),
                     _in_float(lambda xp, a, ax, k: xp.log(a.sum(axis=ax, keepdims=k)))),
}


def _int_reduce(name, fn):
    def reduce(a, axis, keepdims):
        if fn is None:
            raise TypeError(f"{name}: integer input is not supported, got dtype {a.dtype}")
        return fn(a, axis=axis, keepdims=keepdims).astype(a.dtype)
    return reduce


for _name, (_since, _fn, _int) in _REDUCTIONS.items():
    op(_name, const=(1,))(_reduce(_name, _since, _fn, _int_reduce(_name, _int)))


def _arg(largest):
    def evaluate(ctx, attrs, x):
        axis = _axis(attrs.get("axis", 0), x.ndim, "ArgMax" if largest else "ArgMin")
        keep, last = bool(attrs.get("keepdims", 1)), bool(attrs.get("select_last_index", 0))

        def pick(a):
            xp = get_array_module(a)
            a = xp.flip(a, axis) if last else a
            i = xp.argmax(a, axis=axis) if largest else xp.argmin(a, axis=axis)
            i = a.shape[axis] - 1 - i if last else i
            return (xp.expand_dims(i, axis) if keep else i).astype(xp.int64)
        return nondiff(pick, x)
    return evaluate


op("ArgMax", const=(0,))(_arg(True))
op("ArgMin", const=(0,))(_arg(False))


@op("Trilu", const=(1,))
def _trilu(ctx, attrs, x, k=None):
    k = 0 if k is None else int(scalar(k))
    upper = bool(attrs.get("upper", 1))
    if not is_float(x):
        xp = get_array_module(x._data)
        return nondiff(lambda a: xp.triu(a, k) if upper else xp.tril(a, k), x)
    return ops.triu(x, k) if upper else ops.tril(x, k)


@op("CumSum", const=(1,))
def _cumsum(ctx, attrs, x, axis):
    axis = _axis(int(scalar(axis)), x.ndim, "CumSum")
    reverse = attrs.get("reverse", 0)
    if reverse:
        x = ops.flip(x, (axis,))
    n = x.shape[axis]
    if attrs.get("exclusive", 0) and n:
        # The sums of the entries before each one: shifted by one, not the inclusive sums minus
        # the entry (inf - inf would be NaN, and a large entry would swallow the small ones).
        head = ops.cumsum(x[(slice(None),) * axis + (slice(0, n - 1),)], axis)
        y = ops.pad(head, [(1, 0) if a == axis else (0, 0) for a in range(x.ndim)])
    else:
        y = ops.cumsum(x, axis)
    if y.dtype != x.dtype:  # chainrule sums integers in int64 (PyTorch's), ONNX in x's dtype
        y = y.astype(x.dtype)
    return ops.flip(y, (axis,)) if reverse else y
