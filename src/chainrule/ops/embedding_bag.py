"""``embedding_bag``: the sum, mean or maximum of a bag of embedding rows, for sparse inputs.

A bag of n-grams is a short list of feature ids per document (a few hundred of possibly millions),
with a weight each (its TF-IDF). Looking the rows up and reducing them within each bag never
builds the dense (documents x features) matrix: the forward pass gathers ``L`` rows (``L`` the
total number of ids in the batch) and reduces consecutive runs of them, and the weight's gradient
is the output gradient scattered back into those ``L`` rows, so both cost O(L x embedding_dim).

The op is composed: a row lookup (``getitem``, whose gradient is a scatter-add), an optional
product with the per-sample weights, and a segment reduction, ``SegmentSum`` or ``SegmentMax``,
defined here. The gradient of a segment sum is a gather (``getitem``) and the gradient of that
gather is a segment sum again, so the op differentiates to any order.
"""

from __future__ import annotations

import numbers

from ..autograd.function import Function
from ..autograd.mode import _trace_recorder
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._bag_record import recorded_bags
from .shape import ScatterAdd, getitem, reshape

__all__ = ["embedding_bag"]

MODES = ("sum", "mean", "max")


class SegmentSum(Function):
    """Rows of ``x`` (L, D) summed within bags: ``out[b] = x[start_b : start_b + count_b].sum(0)``.

    ``starts`` and ``counts`` (B,) describe consecutive runs covering ``x``; ``segment`` (L,) is
    each row's bag. An empty bag sums to zeros.
    """

    def forward(self, x):
        xp = get_array_module(x)
        out = xp.zeros((len(self.counts), x.shape[1]), dtype=x.dtype)
        full = self.counts > 0
        if x.shape[0]:
            # reduceat over the non-empty bags' starts: each run ends where the next one starts.
            out[full] = xp.add.reduceat(x, self.starts[full], axis=0)
        return out

    def backward(self, g):
        return getitem(g, self.segment)


class SegmentMax(Function):
    """The largest row entry within each bag, per column; an empty bag gives zeros.

    The gradient goes to the first row holding the maximum (of each bag and column).
    """

    def forward(self, x):
        xp = get_array_module(x)
        out = xp.zeros((len(self.counts), x.shape[1]), dtype=x.dtype)
        self.full = xp.flatnonzero(self.counts > 0)
        if not x.shape[0]:
            self.where = None
            return out
        starts = self.starts[self.full]
        top = xp.maximum.reduceat(x, starts, axis=0)
        out[self.full] = top
        rows = xp.arange(x.shape[0])[:, None]
        first = xp.where(x == top[self.segment_of_full], rows, x.shape[0])
        self.where = (xp.minimum.reduceat(first, starts, axis=0),
                      xp.broadcast_to(xp.arange(x.shape[1]), top.shape))
        self.rows = x.shape
        return out

    def backward(self, g):
        if self.where is None:  # no rows at all
            return Tensor(get_array_module(g._data).zeros((0, g.shape[1]), dtype=g.dtype))
        routed = getitem(g, self.full)
        return ScatterAdd.apply(routed, index=self.where, shape=self.rows, accumulate=False)


def embedding_bag(input, weight, offsets=None, *, mode: str = "mean",  # noqa: A002 - torch
                  per_sample_weights=None,
                  include_last_offset: bool = False, padding_idx: int | None = None):
    """Reduce bags of rows of ``weight``: PyTorch's ``F.embedding_bag`` (dense gradient).

    Args:
        input: integer ids, a Tensor, array or nested list: 2-D ``(B, N)`` (each row one bag of
            ``N`` ids, ``offsets`` must be None) or 1-D ``(L,)`` with ``offsets``.
        weight: the table, a 2-D Tensor ``(num_embeddings, embedding_dim)``.
        offsets: 1-D ints, where each bag starts in ``input``; the first must be 0 and they must
            not decrease (equal offsets make an empty bag, which reduces to zeros).
        mode: ``"sum"``, ``"mean"`` (PyTorch's default) or ``"max"``.
        per_sample_weights: a float Tensor or array of ``input``'s shape, scaling each row before
            the sum (``mode="sum"`` only, as in PyTorch); differentiable.
        include_last_offset: ``offsets`` has one more entry, the end of the last bag
            (``offsets[-1]``, which must be ``len(input)``), as a CSR matrix's ``indptr``.
        padding_idx: an id that is left out of every bag (neither summed nor counted in a mean);
            negative counts from the end.

    Returns:
        A Tensor ``(B, embedding_dim)``.

    While ``cr.trace`` or ``cr.onnx.export`` records a model, bags given by offsets or with a
    ``padding_idx`` are computed from recorded ops of the ids and offsets (``_bag_record``).

    >>> import chainrule as cr
    >>> w = cr.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    >>> embedding_bag([0, 2, 1, 1], w, [0, 2], mode="sum").tolist()
    [[3.0, 2.0], [0.0, 2.0]]
    """
    return reduce_bags(input, weight, offsets, mode, per_sample_weights, include_last_offset,
                       padding_idx)


