"""float16 kernels summed in float32, as PyTorch's CPU kernels accumulate them.

A convolution's or an average pool's sum of k float16 terms, rounded to float16 after every
step, drifts by up to about k / 2 units in the last place; summed in float32 and rounded once
at the end, it is within half a unit, as PyTorch's. ``sums_in_float32`` wraps such a kernel:
float16 arrays go in as float32 ones and the array result comes back rounded to float16; every
other dtype passes straight through.
"""

from __future__ import annotations

import functools

from ..backend import get_array_module

__all__ = ["sums_in_float32"]

_HALF = get_array_module().dtype("float16")


def _wide(a):
    return a.astype("float32") if getattr(a, "dtype", None) == _HALF else a


def sums_in_float32(fn):
    """``fn`` (a kernel whose first argument is an array) computed in float32 for float16 input."""

    @functools.wraps(fn)
    def run(first, *args, **kwargs):
        if first.dtype is not _HALF:  # one identity test: NumPy's dtypes are singletons
            return fn(first, *args, **kwargs)
        out = fn(_wide(first), *map(_wide, args), **kwargs)
        if isinstance(out, tuple):  # (y, what the filter gradient may reuse)
            return (out[0].astype(_HALF),) + out[1:]
        return out.astype(_HALF)

    return run
