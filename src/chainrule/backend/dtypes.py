"""PyTorch's dtype names as NumPy dtypes: ``chainrule.float32``, ``chainrule.long``...

chainrule's dtypes are NumPy's, so ``t.dtype == chainrule.float32`` and
``t.dtype == numpy.float32`` are both true.
"""

from __future__ import annotations

import numbers

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

__all__ = ["bool", "cdouble", "cfloat", "complex64", "complex128",
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
        held = numpy.isfinite(z) and info.min <= exact <= info.max
    else:
        with numpy.errstate(over="ignore"):
            cast = numpy.asarray(z if dtype.kind == "c" else z.real).astype(dtype)
        held = numpy.isfinite(cast) or not numpy.isfinite(z)
    if not held or (z.imag != 0 and dtype.kind != "c"):
        raise RuntimeError(f"{op}: fill value {value!r} cannot be converted to dtype {dtype} "
                           f"without overflow (as PyTorch's)")
    return z.real if isinstance(value, complex) and dtype.kind != "c" else value