def reduce_bags(input, weight, offsets, mode, per_sample_weights, include_last_offset,  # noqa: A002
                padding_idx, lookup=None):
    """``embedding_bag`` with the rows looked up by ``lookup(weight, ids)`` (ids: the 1-D int
    array of the ids kept, bag after bag, in input order) where given: ``nn``'s
    ``sparse=True`` passes a lookup whose weight gradient is a sparse tensor."""
    if mode not in MODES:
        raise ValueError(f"embedding_bag: mode must be one of {MODES}, got {mode!r}")
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError("embedding_bag: weight must be a 2-D Tensor (num_embeddings, "
                         f"embedding_dim), got {_describe(weight)}")
    xp = get_array_module(weight._data)
    ids = _int_array(input, "input", xp)
    n_rows = weight.shape[0]
    if ids.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: offsets must be None when input is 2-D (each row is "
                             f"a bag), got offsets of {len(_int_array(offsets, 'offsets', xp))}")
        include_last_offset = False  # PyTorch's: each row is a bag, whatever the flag says
        starts = xp.arange(ids.shape[0], dtype=xp.int64) * ids.shape[1]
        ends = starts + ids.shape[1]
    elif ids.ndim == 1:
        if offsets is None:
            raise ValueError("embedding_bag: a 1-D input needs offsets (where each bag starts); "
                             f"got input of shape {ids.shape} and offsets=None")
        starts, ends = _bags(_int_array(offsets, "offsets", xp), len(ids), include_last_offset)
    else:
        raise ValueError(f"embedding_bag: input must be 1-D (with offsets) or 2-D (B, N), got "
                         f"shape {ids.shape}")
    psw = _sample_weights(per_sample_weights, ids.shape, mode, weight, xp)
    flat = ids.reshape(-1)
    if padding_idx is not None:
        padding_idx = _padding(padding_idx, n_rows)
    if lookup is None and _trace_recorder.get() is not None and (
            ids.ndim == 1 or padding_idx is not None):  # bags a recording must follow
        return recorded_bags(input, ids, weight, offsets, mode, psw, include_last_offset,
                             padding_idx, _bags)
    # Keep the ids inside a bag (and not the padding id); renumber the bags over what is kept.
    lengths = ends - starts
    bag = xp.repeat(xp.arange(len(starts)), lengths)
    # The positions start_b, start_b + 1, ... of every bag, without a Python loop over the bags.
    pos = xp.arange(len(bag), dtype=xp.int64) + xp.repeat(starts - (xp.cumsum(lengths) - lengths),
                                                          lengths)
    if padding_idx is not None:
        keep = flat[pos] != padding_idx
        pos, bag = pos[keep], bag[keep]
    counts = xp.bincount(bag, minlength=len(starts)).astype(xp.int64)
    new_starts = xp.cumsum(counts) - counts
    # Bags of equal length (a 2-D input, no padding id) keep every id in order: the index is the
    # input itself, recorded as an op of it (so chainrule.trace and ONNX export follow the ids).
    whole = ids.ndim == 2 and padding_idx is None and isinstance(input, Tensor)
    if lookup is None:
        index = reshape(input, (-1,)) if whole else Tensor(flat[pos])
        rows = getitem(weight, index, rows=("embedding_bag", n_rows))
    else:
        rows = lookup(weight, flat[pos])
    if psw is not None:
        rows = rows * (reshape(psw, (-1, 1)) if whole else
                       reshape(getitem(reshape(psw, (-1,)), pos), (-1, 1)))
    params = {"starts": new_starts, "counts": counts, "segment": bag}
    if mode == "max":
        return SegmentMax.apply(rows, **params, segment_of_full=_rank(bag, counts, xp))
    out = SegmentSum.apply(rows, **params)
    if mode == "mean" and whole:
        out = out * (1.0 / max(ids.shape[1], 1))  # one count for every bag
    elif mode == "mean":
        out = out * (1.0 / xp.maximum(counts, 1)).astype(weight.dtype)[:, None]
    return out


