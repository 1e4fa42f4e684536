"""Running products, extremes and log-sum-exps, PyTorch's names: cumprod, cummax, cummin,
logcumsumexp.

    y_i = x_0 x_1 ... x_i          dL/dx_j = E_j (g_j + x_{j+1} (g_{j+1} + x_{j+2} (...)))
    (values, indices) = running max; the gradient of each value goes to the entry it came from
    y_i = log(e^x_0 + ... + e^x_i)  dL/dx_j = sum_{i >= j} g_i e^(x_j - y_i)

The running product's gradient is computed without dividing by any x_k (which fails at a zero):
E_j is the product of the entries before j, and the bracket is a running sum taken from the end,
so it is exact with zeros in the input (as ``prod``'s). For ``create_graph`` its ``composite``
gives the running product as recorded multiplies. The log-sum-exp's gradient splits g into its
positive and negative parts and sums each in log space from the end (every e^(x_j - y_i) <= 1),
so it neither overflows nor divides; it is one ``Function``, linear in g, whose own gradients
are the transposed sum, so that it differentiates again (``jvp``'s zero cotangents included).
"""

from __future__ import annotations

from typing import NamedTuple

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module, quiet
from ._args import dim_or_axis
from ._real_only import refuse_bool, refuse_complex
from .indexing import scatter_add_along
from .join import concat
from .rearrange import WIDER
from .scan_complex import complex_logcumsumexp
from .shape import _one_axis, getitem

__all__ = ["cummax", "cummin", "cumprod", "logcumsumexp"]


def _axis(op, x, dim, axis):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    dim = dim_or_axis(op, axis, dim)
    if dim is None:
        raise TypeError(f"{op}: dim is required (PyTorch's); flatten first for a running "
                        "result over all elements")
    return _one_axis(op, dim, max(x.ndim, 1))


def _widened(xp, fn, *arrays):
    """``fn`` of float16/float32/complex64 ``arrays`` computed in the wider dtype (``WIDER``)
    and rounded once (PyTorch's CPU kernels accumulate a running product or log-sum-exp so;
    NumPy's would round every step). None for the other dtypes."""
    wide = WIDER.get(str(arrays[0].dtype))
    if wide is None:
        return None
    with quiet(xp):  # beyond the dtype's largest is inf, silently
        return fn(*(a.astype(wide) for a in arrays)).astype(arrays[0].dtype)


def _along(x, axis, i):
    """The slice ``i`` (an int or a slice) of ``x`` along ``axis``."""
    return (slice(None),) * axis + (i,)


class CumProd(Function):
    """The running product; a complex input's gradient conjugates the factors (PyTorch's
    convention: g times the conjugate derivative)."""

    complex_grad = True

    def forward(self, x):
        keep = x.dtype if x.dtype.kind in "iu" else None  # int32 stays int32, as PyTorch's
        xp = get_array_module(x)
        wide = _widened(xp, lambda a: xp.cumprod(a, axis=self.axis), x)
        return xp.cumprod(x, axis=self.axis, dtype=keep) if wide is None else wide

    def backward(self, g):
        x, gd = self.inputs[0]._data, g._data
        xp = get_array_module(x, gd)
        if x.dtype == xp.float16 and gd.dtype == xp.float16:
            return Tensor(_widened(xp, lambda *a: self._grad(xp, *a), x, gd))
        return Tensor(self._grad(xp, x, gd))

    def _grad(self, xp, x, gd):
        if x.dtype.kind == "c":
            x = xp.conj(x)
        ax, n = self.axis, x.shape[self.axis]
        out = xp.zeros(x.shape, xp.result_type(x, gd))
        if n == 0:
            return out
        # running = g_j + x_{j+1} running_{j+1}, from the end
        running = gd[_along(x, ax, n - 1)].copy()
        out[_along(x, ax, n - 1)] = running
        for j in range(n - 2, -1, -1):
            running = gd[_along(x, ax, j)] + x[_along(x, ax, j + 1)] * running
            out[_along(x, ax, j)] = running
        ones = xp.ones(x.shape[:ax] + (1,) + x.shape[ax + 1:], x.dtype)
        before = xp.cumprod(xp.concatenate([ones, x], axis=ax), axis=ax)[_along(x, ax,
                                                                              slice(0, n))]
        return out * before

    def composite(self, x):  # the running product as recorded multiplies, for create_graph
        ax, n = self.axis, x.shape[self.axis]
        if n == 0:
            return x * 1
        parts = [getitem(x, _along(x, ax, slice(0, 1)))]
        for i in range(1, n):
            parts.append(parts[-1] * getitem(x, _along(x, ax, slice(i, i + 1))))
        return concat(parts, ax)


def cumprod(input, dim=None, *, dtype=None, axis=None):  # noqa: A002 - PyTorch's name
    """Running products along ``dim``; the gradient is exact where the input holds zeros.

    >>> import chainrule as cr
    >>> cr.cumprod(cr.tensor([1.0, 2.0, 3.0]), 0).tolist()
    [1.0, 2.0, 6.0]
    """
    ax = _axis("cumprod", input, dim, axis)
    x = input
    if dtype is not None:  # dtype=bool: PyTorch's error (NumPy's running product was int64)
        x = refuse_bool("cumprod(dtype=bool)", x.astype(dtype))
    elif x.dtype.kind in "biu":  # PyTorch multiplies integers and booleans in int64
        x = x.astype("int64")
    if x.ndim == 0:
        return x * 1
    return CumProd.apply(x, axis=ax)


