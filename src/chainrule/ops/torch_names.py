"""PyTorch's top-level spellings of comparisons, logical and bitwise ops, and plain aliases.

``torch.eq(a, b)``, ``torch.logical_and``, ``torch.bitwise_left_shift``, ``torch.divide``,
``torch.concatenate``, ``torch.select``... Each is a few lines over the Tensor operator or op it
names (comparisons and bitwise ops are not differentiable, as in PyTorch); the shifts and
``select`` are new here and are also Tensor methods.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ..autograd.function import Function, nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module, numpy
from ._layout import check_factory_options
from ._promotion import InFloat32, binary, promoted
from ._wide import call_in_float32
from .creation import _dtype, _leaf
from .elementwise import cast, div, maximum, minimum, mul, sub
from .join import cat
from .math import _no_int_zero, acos, asin, atan, atan2, floor_divide
from .rearrange import movedim
from .shape import _one_axis, getitem
from .shape import broadcast_to as _numpy_broadcast

__all__ = [
    "all", "any", "arccos", "arcsin", "arctan", "arctan2", "bitwise_and", "bitwise_left_shift",
    "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "broadcast_to",
    "concatenate", "detach", "divide", "eq", "ge", "greater", "greater_equal", "gt", "le", "less",
    "less_equal", "logical_and", "logical_not", "logical_or", "logical_xor", "lt", "moveaxis",
    "multiply", "ne", "not_equal", "positive", "rsub", "select", "subtract",
]


def no_out(name: str, out) -> None:
    """chainrule writes no ``out=`` tensors: refuse one rather than leave it unwritten."""
    if out is not None:
        raise TypeError(f"{name}: out= is not supported; use the returned tensor")


def tensor_input(name: str, input, arg: str = "input") -> Tensor:  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: {arg} must be a Tensor, got {type(input).__name__}")
    return input


def _binary(name: str, dunder: str):
    def op(input, other, *, out=None) -> Tensor:  # noqa: A002 - PyTorch's argument names
        no_out(name, out)
        if dunder in _REFLECTED and isinstance(other, Tensor) and not isinstance(input, Tensor):
            return getattr(other, _REFLECTED[dunder])(input)  # bitwise_and(3, t): PyTorch's
        return getattr(tensor_input(name, input), dunder)(other)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``torch.{name}``: ``input.{dunder}(other)`` elementwise, with broadcasting."
    return op


_REFLECTED = {"__and__": "__rand__", "__or__": "__ror__", "__xor__": "__rxor__"}
eq, ne = _binary("eq", "__eq__"), _binary("ne", "__ne__")
lt, le = _binary("lt", "__lt__"), _binary("le", "__le__")
gt, ge = _binary("gt", "__gt__"), _binary("ge", "__ge__")
greater, greater_equal = _binary("greater", "__gt__"), _binary("greater_equal", "__ge__")
less, less_equal = _binary("less", "__lt__"), _binary("less_equal", "__le__")
not_equal = _binary("not_equal", "__ne__")
logical_and = _binary("logical_and", "logical_and")
logical_or = _binary("logical_or", "logical_or")
logical_xor = _binary("logical_xor", "logical_xor")
bitwise_and = _binary("bitwise_and", "__and__")
bitwise_or = _binary("bitwise_or", "__or__")
bitwise_xor = _binary("bitwise_xor", "__xor__")


def _unary_alias(name, op):
    def alias(input, *, out=None) -> Tensor:  # noqa: A002
        no_out(name, out)
        return op(tensor_input(name, input))

    alias.__name__ = alias.__qualname__ = name
    alias.__doc__ = f"``torch.{name}``: ``{op.__name__}`` (NumPy's spelling)."
    return alias


arccos, arcsin, arctan = (_unary_alias("arccos", acos), _unary_alias("arcsin", asin),
                          _unary_alias("arctan", atan))


def arctan2(input, other, *, out=None) -> Tensor:  # noqa: A002
    """``torch.arctan2``: ``atan2(input, other)``, the angle of the point (other, input)."""
    no_out("arctan2", out)
    return atan2(tensor_input("arctan2", input), other)


def logical_not(input, *, out=None) -> Tensor:  # noqa: A002
    """``torch.logical_not``: True where ``input`` is zero (a boolean Tensor)."""
    no_out("logical_not", out)
    return tensor_input("logical_not", input).logical_not()


def bitwise_not(input, *, out=None) -> Tensor:  # noqa: A002
    """``torch.bitwise_not``: ``~input`` of a boolean or integer Tensor."""
    no_out("bitwise_not", out)
    return ~tensor_input("bitwise_not", input)


def _shift(name: str, ufunc: str):
    def op(input, other, *, out=None) -> Tensor:  # noqa: A002
        no_out(name, out)
        for arg, v in (("input", input), ("other", other)):
            kind = (v._data if isinstance(v, Tensor) else numpy.asarray(v)).dtype.kind
            if kind not in "biu":
                raise TypeError(f"{name}: {arg} must be an integer tensor or int, got "
                                f"{v.dtype if isinstance(v, Tensor) else type(v).__name__}")
        if isinstance(other, Tensor) and not isinstance(input, Tensor):  # shift(3, t): 3 weak
            int_beside_bool = other.dtype == bool and not isinstance(input, bool)
            input = Tensor(get_array_module(other._data).asarray(  # noqa: A001
                input, dtype="int64" if int_beside_bool else other.dtype))
        xp = get_array_module(tensor_input(name, input)._data)
        input, other = promoted(input, other)  # noqa: A001 - PyTorch's promotion
        if input.dtype == bool:
            raise TypeError(f"{name}: not implemented for two bool operands (as PyTorch's)")
        return nondiff(lambda a, b: xp.asarray(getattr(xp, ufunc)(a, b)), input, other)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"``torch.{name}`` of integer tensors (NumPy's ``{ufunc}``; a bool beside an "
                  f"integer counts as 0 or 1); not differentiable.")
    return op


bitwise_left_shift = _shift("bitwise_left_shift", "left_shift")
bitwise_right_shift = _shift("bitwise_right_shift", "right_shift")


def all(input, dim=None, keepdim: bool = False, *, out=None) -> Tensor:  # noqa: A001, A002
    """``torch.all``: whether every element (along ``dim``) is nonzero; uint8 input gives uint8,
    anything else bool, as in PyTorch."""
    return _reduce_bool("all", input, dim, keepdim, out)


def any(input, dim=None, keepdim: bool = False, *, out=None) -> Tensor:  # noqa: A001, A002
    """``torch.any``: whether some element (along ``dim``) is nonzero; uint8 input gives uint8,
    anything else bool, as in PyTorch."""
    return _reduce_bool("any", input, dim, keepdim, out)


def _reduce_bool(name, input, dim, keepdim, out):  # noqa: A002
    no_out(name, out)
    result = getattr(tensor_input(name, input), name)(dim, keepdim)
    return cast(result, "uint8") if input.dtype == numpy.uint8 else result


class _RoundedQuotient(Function):
    """Float ``a / b`` rounded toward zero (``mode="trunc"``) or by Python's floor division
    (``"floor"``, not the floor of the rounded ``a / b``); gradient 0 for both, as PyTorch's, also
    where ``b`` is 0 (going through ``a / b`` would give 0 / 0 there)."""

    def forward(self, a, b):
        xp = get_array_module(a, b)
        return xp.trunc(a / b) if self.mode == "trunc" else xp.floor_divide(a, b)

    def backward(self, g):
        xp = get_array_module(g._data)
        return tuple(Tensor(xp.zeros(x.shape, dtype=g._data.dtype)) for x in self.inputs)


def divide(input, other, *, rounding_mode=None, out=None) -> Tensor:  # noqa: A002
    """``torch.divide``/``torch.div``: true division (``/``: integers give the default float
    dtype, as in PyTorch), or rounded toward zero (``rounding_mode="trunc"``) or down
    (``"floor"``), where integers stay integers; the rounded quotients have gradient 0, as in
    PyTorch.

    >>> import chainrule as cr
    >>> cr.divide(cr.tensor([7, -7]), 2, rounding_mode="trunc").tolist()
    [3, -3]
    >>> cr.divide(cr.tensor([7, -7]), 2, rounding_mode="floor").tolist()
    [3, -4]
    """
    no_out("divide", out)
    if not isinstance(other, Tensor):  # div(3, t) is PyTorch's too
        tensor_input("divide", input)
    if rounding_mode is None:
        return div(input, other)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"divide: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")
    try:
        input, other = binary("divide", input, other, opmath=True)  # noqa: A001 - int64 // 2.0 is float32
    except InFloat32:
        return call_in_float32(divide, (input, other), {"rounding_mode": rounding_mode})
    if input.dtype.kind not in "iub":
        return _RoundedQuotient.apply(input, other, mode=rounding_mode)
    _no_int_zero(f"divide(rounding_mode={rounding_mode!r})", input._data, other._data)
    q = floor_divide(input, other)
    if rounding_mode == "floor":
        return q
    xp = get_array_module(input._data)
    fix = nondiff(lambda a, d, r: xp.asarray((r * d != a) & ((a < 0) != (d < 0))),
                  input, other, q)
    return q + cast(fix, q.dtype)


def multiply(input, other, *, out=None) -> Tensor:  # noqa: A002
    """``torch.multiply``: ``input * other`` with broadcasting."""
    no_out("multiply", out)
    return mul(tensor_input("multiply", input), other)


def subtract(input, other, *, alpha=1, out=None) -> Tensor:  # noqa: A002
    """``torch.subtract``: ``input - alpha * other`` with broadcasting."""
    no_out("subtract", out)
    return sub(tensor_input("subtract", input), other, alpha=alpha)


def rsub(input, other, *, alpha=1) -> Tensor:  # noqa: A002
    """``torch.rsub``: ``other - alpha * input`` (subtraction with the operands swapped)."""
    return sub(other, tensor_input("rsub", input), alpha=alpha)


def positive(input) -> Tensor:  # noqa: A002
    """``torch.positive``: ``input`` itself; a boolean tensor is refused, as in PyTorch."""
    if tensor_input("positive", input).dtype == numpy.bool_:
        raise TypeError("positive: the + operator on a bool tensor is not supported; "
                        "use ~ or logical_not() to invert it")
    return input


def concatenate(tensors, axis: int = 0, out=None, *, dim=None) -> Tensor:
    """``torch.concatenate``: ``cat`` along ``axis`` (``dim`` is accepted too, as in PyTorch)."""
    no_out("concatenate", out)
    return cat(tensors, axis if dim is None else dim)


def moveaxis(input, source, destination) -> Tensor:  # noqa: A002
    """``torch.moveaxis``: ``movedim``."""
    return movedim(tensor_input("moveaxis", input), source, destination)


def broadcast_to(input, size) -> Tensor:  # noqa: A002
    """``torch.broadcast_to``: ``input`` read in the shape ``size`` (a -1 keeps that size); the
    gradient is summed back. PyTorch's keyword is ``size`` (its docstring says ``shape``)."""
    tensor_input("broadcast_to", input)
    shape = tuple(size)
    lead = len(shape) - input.ndim
    if lead < 0:
        raise ValueError(f"broadcast_to: shape {shape} has fewer dimensions than the input's "
                         f"shape {tuple(input.shape)}")
    full = tuple(input.shape[i - lead] if s == -1 and i >= lead else s
                 for i, s in enumerate(shape))
    return _numpy_broadcast(input, full)


