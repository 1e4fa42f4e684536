"""Argument checks of ``ctc_loss``: the lengths and the targets as host integer arrays, the
targets laid out padded (N, S) whichever of PyTorch's two layouts they came in."""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor
from ..backend import asnumpy, numpy


def _int_array(name, value):
    """``value`` (a Tensor, array, sequence or int) as a host integer array."""
    if isinstance(value, Tensor):
        value = value._data
    if isinstance(value, bool):
        raise TypeError(f"ctc_loss: {name} must hold integers, got {value!r}")
    if isinstance(value, numbers.Integral):
        value = [int(value)]
    try:
        data = numpy.asarray(asnumpy(value) if hasattr(value, "dtype") else value)
    except (TypeError, ValueError):
        raise TypeError(f"ctc_loss: {name} must be a Tensor, array or sequence of integers, got "
                        f"{type(value).__name__}") from None
    if data.dtype.kind not in "iu":
        raise TypeError(f"ctc_loss: {name} must hold integers (e.g. dtype int64), got dtype "
                        f"{data.dtype}")
    return data.astype(numpy.int64)


def lengths(name, value, n, limit, limit_name):
    """One length per sample: ``n`` integers in [0, ``limit``]."""
    data = _int_array(name, value).reshape(-1)
    if data.shape[0] != n:
        raise ValueError(f"ctc_loss: {name} must hold one length per sample ({n}), got "
                         f"{data.shape[0]} (shape {tuple(_int_array(name, value).shape)})")
    if data.size and (int(data.min()) < 0 or int(data.max()) > limit):
        raise ValueError(f"ctc_loss: {name} must be in [0, {limit}] ({limit_name}), got "
                         f"{data.tolist()}")
    return data


def padded_targets(targets, n, target_lengths, batched):
    """The targets as a host (N, S) integer array and the checked target lengths.

    Batched targets are padded (N, S) or concatenated 1-D (the sum of the lengths); unbatched
    ones are one sequence (S,)."""
    data = _int_array("targets", targets)
    if not batched:
        if data.ndim != 1:
            raise ValueError(f"ctc_loss: unbatched targets must be 1-D (S,), got shape "
                             f"{tuple(data.shape)}")
        data = data[None]
    if data.ndim == 2:
        if data.shape[0] != n:
            raise ValueError(f"ctc_loss: padded targets must be (N, S) with N = {n}, got shape "
                             f"{tuple(data.shape)}")
        tl = lengths("target_lengths", target_lengths, n, data.shape[1],
                     f"the targets' padded length, shape {tuple(data.shape)}")
        return data, tl
    if data.ndim != 1:
        raise ValueError(f"ctc_loss: targets must be padded (N, S) or concatenated 1-D, got shape "
                         f"{tuple(data.shape)}")
    tl = lengths("target_lengths", target_lengths, n, data.shape[0],
                 f"the concatenated targets' length {data.shape[0]}")
    if int(tl.sum()) != data.shape[0]:
        raise ValueError(f"ctc_loss: concatenated 1-D targets must have sum(target_lengths) = "
                         f"{int(tl.sum())} entries, got {data.shape[0]}")
    padded = numpy.zeros((n, int(tl.max()) if n else 0), numpy.int64)
    starts = numpy.concatenate([[0], numpy.cumsum(tl)[:-1]]).astype(numpy.int64)
    for i in range(n):
        padded[i, :tl[i]] = data[starts[i]:starts[i] + tl[i]]
    return padded, tl


def check_labels(padded, tl, n_classes, blank):
    """Every label within its sequence's length is a class other than ``blank``."""
    used = numpy.arange(padded.shape[1])[None, :] < tl[:, None]
    labels = padded[used]
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(f"ctc_loss: target labels must be classes in [0, {n_classes - 1}], got "
                         f"{int(labels.min())}..{int(labels.max())}")
    if (labels == blank).any():
        raise ValueError(f"ctc_loss: the targets hold the blank label {blank} within their "
                         f"target_lengths; a target sequence holds only non-blank labels")
