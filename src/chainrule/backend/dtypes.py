"""PyTorch's dtype names as NumPy dtypes: ``chainrule.float32``, ``chainrule.long``...

chainrule's dtypes are NumPy's, so ``t.dtype == chainrule.float32`` and
``t.dtype == numpy.float32`` are both true.
"""

from __future__ import annotations

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
