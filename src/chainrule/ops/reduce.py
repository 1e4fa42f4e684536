"""Reductions: sum, mean, max/min, logsumexp, var/std, and the non-differentiable argmax/argmin.

``axis`` is None (every axis), an int or a tuple of ints, negative counting from the end, as in
NumPy. A gradient flows back by reshaping it to the kept-dims shape and broadcasting it over the
reduced axes.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

from ..autograd.function import Function, nondiff
from ..autograd.tensor import Tensor
from ..backend import ensure_array, get_array_module, numpy
from ..kernels import K
from ._args import dim_or_axis, keep_flag, reduce_dim
from ._conj import cj
from ._logsumexp import shifted_logsumexp
from ._promotion import float_operand, plain_numbers
from ._real_only import check_nonempty as _check_nonempty
from ._wide import WIDE_TERMS, variance, wide_sum
from ._zero_d import on_one_axis, scalar_dim
from .elementwise import cast, exp, fill_where, maximum, minimum
from .shape import broadcast_to, normalize_axis, reshape

__all__ = ["MinMax", "argmax", "argmin", "logsumexp", "max", "mean", "min", "std", "sum", "var"]


class MinMax(NamedTuple):
    """``max(x, dim)`` and ``min(x, dim)``: the values and their indices along ``dim``."""

    values: Tensor
    indices: Tensor


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _unreduce(g, shape, axes, keepdims):
    """Spread a reduced gradient ``g`` back over ``shape`` (the adjoint of summing ``axes``)."""
    if not keepdims and g.ndim:  # put the reduced axes back as 1s (a 0-d g broadcasts as it is)
        g = reshape(g, _kept_shape(shape, axes))
    return broadcast_to(g, shape)


def _count(shape, axes):
    return math.prod(shape[a] for a in axes)


class Sum(Function):
    complex_grad = True
    reads_inputs = False  # backward spreads the gradient over the input's shape

    def forward(self, x):
        if x.dtype.kind in "iu":  # the integer dtype kept (NumPy's would widen int32 to int64)
            return x.sum(axis=self.axes, keepdims=self.keepdims, dtype=x.dtype)
        if x.dtype.itemsize == 2 or x.size > WIDE_TERMS and x.dtype.char in "fF":  # _wide.py
            return wide_sum(x, self.axes, self.keepdims)  # float16 in float32, float32 in 64
        if self.axes == (0,) and x.ndim == 2 and not self.keepdims:
            return K.column_sums(x)  # a bias gradient, as one BLAS product
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        # each element summed gets g: g broadcast back over the summed axes (1s put back first)
        shape = self.inputs[0]._data.shape
        if not self.keepdims and g._data.ndim:
            g = reshape(g, _kept_shape(shape, self.axes))
        return broadcast_to(g, shape)


class Mean(Function):
    complex_grad = True
    reads_inputs = False  # backward spreads the gradient over the input's shape

    def forward(self, x):
        if x.size > WIDE_TERMS and x.dtype.char in "fF":  # many float32 terms: in float64
            return wide_sum(x, self.axes, self.keepdims, mean=True)
        return x.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        shape = self.inputs[0].shape
        return _unreduce(g, shape, self.axes, self.keepdims) / _count(shape, self.axes)


class Extreme(Function):
    """max/min over axes; tied maxima share the gradient evenly (as ``torch.amax`` does), or,
    with ``first`` (one axis: ``max(x, dim)``), it goes to the index ``argmax`` returns, the
    first of them (or the first NaN), as PyTorch's ``max(x, dim)``."""

    first = False

    def forward(self, x):
        xp = get_array_module(x)
        return (xp.max if self.largest else xp.min)(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        x = self.inputs[0]._data
        xp = get_array_module(x)
        if self.first:
            (axis,) = self.axes
            at = (xp.argmax if self.largest else xp.argmin)(x, axis=axis, keepdims=True)
            where = xp.arange(x.shape[axis]).reshape([-1 if k == axis else 1
                                                      for k in range(x.ndim)])
            winners = (where == at).astype(g.dtype)
        else:
            y = self.output._data.reshape(_kept_shape(x.shape, self.axes))
            winners = (x == y).astype(g.dtype)
            # A slice holding NaN has no winner; its gradient is 0 rather than 0/0.
            winners /= xp.maximum(winners.sum(axis=self.axes, keepdims=True), 1)
        return _unreduce(g, x.shape, self.axes, self.keepdims) * winners


class LogSumExp(Function):
    # A complex x shifts by the largest real part (a real shift keeps log's principal branch,
    # as PyTorch's); the gradient is g times the conjugate softmax.
    complex_grad = True

    def forward(self, x):
        y = shifted_logsumexp(x, self.axes)  # _logsumexp.py: many float32 terms sum in float64
        if self.keepdims:
            return y
        return y.reshape([n for i, n in enumerate(y.shape) if i not in self.axes])

    def backward(self, g):
        x = self.inputs[0]
        y = _unreduce(self.output, x.shape, self.axes, self.keepdims)
        return _unreduce(g, x.shape, self.axes, self.keepdims) * cj(exp(x - y))


class Var(Function):
    # A complex x has a real variance, the mean of |x - mean|^2; the gradient 2 (x - mean) / n
    # is PyTorch's convention for it as written.
    complex_grad = True

    def forward(self, x):
        return variance(x, self.axes, self.ddof, self.keepdims, spent=self.spent)

    def backward(self, g):
        x = self.inputs[0]
        centered = x - mean(x, axis=self.axes, keepdims=True)
        g = _unreduce(g, x.shape, self.axes, self.keepdims)
        if self.spent == "all":  # PyTorch's gradient without degrees of freedom, dim not given:
            c = centered._data   # inf, or nan where x is its mean (inf * 0)
            return g * Tensor(get_array_module(c).where(c == 0, math.nan, math.inf).astype(c.dtype))
        scale = 2.0 / d if (d := _count(x.shape, self.axes) - self.ddof) else math.inf
        return g * centered * scale


class Std(Function):
    """sqrt(var); where the deviation is 0 (a constant slice) the gradient is 0, as in PyTorch,
    rather than inf * 0 = nan. Complex x as Var."""

    complex_grad = True

    def forward(self, x):
        return variance(x, self.axes, self.ddof, self.keepdims, root=True, spent=self.spent)

    def backward(self, g):
        x, y = self.inputs[0], self.output
        zero = y._data == 0  # a constant slice: its gradient 0, and 1 / y kept finite
        y, g = fill_where(zero, 1, y), fill_where(zero, 0, g)
        centered = x - mean(x, axis=self.axes, keepdims=True)
        scale = 1.0 / d if (d := _count(x.shape, self.axes) - self.ddof) else math.inf
        return _unreduce(g / y, x.shape, self.axes, self.keepdims) * centered * scale


def sum(input, dim=None, keepdim=None,  # noqa: A001, A002 - numpy.sum, torch.sum
        *, axis=None, keepdims: bool = False, dtype=None):
    """Sum of the elements over ``axis`` (all axes when None).

    Args:
        x: a Tensor.
        dim: None, an int or a tuple of ints (negative counts from the end), positional as
            PyTorch's; ``axis`` is NumPy's name for it (give one of the two). An empty ``dim``
            (``x.sum(())``, ``x.sum(dim=[])``) sums every axis, as PyTorch's; ``axis=()``
            none, as NumPy's.
        keepdim: keep the reduced axes with size 1 (``keepdims`` in NumPy).
        dtype: cast ``input`` to this dtype first (PyTorch's option).

    >>> import chainrule as cr
    >>> cr.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(axis=0).tolist()
    [4.0, 6.0]
    """
    data = input._data if isinstance(input, Tensor) else input  # its dtype and rank, read here
    if dtype is None and data.dtype.kind in "biu":  # PyTorch sums these in int64
        dtype = "int64"
    if dtype is not None:
        input = cast(input if isinstance(input, Tensor) else Tensor(input), dtype)  # noqa: A001
        data = input._data
    nd = data.ndim
    if dim is None and axis is None and keepdim is None:  # x.sum(): every axis
        axes = tuple(range(nd))
    else:
        axis = dim_or_axis("sum", axis, reduce_dim(dim))
        keepdims = keep_flag("sum", keepdims, keepdim)
        axes = (tuple(range(nd)) if axis is None
                else normalize_axis("sum", axis, nd, scalar=True))
    out = Sum.apply(input, axes=axes, keepdims=bool(keepdims))
    return cast(out, bool) if data.dtype == bool else out  # dtype=bool: any, as PyTorch's


def mean(input, dim=None, keepdim=None,  # noqa: A002 - PyTorch's name
         *, axis=None, keepdims: bool = False, dtype=None):
    """Arithmetic mean over ``axis`` (all axes when None); arguments as in ``sum``. An integer
    or bool ``dtype=`` is PyTorch's RuntimeError (an integer ``input`` without one averages in
    float64, NumPy's rule, where PyTorch raises)."""
    if dtype is not None and numpy.dtype(dtype).kind not in "fc":
        raise RuntimeError(
            f"mean(): could not infer output dtype. Optional dtype must be either a floating "
            f"point or complex dtype. Got: {numpy.dtype(dtype)}"
        )
    if dtype is not None:
        input = cast(input if isinstance(input, Tensor) else Tensor(input), dtype)  # noqa: A001
    axis = dim_or_axis("mean", axis, reduce_dim(dim))
    keepdims = keep_flag("mean", keepdims, keepdim)
    axes = normalize_axis("mean", axis, input.ndim, scalar=True)
    if _count(input.shape, axes) == 0:
        raise ValueError(
            f"mean: cannot average over zero elements (shape {input.shape}, axis {axis!r})"
        )
    return Mean.apply(input, axes=axes, keepdims=bool(keepdims))


def max(input, dim=None, keepdim=None, *, other=None, axis=None,  # noqa: A001, A002
        keepdims=False):
    """Largest element: overall, along ``dim`` as PyTorch does, or over ``axis`` as NumPy does.

    - ``max(x)``: the largest value (a 0-d Tensor).
    - ``max(x, dim)`` (PyTorch): a named tuple ``(values, indices)`` along the int ``dim``.
    - ``max(x, axis=...)`` (NumPy, like ``torch.amax``): the values only, over an int or
      a tuple of axes.
    - ``max(x, other)`` (or ``other=``) with a Tensor ``other``: the elementwise maximum.

    Ties share the gradient of the values evenly, except along ``dim``, where it goes to the
    returned index (the first of the tied entries), as in PyTorch.
    """
    return _max_or_min("max", True, input, dim, keepdim, axis, keepdims, other)


def min(input, dim=None, keepdim=None, *, other=None, axis=None,  # noqa: A001, A002
        keepdims=False):
    """Smallest element: overall, along ``dim`` as PyTorch does, or over ``axis`` as NumPy does.

    - ``min(x)``: the smallest value (a 0-d Tensor).
    - ``min(x, dim)`` (PyTorch): a named tuple ``(values, indices)`` along the int ``dim``.
    - ``min(x, axis=...)`` (NumPy, like ``torch.amin``): the values only, over an int or
      a tuple of axes.
    - ``min(x, other)`` (or ``other=``) with a Tensor ``other``: the elementwise minimum.

    Ties share the gradient of the values evenly, except along ``dim``, where it goes to the
    returned index (the first of the tied entries), as in PyTorch.
    """
    return _max_or_min("min", False, input, dim, keepdim, axis, keepdims, other)


def _max_or_min(op, largest, x, dim, keepdim, axis, keepdims, other):
    """``max``/``min``: the elementwise form with a Tensor ``other`` (or one given as ``dim``),
    else (values, indices) along ``dim``, else the values over ``axis``."""
    if other is not None:  # max(x, other=y): PyTorch's keyword for the elementwise form
        if dim is not None or keepdim is not None or axis is not None:
            raise TypeError(f"{op}: other= is the elementwise form; give no dim, keepdim or axis "
                            f"with it (got dim={dim!r}, keepdim={keepdim!r}, axis={axis!r})")
        return (maximum if largest else minimum)(x, other)
    if isinstance(dim, Tensor):
        return (maximum if largest else minimum)(x, dim)
    keep = keep_flag(op, keepdims, keepdim)
    if dim is None:
        return _extreme(op, x, axis, keep, largest)
    if axis is not None:
        raise TypeError(f"{op}: give dim or axis, not both (got dim={dim!r}, axis={axis!r})")
    values = _extreme(op, x, dim, keep, largest, first=True)
    return MinMax(values, _arg("arg" + op, x, dim, keep))


def _extreme(op, x, axis, keepdims, largest, first=False):
    axes = normalize_axis(op, axis, x.ndim, scalar=True)
    _check_nonempty(op, x, axes)
    # over no axis (a 0-D x, dim 0) each value is its own entry: no ties to break
    return Extreme.apply(x, axes=axes, keepdims=keepdims, largest=largest,
                         first=bool(first and axes))


def logsumexp(input, dim=None, keepdim=None, *, axis=None, keepdims: bool = False):  # noqa: A002
    """``log(sum(exp(x)))`` over ``axis``, computed without overflow; its gradient is the softmax.
    Over no elements it is -inf; an empty ``dim`` reduces every dimension.

    >>> import chainrule as cr
    >>> round(cr.tensor([1000.0, 1000.0]).logsumexp().item(), 3)
    1000.693
    """
    axis = dim_or_axis("logsumexp", axis, reduce_dim(dim))
    keepdims = keep_flag("logsumexp", keepdims, keepdim)
    axes = normalize_axis("logsumexp", axis, input.ndim, scalar=True)
    if _count(input.shape, axes) == 0:  # log(0) = -inf over no elements, as PyTorch's
        return sum(float_operand(input), axes, keepdims) - math.inf
    return LogSumExp.apply(float_operand(input), axes=axes, keepdims=bool(keepdims))


def var(input, dim=None, unbiased=None, keepdim=None,  # noqa: A002 - PyTorch's name
        *, correction=None, axis=None, keepdims: bool = False, ddof: int | None = None):
    """Variance over ``dim``: the mean squared deviation, divided by ``n - ddof`` instead of ``n``.

    The positional order is PyTorch's ``var(input, dim, unbiased, keepdim)`` (and ``var(input,
    unbiased)`` with a bool); NumPy's names are keywords.

    Args:
        x: a Tensor.
        dim: None, an int or a tuple of ints (``axis`` is NumPy's name for it).
        unbiased, correction: PyTorch's names for ``ddof`` (``unbiased=True`` is ``ddof=1``).
            With none of the three given, ``ddof=1``: PyTorch's unbiased estimate (NumPy's
            default is 0, the population variance: pass ``ddof=0`` or ``unbiased=False``).
        keepdim: keep the reduced axes with size 1 (``keepdims`` is NumPy's name for it).
        ddof: delta degrees of freedom; 0 gives the population variance, 1 (the default) the
            unbiased estimate.
    """
    return Var.apply(input, **_var_args("var", input, axis, keepdims, ddof, dim, keepdim, unbiased,
                                    correction))


def _var_args(op, x, axis, keepdims, ddof, dim, keepdim, unbiased, correction):
    """The axes, keepdims and ddof of a ``var``/``std`` call, its arguments checked."""
    if isinstance(dim, bool):  # PyTorch's var(input, unbiased) overload
        if unbiased is not None:
            raise TypeError(f"{op}: got unbiased twice ({dim!r} in place of dim and "
                            f"unbiased={unbiased!r})")
        dim, unbiased = None, dim
    if unbiased is not None and unbiased not in (True, False):
        raise TypeError(f"{op}: unbiased must be True or False, got {unbiased!r} (the third "
                        "positional argument is unbiased, as in PyTorch: keepdim is the fourth)")
    axis, keepdims = dim_or_axis(op, axis, reduce_dim(dim)), keep_flag(op, keepdims, keepdim)
    given = [name for name, v in (("ddof", ddof), ("unbiased", unbiased),
                                  ("correction", correction)) if v is not None]
    if len(given) > 1:
        raise TypeError(f"{op}: give one of ddof, unbiased and correction, got "
                        f"{' and '.join(given)}")
    if unbiased is not None:
        ddof = int(bool(unbiased))
    elif correction is not None:
        ddof = correction
    elif ddof is None:
        ddof = 1  # PyTorch's default, the unbiased estimate
    axes = normalize_axis(op, axis, x.ndim, scalar=True)
    n = _count(x.shape, axes)
    ddof = plain_numbers(ddof)[0]  # np.int64(1), as PyTorch takes it (was refused)
    if isinstance(ddof, bool) or not isinstance(ddof, (int, float)) or ddof < 0:
        raise ValueError(f"{op}: ddof must be a non-negative number, got {ddof!r}")
    if n - ddof <= 0:  # inf or nan, with PyTorch's warning
        warnings.warn(f"{op}(): degrees of freedom is <= 0 (ddof={ddof}, {n} elements of shape "
                      f"{tuple(x.shape)} over axis {axis!r}); the result is inf or nan, as "
                      "PyTorch's", UserWarning, stacklevel=3)
    # spent: no degrees of freedom left, "all" when no dim was given (PyTorch's backward differs)
    spent = (n - ddof <= 0) and ("all" if axis is None else True)
    return {"axes": axes, "keepdims": bool(keepdims), "ddof": ddof, "spent": spent}


def std(input, dim=None, unbiased=None, keepdim=None,  # noqa: A002 - PyTorch's name
        *, correction=None, axis=None, keepdims: bool = False, ddof: int | None = None):
    """Standard deviation over ``dim``: ``sqrt(var(input, dim, unbiased, keepdim, ddof=ddof))``.

    The positional order is PyTorch's, as in ``var``. Where every element of a slice is equal
    (the deviation is 0) its gradient is 0, as in PyTorch (sqrt's derivative there is infinite).
    """
    return Std.apply(input, **_var_args("std", input, axis, keepdims, ddof, dim, keepdim, unbiased,
                                    correction))


def _arg(op, x, axis, keepdims):
    if scalar_dim(x, axis):
        return on_one_axis(lambda t, d: _arg(op, t, d, keepdims), x)
    if axis is not None:
        axis = normalize_axis(op, axis, x.ndim)
        if len(axis) != 1:
            raise TypeError(f"{op}: axis must be an int or None, got a tuple of {len(axis)} axes")
        axis = axis[0]
    _check_nonempty(op, x, normalize_axis(op, axis, x.ndim))
    xp = get_array_module(x._data)
    fn = xp.argmax if op == "argmax" else xp.argmin
    keepdims = bool(keepdims)
    return nondiff(lambda a: ensure_array(fn(a, axis=axis, keepdims=keepdims)), x)


def argmax(input, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):  # noqa: A002
    """Index (an int Tensor) of the largest element along ``axis``; into the flat tensor if None.

    Not differentiable. At ties the first index wins.
    """
    return _arg("argmax", input, dim_or_axis("argmax", axis, dim),
                keep_flag("argmax", keepdims, keepdim))


def argmin(input, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):  # noqa: A002
    """Index (an int Tensor) of the smallest element along ``axis``; into the flat tensor if None.

    Not differentiable. At ties the first index wins.
    """
    return _arg("argmin", input, dim_or_axis("argmin", axis, dim),
                keep_flag("argmin", keepdims, keepdim))


Tensor.sum = sum
Tensor.mean = mean
Tensor.max = max
Tensor.min = min
Tensor.logsumexp = logsumexp
Tensor.var = var
Tensor.std = std
Tensor.argmax = argmax
Tensor.argmin = argmin
