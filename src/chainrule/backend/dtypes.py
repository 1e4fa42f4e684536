"""PyTorch's dtype names as NumPy dtypes: ``chainrule.float32``, ``chainrule.long``...

chainrule's dtypes are NumPy's, so ``t.dtype == chainrule.float32`` and
``t.dtype == numpy.float32`` are both true.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy

float16 = half = numpy.dtype("float16")
float32 = float = numpy.dtype("float32")  # noqa: A001 - PyTorch's name
float64 = double = numpy.dtype("float64")
int8 = numpy.dtype("int8")
uint8 = numpy.dtype("uint8")
int16 = short = numpy.dtype("int16")
int32 = int = numpy.dtype("int32")  # noqa: A001 - PyTorch's name
int64 = long = numpy.dtype("int64")
bool = numpy.dtype("bool")  # noqa: A001 - PyTorch's name
complex64 = cfloat = numpy.dtype("complex64")
complex128 = cdouble = numpy.dtype("complex128")


class _NamedOnly:
    """A PyTorch dtype that NumPy has no type for (``bfloat16``). It exists so that a script can
    name it (nanoGPT's ``{'float32': torch.float32, 'bfloat16': torch.bfloat16,
    'float16': torch.float16}[dtype]``, ``autocast(dtype=torch.bfloat16, enabled=False)``); making
    or casting a tensor with it is a TypeError that says so (NumPy reads ``.dtype``)."""

    is_floating_point, is_complex, is_signed = True, False, True

    def __init__(self, name: str, itemsize: int):
        self.name, self.itemsize = name, itemsize

    def __repr__(self) -> str:
        return f"chainrule.{self.name}"

    def __reduce__(self):
        return self.name  # pickled (a deepcopy of a config) as the module's one instance

    @property
    def dtype(self):
        raise TypeError(f"chainrule cannot compute in {self.name}: NumPy has no {self.name} type; "
                        "use chainrule.float32 (or float16, x.half())")


bfloat16 = _NamedOnly("bfloat16", 2)

__all__ = ["bfloat16", "bool", "cdouble", "cfloat", "complex64", "complex128",
           "double", "float", "float16", "float32", "float64", "half", "int", "int8",
           "int16", "int32", "int64", "long", "short", "uint8"]


def check_fill(op: str, value, dtype):
    """``value`` as ``full``/``fill_`` write it into ``dtype`` (a complex number with no imaginary
    part as its real part), or PyTorch's refusal of a number ``dtype`` cannot hold (NumPy's cast
    would make nan or inf the smallest int, a complex value its real part, 1e5 in float16 inf)."""
    z = complex(value)
    if dtype.kind == "b":
        return value
    if dtype.kind in "iu":
        info = numpy.iinfo(dtype)
        exact = value if isinstance(value, numbers.Integral) else z.real
        if dtype.kind == "u" and isinstance(value, numbers.Integral) and -info.max <= value < 0:
            return value.__index__() % (info.max + 1)  # PyTorch wraps it (uint8: -1 is 255)
        held = numpy.isfinite(z) and info.min <= exact <= info.max
    else:
        with numpy.errstate(over="ignore"):
            cast = numpy.asarray(z if dtype.kind == "c" else z.real).astype(dtype)
        held = numpy.isfinite(cast) or not numpy.isfinite(z)
    if not held or (z.imag != 0 and dtype.kind != "c"):
        raise RuntimeError(f"{op}: fill value {value!r} cannot be converted to dtype {dtype} "
                           f"without overflow (as PyTorch's)")
    return z.real if isinstance(value, complex) and dtype.kind != "c" else value


def check_setitem(value, dtype):
    """A number written by ``t[i] = value`` as PyTorch writes it: into an integer or bool tensor
    as ``check_fill`` (-1 into uint8 is 255; 300, inf or NaN refused, not NumPy's OverflowError),
    a complex number with no imaginary part as its real part; a float tensor takes any real
    number (1e10 into float16 is inf, as PyTorch's)."""
    if isinstance(value, numbers.Number) and (dtype.kind in "iub" or isinstance(value, complex)):
        return check_fill("__setitem__", value, dtype)
    if dtype.kind == "f" and isinstance(value, numbers.Real) and abs(value) > numpy.finfo(
            dtype).max.item():
        return math.copysign(math.inf, value)  # without NumPy's overflow warning
    return value


def check_fill_value(op: str, value, dtype):
    """``masked_fill``'s ``value``: a number as ``check_fill`` writes it, or a 0-d tensor; a
    tensor of more dimensions is PyTorch's refusal (``where`` would broadcast it instead)."""
    if isinstance(value, numbers.Number):
        return check_fill(op, value, dtype)
    if getattr(value, "ndim", 0) != 0:
        raise ValueError(f"{op}: value must be a number or a 0-dimensional tensor, as PyTorch's, "
                         f"got a tensor of shape {tuple(value.shape)}")
    return value


def uint8_as_mask(i, stacklevel: int = 4):
    """A uint8 index array read as the boolean mask PyTorch reads it as, with its deprecation
    warning (``x[(x != pad).byte()]`` in older code; NumPy would read it as integer positions);
    any other index item as it is."""
    dtype = getattr(i, "dtype", None)
    if getattr(dtype, "kind", "") == "u" and dtype.itemsize == 1:
        warnings.warn("indexing with dtype uint8 is now deprecated, please use a dtype bool "
                      "instead (as PyTorch warns)", UserWarning, stacklevel=stacklevel)
        return i.astype(bool)
    return i


def bool_condition(op: str, condition):
    """``where``'s condition as a boolean array: a uint8 one is PyTorch's deprecated mask (with
    its warning), any other dtype PyTorch's TypeError."""
    if condition.dtype != numpy.uint8:
        raise TypeError(f"{op}: condition must be boolean, got dtype {condition.dtype}")
    warnings.warn(f"{op} received a uint8 condition tensor. This behavior is deprecated; use a "
                  "boolean condition instead (as PyTorch warns)", UserWarning, stacklevel=3)
    return condition.astype(bool)
