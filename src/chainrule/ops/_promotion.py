"""The operands of an arithmetic op brought to the dtype PyTorch computes it in.

The rule itself (``result_type``) lives in ``autograd/promotion.py``; here its answer is applied:
a Tensor of another dtype goes through the recorded ``cast`` (so its gradient comes back in its
own dtype: a float32 input beside a float64 0-d tensor gets a float32 gradient), a Python number
becomes a constant 0-d Tensor of the dtype. Two Tensors of one dtype pass through untouched.
"""

from __future__ import annotations

import numbers

from ..autograd.function import nondiff
from ..autograd.promotion import dense_beside_sparse, result_type, true_divide_dtype
from ..autograd.tensor import Tensor
from ..backend import get_array_module, numpy
from ..backend.defaults import get_default_dtype
from ._real_only import refuse_complex  # noqa: F401 - clip's check (elementwise.py)
from .cast import cast

__all__ = ["InFloat32", "as_dtype", "binary", "comparison", "float_operand", "plain_numbers",
           "promoted", "promoted_all", "result_type"]

_HALF_MAX = 65504.0


class InFloat32(Exception):  # noqa: N818 - a signal to the op, never seen by a user
    """Raised by ``binary(..., opmath=True)`` where a float16 tensor meets a number (or a 0-d
    tensor of another dtype) that float16 cannot hold exactly: PyTorch's mul, div and
    floor_divide compute that in float32, with the number unrounded, and round the result once.
    NumPy would round the number to float16 first (``x * 1e5`` all inf, ``x * 1e-7`` 20% off)."""


def _exact_in_half(value) -> bool:
    v = float(value)
    return abs(v) <= _HALF_MAX and float(numpy.float16(v)) == v


def _scalar_value(x):
    """The value of a number or a 0-d array/Tensor that is not float16; None for anything else."""
    if isinstance(x, Tensor):
        x = x._data
        if x.ndim or x.dtype == numpy.float16 or x.dtype.kind not in "biuf":
            return None
        return x.item()
    if isinstance(x, (int, float, numpy.integer, numpy.floating)) and not isinstance(x, bool):
        return x
    return None


def _needs_float32(a, b) -> bool:
    """A float16 tensor ``a`` beside a number or 0-d tensor ``b`` that PyTorch keeps in float32
    (see ``InFloat32``); a number first is ``s * x`` reflected, a 0-d tensor first PyTorch rounds
    to float16."""
    if not isinstance(a, Tensor):
        a, b = b, a
    if isinstance(a, Tensor) and a._data.dtype == numpy.float16 and (
            a._data.ndim or not isinstance(b, Tensor)):
        v = _scalar_value(b)
        return v is not None and not _exact_in_half(v)
    return False


def plain_numbers(*values):
    """``values`` with each NumPy scalar as the Python number it holds: PyTorch reads
    ``clamp(x, np.float64(1.5))`` as ``clamp(x, 1.5)`` (float32 for a float32 ``x``), where
    NumPy's typed scalar made the result float64 (a float16 ``x`` too)."""
    return tuple(v.item() if isinstance(v, numpy.generic) else v for v in values)


def as_dtype(x, dtype, like=None):
    """``x`` (a Tensor, array or number) as a Tensor of ``dtype``, on ``like``'s device (an array
    of that dtype is returned as it is: the op wraps it as a constant, as it would unpromoted)."""
    if isinstance(x, Tensor):
        return x if x._data.dtype == dtype else cast(x, dtype)
    if hasattr(x, "dtype") and not isinstance(x, numpy.generic):  # an array: the op wraps it
        return x if x.dtype == dtype else Tensor(get_array_module(x).asarray(x).astype(dtype))
    if type(x) is int and dtype.kind in "iu":
        info = numpy.iinfo(dtype)
        if not info.min <= x <= info.max:
            raise OverflowError(f"the Python int {x} does not fit the {dtype} tensor it is "
                                f"combined with ({info.min}..{info.max}); cast the tensor first "
                                "(e.g. .long())")
    xp = get_array_module(like._data if isinstance(like, Tensor) else like)
    return Tensor(xp.asarray(x, dtype=dtype))


