"""ONNX operators that write at indices or work on bits: ScatterElements, ScatterND, GatherND,
BitShift and BitwiseAnd/Or/Xor/Not. Negative indices count from the end, as ONNX says;
out-of-range ones are errors."""

from __future__ import annotations

from .. import ops
from ..autograd.function import nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.torch_scatter import index_put
from ._load_ops import is_float, op
from ._load_ops_shape import _axis, _indices

__all__: list[str] = []

# ONNX's reduction -> scatter_reduce's (none and add are scatter and scatter_add).
_REDUCE = {"mul": "prod", "max": "amax", "min": "amin"}


def _scatter_check(attrs, n_inputs, used, opset):
    reduction = attrs.get("reduction", "none")
    return None if reduction in ("none", "add", *_REDUCE) else f"reduction={reduction!r}"


@op("ScatterElements", check=_scatter_check)
def _scatter_elements(ctx, attrs, data, index, updates):
    axis = _axis(attrs.get("axis", 0), data.ndim, "ScatterElements")
    idx = Tensor(_indices(index, data.shape[axis], "ScatterElements"))
    reduction = attrs.get("reduction", "none")
    if reduction == "none":
        return ops.scatter(data, axis, idx, updates)
    if reduction == "add":
        return ops.scatter_add(data, axis, idx, updates)
    return ops.scatter_reduce(data, axis, idx, updates, _REDUCE[reduction])


def _nd_index(data, index, who):
    """The tuple of index arrays that ``index`` (..., k) names into ``data``'s first k axes."""
    xp = get_array_module(index._data)
    k = index.shape[-1]
    if k > data.ndim:
        raise ValueError(f"{who}: indices of shape {tuple(index.shape)} address {k} axes of an "
                         f"input of rank {data.ndim}")
    return tuple(_indices(Tensor(xp.ascontiguousarray(index._data[..., i])), data.shape[i], who)
                 for i in range(k))


def _scatter_nd_check(attrs, n_inputs, used, opset):
    reduction = attrs.get("reduction", "none")
    return None if reduction in ("none", "add") else f"ScatterND reduction={reduction!r}"


@op("ScatterND", check=_scatter_nd_check)
def _scatter_nd(ctx, attrs, data, index, updates):
    """``data`` with ``updates`` written (or added) at the positions ``index`` names."""
    where = _nd_index(data, index, "ScatterND")
    add = attrs.get("reduction", "none") == "add"
    if not is_float(data):
        def write(a, u):
            out = a.copy()
            if add:
                get_array_module(a).add.at(out, where, u)
            else:
                out[where] = u
            return out
        return nondiff(write, data, updates)
    return index_put(data, tuple(Tensor(w) for w in where), updates, accumulate=add)


def _gather_nd_check(attrs, n_inputs, used, opset):
    return None if attrs.get("batch_dims", 0) == 0 else "GatherND batch_dims > 0"


@op("GatherND", check=_gather_nd_check)
def _gather_nd(ctx, attrs, x, index):
    where = _nd_index(x, index, "GatherND")
    if not is_float(x):
        return nondiff(lambda a: a[where], x)
    return x[where] if where else x * 1


def _bit_shift_check(attrs, n_inputs, used, opset):
    direction = attrs.get("direction")
    return None if direction in ("LEFT", "RIGHT") else f"BitShift direction={direction!r}"


@op("BitShift", const=(0, 1), check=_bit_shift_check)
def _bit_shift(ctx, attrs, x, y):
    """Unsigned integers shifted by ``y`` bits (ONNX's BitShift takes unsigned types only)."""
    if x._data.dtype.kind != "u":
        raise TypeError(f"BitShift: the input must be an unsigned integer, got dtype "
                        f"{x._data.dtype}")
    left = attrs["direction"] == "LEFT"

    def shift(a, b):
        xp = get_array_module(a, b)
        out = xp.left_shift(a, b) if left else xp.right_shift(a, b)
        return out.astype(a.dtype)

    return nondiff(shift, x, y)


def _bitwise(ufunc):
    def evaluate(ctx, attrs, *xs):
        if any(x._data.dtype.kind not in "iu" for x in xs):
            raise TypeError(f"{ufunc}: the inputs must be integers, got dtypes "
                            f"{[str(x._data.dtype) for x in xs]}")
        return nondiff(lambda *a: getattr(get_array_module(*a), ufunc)(*a), *xs)
    return evaluate


for _name, _ufunc in (("BitwiseAnd", "bitwise_and"), ("BitwiseOr", "bitwise_or"),
                      ("BitwiseXor", "bitwise_xor"), ("BitwiseNot", "invert")):
    op(_name, const=(0, 1))(_bitwise(_ufunc))