def _rank(bag, counts, xp):
    """Each row's bag numbered among the non-empty bags only (the rows of reduceat's output)."""
    full_rank = xp.cumsum(counts > 0) - 1
    return full_rank[bag]


def _bags(offsets, n_ids, include_last):
    if offsets.ndim != 1:
        raise ValueError(f"embedding_bag: offsets must be 1-D, got shape {offsets.shape}")
    if include_last and len(offsets) < 1:
        raise ValueError("embedding_bag: include_last_offset needs at least one offset (the end)")
    if len(offsets) and int(offsets[0]) != 0:
        raise ValueError(f"embedding_bag: offsets[0] must be 0, got {int(offsets[0])}")
    if len(offsets) > 1 and bool((offsets[1:] < offsets[:-1]).any()):
        raise ValueError(f"embedding_bag: offsets must not decrease, got {_head(offsets)}")
    if len(offsets) and int(offsets[-1]) > n_ids:
        raise ValueError(f"embedding_bag: offsets must be at most len(input) = {n_ids}, got "
                         f"{int(offsets[-1])}")
    if include_last:
        if int(offsets[-1]) != n_ids:  # PyTorch's last bag runs on to the end, whatever it says
            raise ValueError(f"embedding_bag: with include_last_offset=True the last offset is the "
                             f"end of the last bag and must be len(input) = {n_ids}, got "
                             f"{int(offsets[-1])}")
        return offsets[:-1], offsets[1:]
    xp = get_array_module(offsets)
    return offsets, xp.concatenate([offsets[1:], xp.asarray([n_ids], dtype=offsets.dtype)])


def _sample_weights(psw, shape, mode, weight, xp):
    if psw is None:
        return None
    if mode != "sum":
        raise ValueError(f"embedding_bag: per_sample_weights need mode='sum', got mode={mode!r} "
                         "(as in PyTorch)")
    if not isinstance(psw, Tensor):
        psw = xp.asarray(psw)
        if psw.dtype.kind != "f":
            raise TypeError(f"embedding_bag: per_sample_weights must be floats, got {psw.dtype}")
        psw = Tensor(psw.astype(weight.dtype, copy=False))
    if psw.dtype != weight.dtype:
        raise TypeError(f"embedding_bag: per_sample_weights must have the weight's dtype "
                        f"{weight.dtype}, got {psw.dtype}")
    if psw.shape != tuple(shape):
        raise ValueError(f"embedding_bag: per_sample_weights must have input's shape "
                         f"{tuple(shape)}, got {psw.shape}")
    return psw


def _int_array(value, name, xp):
    data = value._data if isinstance(value, Tensor) else value
    if isinstance(data, (list, tuple)) and len(data) == 0:
        data = xp.zeros(0, dtype=xp.int64)
    elif isinstance(data, (list, tuple, numbers.Integral)):
        data = xp.asarray(data)
    if not hasattr(data, "dtype") or data.dtype.kind not in "iu":
        got = getattr(data, "dtype", type(value).__name__)
        raise TypeError(f"embedding_bag: {name} must be integers (e.g. dtype int64), got {got}")
    return xp.asarray(data).astype(xp.int64, copy=False)


def _padding(padding_idx, n_rows):
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, numbers.Integral):
        raise TypeError(f"embedding_bag: padding_idx must be an int or None, got {padding_idx!r}")
    if not -n_rows <= padding_idx < n_rows:
        raise ValueError(f"embedding_bag: padding_idx must be within [-{n_rows}, {n_rows - 1}], "
                         f"got {padding_idx}")
    return int(padding_idx) % n_rows


def _describe(x):
    return f"{type(x).__name__} of shape {getattr(x, 'shape', None)}"


def _head(a, n=8):
    items = a[:n].tolist()
    return str(items)[:-1] + (", ...]" if len(a) > n else "]")