def promoted(a, b, *, int_to_float: bool = False):
    """``a`` and ``b`` as Tensors of the dtype PyTorch computes them in (``int_to_float``, for a
    true division or atan2: an integer or bool result type becomes the default float dtype)."""
    kind = type(b)
    if (kind is float or kind is int) and isinstance(a, Tensor):
        dtype = a._data.dtype  # the common case, a tensor and a number: the tensor's dtype
        if dtype.kind in "fc" or (kind is int and dtype.kind in "iu" and not int_to_float):
            return a, as_dtype(b, dtype, a)
    dtype = result_type(a, b)
    if int_to_float:
        dtype = true_divide_dtype(dtype)
    like = a if isinstance(a, Tensor) else b
    return as_dtype(a, dtype, like), as_dtype(b, dtype, like)


def promoted_all(*operands, dtype=None):
    """All ``operands`` as Tensors of their common dtype (or of ``dtype`` where given)."""
    if dtype is None:
        dtype = result_type(*operands)
    like = next((x for x in operands if isinstance(x, Tensor)), operands[0])
    return tuple(as_dtype(x, dtype, like) for x in operands)


def float_operand(x):
    """``x`` in the default float dtype where it is an integer or bool Tensor (PyTorch's rule for
    the floating-point functions: ``int64_tensor.sqrt()`` is float32); ``x`` itself otherwise."""
    if isinstance(x, Tensor) and x._data.dtype.kind in "biu":
        return cast(x, get_default_dtype())
    return x


def _check_broadcast(op, a, b):
    """Raise a message naming the op and both shapes when NumPy could not broadcast them."""
    sa = a._data.shape if isinstance(a, Tensor) else getattr(a, "shape", ())
    sb = b._data.shape if isinstance(b, Tensor) else getattr(b, "shape", ())
    if sa == sb:
        return
    for m, n in zip(reversed(sa), reversed(sb)):
        if m != n and m != 1 and n != 1:
            raise ValueError(
                f"{op}: shapes {tuple(sa)} and {tuple(sb)} cannot be broadcast together"
            )


def binary(op, a, b, *, int_to_float=False, opmath=False):
    """``a`` and ``b`` checked to broadcast and brought to the dtype PyTorch computes ``op`` in
    (``promoted``); two Tensors of one (floating, for ``int_to_float``) dtype pass untouched.
    ``opmath``: raise ``InFloat32`` where PyTorch computes a float16 ``op`` in float32."""
    if isinstance(a, Tensor) and (type(b) is float or type(b) is int):
        da = a._data
        if da.dtype.kind in "fc":  # the usual x * 2.0: the number in the tensor's dtype
            if opmath and da.dtype.itemsize == 2 and not _exact_in_half(b):
                raise InFloat32
            return a, Tensor(get_array_module(da).asarray(b, dtype=da.dtype))
    try:
        da, db = a._data, b._data
        if da.dtype == db.dtype and (not int_to_float or da.dtype.kind in "fc"):
            if da.shape != db.shape and da.ndim and db.ndim:  # a 0-d one broadcasts with all
                _check_broadcast(op, a, b)
            return a, b
    except AttributeError:
        if op == "add" or op == "sub":
            a, b = dense_beside_sparse(op, a, b)
    _check_operand(op, a)
    _check_operand(op, b)
    _check_broadcast(op, a, b)
    if opmath and _needs_float32(a, b):
        raise InFloat32
    return promoted(a, b, int_to_float=int_to_float)


def _operand(x) -> bool:
    """Whether ``x`` is a Tensor, an array (or list) or a number, what an op takes."""
    return isinstance(x, (Tensor, numbers.Number, numpy.ndarray, numpy.generic, list, tuple)) or \
        hasattr(x, "__cuda_array_interface__")


def _own(x) -> bool:
    """Whether ``x`` is one of chainrule's own objects (a sparse tensor)."""
    return type(x).__module__.startswith("chainrule.")


def _check_operand(op, x) -> None:
    """TypeError for an operand that is not a Tensor, an array (or list) or a number: NumPy would
    make an object array of it, or NaN of None (``t * None``)."""
    if _operand(x):
        return
    hint = ""
    if getattr(x, "is_sparse", False):
        hint = (" (a sparse tensor: only + and - take one beside a dense tensor of its shape; "
                "see chainrule.sparse)")
    package = type(x).__module__.split(".")[0]
    kind = f"{package}.{type(x).__name__}" if package not in ("builtins", "chainrule") else \
        type(x).__name__  # another library's: torch.Tensor, not Tensor
    raise TypeError(f"{op}: expected Tensors, arrays or numbers, got {kind}{hint}")


