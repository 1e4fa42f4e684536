"""Order statistics, PyTorch's names: quantile, nanquantile, nanmean, nanmedian, kthvalue, mode,
msort.

Each picks entries of the input by their rank (a stable sort's order, NaN last) and then gathers
them from the input itself, so the gradient goes to the entries picked: to the two neighbours a
quantile interpolates between (weights 1 - w and w), to the k-th smallest, to the median, to the
mode's last occurrence. The ranks are array work; the values are recorded ``gather``s and ``lerp``s.
"""

from __future__ import annotations

from typing import NamedTuple

from ..autograd.function import nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module, quiet
from ._args import reduce_dim
from ._promotion import plain_numbers
from ._real_only import refuse_bool, refuse_complex
from .indexing import gather, sort
from .math import lerp
from .rearrange import movedim
from .reduce import _check_nonempty
from .shape import _one_axis, reshape, squeeze
from .stats import _Picked, nansum

__all__ = ["kthvalue", "mode", "msort", "nanmean", "nanmedian", "nanquantile", "quantile"]

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


class ValuesIndices(NamedTuple):
    """``kthvalue``, ``mode`` and ``nanmedian`` along a dim: the values and where they are."""

    values: Tensor
    indices: Tensor


def _tensor(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x


def _quantiles(op, q, xp, dtype):
    """q as a 1-D float64 array and whether it was a scalar (or 0-D)."""
    if isinstance(q, Tensor) and q.dtype != dtype:
        raise TypeError(f"{op}: q must have the input's dtype {dtype} (PyTorch's rule), got "
                        f"{q.dtype}")
    arr = q._data if isinstance(q, Tensor) else q
    if isinstance(arr, bool) or not (isinstance(arr, (int, float)) or hasattr(arr, "dtype")):
        raise TypeError(f"{op}: q must be a float or a Tensor, got {q!r}")
    arr = xp.asarray(arr, dtype="float64")
    if arr.ndim > 1:
        raise ValueError(f"{op}: q must be a scalar or a 1-D tensor, got shape {arr.shape}")
    if arr.size and not bool(((arr >= 0) & (arr <= 1)).all()):
        raise ValueError(f"{op}: q values must be in the range [0, 1], got {arr.tolist()}")
    return arr.reshape(-1), arr.ndim == 0


def _quantile(op, input, q, dim, keepdim, interpolation, ignore_nan):  # noqa: A002
    x = _tensor(op, input)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating-point tensor, got dtype {x.dtype}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{op}: interpolation must be one of {', '.join(_INTERPOLATIONS)}, "
                         f"got {interpolation!r}")
    xp = get_array_module(x._data)
    qs, scalar = _quantiles(op, q, xp, x.dtype)
    shape = x.shape
    if dim is None:
        x, axis = reshape(x, -1), 0
    else:
        axis = _one_axis(op, dim, max(x.ndim, 1))
        if x.ndim == 0:
            x = reshape(x, 1)
    if x.shape[axis] == 0:
        raise ValueError(f"{op}: input is empty along dim {axis} (shape {tuple(shape)})")
    data = x._data
    nan = xp.isnan(data)
    n = data.shape[axis]
    count = (n - nan.sum(axis=axis, keepdims=True)) if ignore_nan else xp.full(
        nan.any(axis=axis, keepdims=True).shape, n)
    rank = qs.reshape((1,) * axis + (-1,) + (1,) * (data.ndim - axis - 1)) * (count - 1)
    lo, hi = xp.floor(rank), xp.ceil(rank)
    if interpolation == "nearest":  # half to even, as PyTorch's round
        lo = hi = xp.round(rank)
    # a NaN where none may be ignored: the answer is the last NaN (sorted last); a slice of NaN
    # only (nanquantile): its first NaN. Either way the NaN's gradient goes where PyTorch's does.
    void = nan.any(axis=axis, keepdims=True) if not ignore_nan else (count == 0)
    lo, hi = (xp.where(void, 0 if ignore_nan else n - 1, r).astype("int64") for r in (lo, hi))
    order = xp.argsort(data, axis=axis, kind="stable")
    lo_v = gather(x, axis, Tensor(xp.take_along_axis(order, lo, axis)))
    hi_v = gather(x, axis, Tensor(xp.take_along_axis(order, hi, axis)))
    if interpolation in ("lower", "nearest"):
        out = lo_v
    elif interpolation == "higher":
        out = hi_v
    else:
        w = xp.where(void, 0.0, 0.5 if interpolation == "midpoint" else rank - xp.floor(rank))
        with quiet(xp):  # between two infinities: NaN, as PyTorch's, without a warning
            out = lerp(lo_v, hi_v, Tensor(w.astype(data.dtype)))
    if keepdim:  # the reduced axis kept as 1 (all of them for dim=None), quantiles in front
        kept = (1,) * len(shape) if dim is None else tuple(
            1 if i == axis else s for i, s in enumerate(shape))
        out = reshape(movedim(out, axis, 0), (len(qs),) + kept)
    else:
        out = movedim(out, axis, 0)
    return squeeze(out, 0) if scalar else out


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):  # noqa: A002
    """The q-th quantiles of the entries along ``dim`` (all for None); NaN where a slice holds one.

    Args:
        q: a float or a 0-D/1-D tensor of values in [0, 1]; for a 1-D q the quantiles are the
            first dimension of the result.
        interpolation: between the two entries around the rank q (n - 1): "linear", "lower",
            "higher", "midpoint" or "nearest" (ties to even), as PyTorch.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0, 4.0])
    >>> cr.quantile(x, 0.5).item(), cr.quantile(x, 0.5, interpolation="lower").item()
    (2.5, 2.0)
    """
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):  # noqa: A002
    """``quantile`` of the entries that are not NaN (NaN for a slice of NaN only)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """The mean of the entries that are not NaN (NaN for a slice of NaN only)."""
    x = _tensor("nanmean", input)
    if dtype is not None:
        x = x.astype(dtype)
    if x.dtype.kind != "f":
        raise TypeError(f"nanmean: input must be a floating-point tensor, got dtype {x.dtype}")
    xp = get_array_module(x._data)
    dim = reduce_dim(dim)
    axes = tuple(dim) if isinstance(dim, (list, tuple)) else dim
    count = (~xp.isnan(x._data)).sum(axis=axes, keepdims=bool(keepdim))
    count = xp.where(count == 0, xp.nan, count).astype(x.dtype)  # 0 / NaN: NaN, no warning
    return nansum(x, dim, keepdim) / Tensor(count)


def nanmedian(input, dim=None, keepdim=False):  # noqa: A002
    """The lower median of the entries that are not NaN; along ``dim``, ``(values, indices)``.
    A slice of NaN only gives NaN."""
    x = _tensor("nanmedian", input)
    refuse_bool("nanmedian", refuse_complex("nanmedian", x)[0])
    xp = get_array_module(x._data)
    if dim is None:
        if x._data.size == 0:
            raise ValueError("nanmedian: input is empty")
        return _Picked.apply(x, pick=lambda flat: _nanmedian_pick(flat, 0, xp)[0])
    axis = _one_axis("nanmedian", dim, max(x.ndim, 1))
    x1 = reshape(x, 1) if x.ndim == 0 else x
    _check_nonempty("nanmedian", x1, (axis,))
    return _pick(x1, axis, lambda a: _nanmedian_pick(a, axis, xp), keepdim, x.ndim == 0)


def _nanmedian_pick(data, axis, xp):
    count = (~xp.isnan(data)).sum(axis=axis, keepdims=True)
    k = xp.maximum((count - 1) // 2, 0).astype("int64")
    return xp.take_along_axis(xp.argsort(data, axis=axis, kind="stable"), k, axis)


def _pick(x, axis, find, keepdim, scalar):
    """``(values, indices)`` of the entries ``find(array)`` names (keepdims shape) along ``axis``;
    found by a ``nondiff`` step, which a trace (cr.trace) runs again at every call."""
    idx = nondiff(find, x)
    values = gather(x, axis, idx)
    if scalar:
        return ValuesIndices(reshape(values, ()), reshape(idx, ()))
    if not keepdim:
        values, idx = squeeze(values, axis), squeeze(idx, axis)
    return ValuesIndices(values, idx)


def kthvalue(input, k, dim=-1, keepdim=False):  # noqa: A002
    """The k-th smallest entry (k from 1) along ``dim`` and its index, ``(values, indices)``;
    NaN counts as the largest value. Among equal entries the first is named."""
    x = _tensor("kthvalue", input)
    refuse_bool("kthvalue", refuse_complex("kthvalue", x)[0])
    axis = _one_axis("kthvalue", dim, max(x.ndim, 1))
    x1 = reshape(x, 1) if x.ndim == 0 else x
    n, k = x1.shape[axis], plain_numbers(k)[0]  # np.int64 k, as PyTorch (was refused)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
        raise ValueError(f"kthvalue: k must be an int in [1, {n}] (the size of dim {axis}), "
                         f"got {k!r}")
    xp = get_array_module(x._data)
    return _pick(x1, axis, lambda a: xp.take(xp.argsort(a, axis=axis, kind="stable"), [k - 1],
                                             axis=axis), keepdim, x.ndim == 0)


def mode(input, dim=-1, keepdim=False):  # noqa: A002
    """The most frequent value along ``dim`` (the smallest among equally frequent ones) and the
    index of its last occurrence, ``(values, indices)``, as PyTorch's."""
    x = _tensor("mode", input)
    axis = _one_axis("mode", dim, max(x.ndim, 1))
    x1 = reshape(x, 1) if x.ndim == 0 else x
    _check_nonempty("mode", x1, (axis,))
    return _pick(x1, axis, lambda a: _mode_pick(a, axis, get_array_module(a)), keepdim,
                 x.ndim == 0)