class ValuesIndices(NamedTuple):
    """``cummax``/``cummin``: the running extreme and the position it was taken from."""

    values: Tensor
    indices: Tensor


class RunningExtreme(Function):
    """Running max (``largest``) or min along ``axis``, with indices.

    Ties take the later position and a NaN stays the extreme from where it appears (each later NaN
    taking over), as PyTorch's ``cummax``/``cummin``.
    """

    def forward(self, x):
        xp = get_array_module(x)
        ax = self.axis
        values = (xp.maximum if self.largest else xp.minimum).accumulate(x, axis=ax)
        shape = [1] * x.ndim
        shape[ax] = x.shape[ax]
        pos = xp.arange(x.shape[ax]).reshape(shape)
        hit = x == values
        if x.dtype.kind == "f":
            hit |= xp.isnan(x)
        indices = xp.maximum.accumulate(xp.where(hit, pos, 0), axis=ax).astype("int64")
        self.indices = indices  # the caller may drop the indices Tensor before backward
        return values, indices

    def backward(self, g, _):
        return scatter_add_along(g, self.axis, Tensor(self.indices), self.inputs[0].shape)


def _running_extreme(op, largest, input, dim, axis):  # noqa: A002
    ax = _axis(op, *refuse_complex(op, input), dim, axis)
    if input.ndim == 0:
        xp = get_array_module(input._data)
        return ValuesIndices(input * 1 if input.dtype.kind == "f" else input,
                             Tensor(xp.zeros((), "int64")))
    if input.shape[ax] == 0:
        xp = get_array_module(input._data)
        return ValuesIndices(input * 1 if input.dtype.kind == "f" else input,
                             Tensor(xp.zeros(input.shape, "int64")))
    return ValuesIndices(*RunningExtreme.apply(input, axis=ax, largest=largest))


def cummax(input, dim=None, *, axis=None):  # noqa: A002 - PyTorch's name
    """Running maximum along ``dim``: ``(values, indices)``; each value's gradient goes to the
    entry it came from (ties: the later one, as PyTorch)."""
    return _running_extreme("cummax", True, input, dim, axis)


def cummin(input, dim=None, *, axis=None):  # noqa: A002 - PyTorch's name
    """Running minimum along ``dim``: ``(values, indices)``, as ``cummax``."""
    return _running_extreme("cummin", False, input, dim, axis)


class LogCumSumExp(Function):
    def forward(self, x):
        xp = get_array_module(x)
        wide = _widened(xp, lambda a: xp.logaddexp.accumulate(a, axis=self.axis), x)
        return xp.logaddexp.accumulate(x, axis=self.axis) if wide is None else wide

    def backward(self, g):
        return LogCumSumExpAdjoint.apply(g, self.inputs[0], self.output, axis=self.axis,
                                         from_end=True)


class LogCumSumExpAdjoint(Function):
    """The linear maps of the log-sum-exp's gradient, K g and its transpose K^T g, where
    K_ij = e^(x_i - y_j) for j >= i (every entry <= 1): ``from_end`` gives
    (K g)_i = sum_{j >= i} g_j e^(x_i - y_j), else (K^T g)_j = sum_{i <= j} g_i e^(x_i - y_j).
    Each is linear in g whatever g's values (a zero g still has its derivative, as ``jvp``'s
    zero cotangents need), and its gradients are the other map, so it differentiates again to
    any order."""

    def forward(self, g, x, y):
        xp = get_array_module(g)
        if str(g.dtype) in WIDER:
            return _widened(xp, self.forward, g, x, y)
        axis, from_end = self.axis, self.from_end
        inner, outer = (-y, x) if from_end else (x, -y)

        def running(t):  # log-sum-exp from the end (from_end) or from the start
            if not from_end:
                return xp.logaddexp.accumulate(t, axis=axis)
            return xp.flip(xp.logaddexp.accumulate(xp.flip(t, axis), axis=axis), axis)

        with xp.errstate(all="ignore"):
            parts = [running(xp.where(side, xp.log(xp.abs(g)), -xp.inf) + inner) + outer
                     for side in (g > 0, g < 0)]
            out = xp.exp(parts[0]) - xp.exp(parts[1])
        return out.astype(g.dtype, copy=False)

    def backward(self, h):
        g, x, y = self.inputs
        other = LogCumSumExpAdjoint.apply(h, x, y, axis=self.axis, from_end=not self.from_end)
        if self.from_end:  # out = K g: d/dx_i = h_i out_i, d/dy_j = -g_j (K^T h)_j
            return other, h * self.output, -(g * other)
        return other, g * other, -(h * self.output)  # out = K^T g


def logcumsumexp(input, dim=None, *, axis=None):  # noqa: A002 - PyTorch's name
    """``log(cumsum(exp(x)))`` along ``dim``, computed without overflow (complex too:
    scan_complex.py)."""
    ax = _axis("logcumsumexp", input, dim, axis)
    x = input
    if x.dtype.kind not in "fc":
        raise TypeError(f"logcumsumexp: expected a floating-point or complex tensor, got dtype "
                        f"{x.dtype}")
    if x.ndim == 0:
        return x * 1
    if x.dtype.kind == "c":
        return complex_logcumsumexp(x, ax)
    return LogCumSumExp.apply(x, axis=ax)


for _name, _fn in {"cumprod": cumprod, "cummax": cummax, "cummin": cummin,
                   "logcumsumexp": logcumsumexp}.items():
    setattr(Tensor, _name, _fn)