def comparison(name):
    """A comparison operator, computed in the dtype PyTorch promotes the operands to."""
    def method(self, other):
        dtype = None
        if isinstance(other, Tensor):
            if other._data.dtype != self._data.dtype:
                dtype = result_type(self, other)
            return nondiff(lambda a, b: getattr(_in(a, dtype), name)(_in(b, dtype)), self, other)
        if not _operand(other):  # None, a str, a dict: Python's answer, as PyTorch's (t == None
            if _own(other) and hasattr(other, "__array__"):  # is False); a sparse tensor: its
                other.__array__()  # own TypeError (naming to_dense())
            elif hasattr(other, "__array__"):  # another library's tensor: a TypeError
                _check_operand(name.strip("_"), other)
            return NotImplemented
        if self._data.dtype.kind in "biu":  # an integer tensor beside a float compares as floats
            dtype = result_type(self, other)
        return nondiff(lambda a: getattr(_in(a, dtype), name)(other), self)

    method.__name__ = name
    if name in ("__eq__", "__ne__"):
        return method
    # complex numbers have no order: PyTorch refuses them (NumPy compares lexicographically)
    ordered = lambda self, other: method(*refuse_complex(name.strip("_"), self, other))  # noqa: E731
    ordered.__name__ = name
    return ordered


def _in(a, dtype):
    return a if dtype is None or a.dtype == dtype else a.astype(dtype)


def scaled(name, input, other, alpha):  # noqa: A002 - PyTorch's name
    """``alpha * other`` for ``add``/``sub(alpha=)``: alpha takes the result's dtype, as PyTorch's
    (two bool tensors stay bool; a float alpha with integer tensors is PyTorch's error)."""
    input, other = dense_beside_sparse(name, input, other)  # noqa: A001
    kind = result_type(input, other).kind
    if kind == "b" and alpha and not isinstance(alpha, float):
        return other
    if isinstance(alpha, bool) and kind != "b":
        raise RuntimeError(f"{name}: a bool alpha is only supported for bool results, as in "
                           f"PyTorch (the result is {result_type(input, other)})")
    if kind in "biu" and isinstance(alpha, float):
        raise RuntimeError(f"{name}: for integral input tensors, argument alpha must not be a "
                           f"floating point number (got alpha={alpha!r}), as in PyTorch")
    if isinstance(other, Tensor) and kind in "iu":  # bool * 2 would be int64 beside int32
        other = as_dtype(other, result_type(input, other), other)
    return other * alpha


def checked_exponent(base, exponent):
    """``exponent``, or PyTorch's RuntimeError for an integer tensor to a negative Python int
    (a tensor of negative exponents is computed, ``integer_power``)."""
    if (isinstance(base, Tensor) and base._data.dtype.kind in "biu"
            and isinstance(exponent, (int, numpy.integer)) and not isinstance(exponent, bool)
            and exponent < 0):
        raise RuntimeError(f"pow: integers to negative integer powers are not allowed (the "
                           f"{base._data.dtype} tensor to the power {exponent}), as in PyTorch; "
                           "cast the tensor to a float dtype first")
    return exponent


def integer_power(x, p):
    """``x ** p`` of arrays; integer ``x`` to negative integer powers by PyTorch's rule, where
    NumPy raises: 1 for x = 1, +-1 for x = -1 (by the parity of p), 0 otherwise."""
    kx, kp = getattr(x, "dtype", numpy.asarray(x).dtype), getattr(p, "dtype", None)
    if not (kx.kind in "iu" and isinstance(p, (int, numpy.integer)) or (
            kx.kind in "iu" and kp is not None and kp.kind in "iu")) or not (p < 0).any():
        return x**p
    xp = get_array_module(x, p)
    x, p = xp.asarray(x), xp.asarray(p)
    neg = p < 0
    out = x ** xp.where(neg, 0, p)
    odd = xp.where(p % 2 == 0, 1, -1)
    return xp.where(neg, xp.where(x == 1, 1, xp.where(x == -1, odd, 0)), out).astype(out.dtype)