def select(input, dim: int, index: int) -> Tensor:  # noqa: A002
    """``torch.select``: the slice ``index`` along ``dim``, without that axis (a view in
    PyTorch; here a differentiable indexing op)."""
    tensor_input("select", input)
    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise TypeError(f"select: index must be an int, got {type(index).__name__}")
    axis = _one_axis("select", dim, input.ndim)
    n = input.shape[axis]
    if not -n <= index < n:
        raise IndexError(f"select: index {index} is out of range for dimension {dim} of size {n}")
    return getitem(input, (slice(None),) * axis + (int(index),))


def detach(input) -> Tensor:  # noqa: A002
    """``torch.detach``: ``input.detach()``."""
    return tensor_input("detach", input).detach()


def torch_range(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
                requires_grad: bool = False) -> Tensor:
    """``torch.range`` (deprecated in PyTorch, with its warning): ``start`` to ``end``
    inclusive, default dtype."""
    no_out("range", out)
    check_factory_options("range", layout)
    if end is None:
        raise TypeError("range: end is required (range(start, end, step))")
    warnings.warn("torch.range is deprecated and will be removed in a future release because its "
                  "behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning, stacklevel=2)
    if step == 0 or (end - start) * step < 0:
        raise ValueError(f"range: step {step} does not lead from start {start} to end {end}")
    n = math.floor((end - start) / step) + 1
    values = start + step * numpy.arange(n, dtype=numpy.float64)
    return _leaf("range", values.astype(_dtype("range", dtype)), device, requires_grad)


_METHODS = {
    "multiply": multiply, "divide": divide, "subtract": subtract, "positive": positive,
    "greater": greater, "greater_equal": greater_equal, "less": less, "less_equal": less_equal,
    "not_equal": not_equal, "bitwise_and": bitwise_and, "bitwise_or": bitwise_or,
    "bitwise_xor": bitwise_xor, "bitwise_not": bitwise_not, "select": select,
    "bitwise_left_shift": bitwise_left_shift, "bitwise_right_shift": bitwise_right_shift,
}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
Tensor.maximum = lambda self, other: maximum(self, other)
Tensor.minimum = lambda self, other: minimum(self, other)


def _div_method(self, other, *, rounding_mode=None):
    return div(self, other) if rounding_mode is None else divide(self, other,
                                                                 rounding_mode=rounding_mode)


Tensor.div = _div_method


torch_range.__name__ = torch_range.__qualname__ = "range"
