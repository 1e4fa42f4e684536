"""float16 reductions (and the ops built on them) as PyTorch computes them on a CPU: accumulated
in float32 and rounded to float16 once. NumPy sums float16 in float16 along all but the
innermost axis (a column sum of 1000 values near 100 is off by tens) and forms a variance from
float16 sums (the sum of 5000 values near 30 overflows to inf); a sum of squares passes 65504
sooner. A result past float16's 65504 is inf, without NumPy's warning, as a cast is elsewhere."""

from __future__ import annotations

import functools
import warnings

from ..autograd.tensor import Tensor
from ..backend import get_array_module, numpy
from .cast import cast

__all__ = ["WIDE_TERMS", "call_in_float32", "half_sum", "in_float32", "variance", "wide_sum"]

# float32 (complex64) sums and means of more elements than this run in float64 (wide_sum)
WIDE_TERMS = 1 << 16
_WIDER = {"f": "d", "F": "D"}


def half_sum(x, axes, keepdims):
    """``x.sum(axes)`` of a float16 array, in float32, rounded once."""
    with numpy.errstate(over="ignore"):
        return x.sum(axis=axes, keepdims=keepdims, dtype=numpy.float32).astype(numpy.float16)


def wide_sum(x, axes, keepdims, mean=False):
    """The sum (``mean``: the mean) of a float32/complex64 array of many elements, in float64
    and rounded once (a float16 sum: ``half_sum``): about as exact as PyTorch's cascade sums.
    NumPy's float32 sum along a leading axis adds the rows one at a time (and a 2-D column sum
    goes through BLAS the same way): over 2e5 rows near 1e4 the column sums were 1e-3 relative
    off, and a covariance built on them more."""
    if x.dtype == numpy.float16:
        return half_sum(x, axes, keepdims)
    op = x.mean if mean else x.sum
    with numpy.errstate(over="ignore"):  # past float32's largest is inf, as PyTorch's
        return op(axis=axes, keepdims=keepdims, dtype=_WIDER[x.dtype.char]).astype(x.dtype)


def variance(x, axes, ddof, keepdims, root=False, spent=False):
    """``x.var`` (its square root for ``root``: a float16 variance past 65504 may have a finite
    root); float16 in float32 and float32 in float64, rounded once. ``spent``: no degrees of
    freedom are left, and the quotient by 0 is inf or nan (PyTorch's), without NumPy's warnings
    (the caller warned)."""
    if spent:
        with warnings.catch_warnings(), numpy.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            return variance(x, axes, ddof, keepdims, root)
    # float32 (complex64) in float64, as PyTorch's Welford sums on a CPU: NumPy's float32 mean
    # along a leading axis is off by enough that the variance of values near 1e5 spread by 0.01
    # was off by 200%
    wide = {"float16": numpy.float32, "float32": numpy.float64,
            "complex64": numpy.complex128}.get(str(x.dtype))
    v = x.var(axes, wide, ddof=ddof, keepdims=keepdims)
    v = v.real if v.dtype.kind == "c" else v  # NumPy's var in a complex dtype keeps it
    v = get_array_module(x).sqrt(v) if root else v
    if wide is None:
        return v
    with numpy.errstate(over="ignore"):
        return v.astype(numpy.float16 if x.dtype == numpy.float16 else x.real.dtype)


def _narrow(out):
    if isinstance(out, Tensor):
        return cast(out, numpy.float16) if out._data.dtype == numpy.float32 else out
    if isinstance(out, tuple):
        items = [_narrow(o) for o in out]
        return type(out)(*items) if hasattr(out, "_fields") else tuple(items)
    return out


def _mixed(args, kwargs, keep, allowed=()) -> bool:
    """Whether a floating Tensor argument (not in ``keep``) is not float16 (nor of a dtype in
    ``allowed``): then the result is not float16 either (``mse_loss`` of float16 and float32 is
    float32, as PyTorch's)."""
    named = [(i, v) for i, v in enumerate(args)] + list(kwargs.items())
    return any(isinstance(v, Tensor) and v._data.dtype.kind in "fc" and
               v._data.dtype != numpy.float16 and v._data.dtype not in allowed
               for k, v in named if k not in keep)


def in_float32(*keep, float32_params: bool = False):
    """Decorate an op so that, given a float16 Tensor first, it computes in float32 and rounds
    its float32 outputs to float16 once, as PyTorch's normalizations, norms and losses of
    float16 do (their sums of squares overflow float16 past 65504, and NaN gradients followed).
    Arguments named (or at the positions) in ``keep`` pass unchanged: running statistics, which
    the op updates in place. Gradients flow back through the recorded casts.

    ``float32_params``: float32 Tensor arguments beside the float16 input are the op's
    parameters, and the result is float16 all the same (PyTorch's mixed-dtype normalizations on
    a CPU: a float16 input to a layer whose weights stayed float32)."""
    allowed = (numpy.dtype(numpy.float32),) if float32_params else ()

    def decorate(op):
        @functools.wraps(op)
        def wrapper(*args, **kwargs):
            first = args[0] if args else kwargs.get("input")
            if not (isinstance(first, Tensor) and first._data.dtype == numpy.float16) or \
                    kwargs.get("dtype") is not None or _mixed(args, kwargs, keep, allowed):
                return op(*args, **kwargs)  # a dtype asked for or mixed: the op's own rule

            return call_in_float32(op, args, kwargs, keep)
        return wrapper
    return decorate


def call_in_float32(op, args, kwargs, keep=()):
    """``op(*args, **kwargs)`` with its float16 Tensor arguments (but those in ``keep``) cast to
    float32 and its float32 Tensor results rounded to float16 once: the arithmetic PyTorch does
    for float16 (also ``mul``/``div`` of float16 by a number float16 cannot hold,
    ``_promotion.InFloat32``)."""
    def widen(v, key):
        if key in keep or not (isinstance(v, Tensor) and v._data.dtype == numpy.float16):
            return v
        return cast(v, numpy.float32)

    args = [widen(v, i) for i, v in enumerate(args)]
    kwargs = {k: widen(v, k) for k, v in kwargs.items()}
    with numpy.errstate(over="ignore"):  # past 65504 is inf, silently
        return _narrow(op(*args, **kwargs))