def _mode_pick(a, axis, xp):
    """The index of the last occurrence of the most frequent value along ``axis`` (keepdims)."""
    data = xp.moveaxis(a, axis, -1)
    s = xp.sort(data, axis=-1)
    n = s.shape[-1]
    pos = xp.arange(n)
    new = xp.ones(s.shape, bool)
    new[..., 1:] = s[..., 1:] != s[..., :-1]
    start = xp.maximum.accumulate(xp.where(new, pos, 0), axis=-1)
    last = xp.ones(s.shape, bool)
    last[..., :-1] = new[..., 1:]
    end = xp.flip(xp.minimum.accumulate(xp.flip(xp.where(last, pos, n), -1), axis=-1), -1)
    best = xp.argmax(end - start, axis=-1)[..., None]  # the first longest run: smallest value
    value = xp.take_along_axis(s, best, -1)
    hit = data == value
    idx = (n - 1 - xp.argmax(hit[..., ::-1], axis=-1))[..., None].astype("int64")
    return xp.moveaxis(idx, -1, axis)


def msort(input):  # noqa: A002
    """``input`` sorted along its first dimension (the values of ``sort(input, 0)``)."""
    return sort(refuse_complex("msort", _tensor("msort", input))[0], 0).values


_METHODS = {"quantile": quantile, "nanquantile": nanquantile, "nanmean": nanmean,
            "nanmedian": nanmedian, "kthvalue": kthvalue, "mode": mode, "msort": msort}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
