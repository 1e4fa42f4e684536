"""Perturbation attributions: how much the score falls when part of the input is replaced.

* ``occlusion``: a window slides over the input and each input is credited with the mean fall of
  the score over the windows that cover it (Zeiler & Fergus 2014's grey square; Captum's
  ``Occlusion``).
* ``feature_ablation``: the input is split into groups by an integer mask, and each group is
  replaced at once; every input of a group is credited with the group's fall (Captum's
  ``FeatureAblation``; without a mask every input is its own group).

No gradient is taken: these work for any model, also one that is not differentiable.
"""

from __future__ import annotations

import itertools
import math

from ..autograd import Tensor
from ..backend import asnumpy, numpy
from ._common import (
    Progress,
    as_batch,
    batches,
    check_output,
    check_positive_int,
    chosen_scores,
    eval_mode,
    resolve_targets,
)
from .multi_input import pack

__all__ = ["feature_ablation", "occlusion"]


def feature_groups(who, x, feature_mask):
    """The integer group of every input, shaped like one sample or like ``x`` (``feature_mask``;
    without one, each input is its own group), and the sorted group ids."""
    if feature_mask is None:
        groups = numpy.arange(math.prod(x.shape[1:])).reshape(x.shape[1:])
    else:
        if isinstance(feature_mask, Tensor):
            feature_mask = asnumpy(feature_mask._data)
        groups = numpy.asarray(feature_mask)
        if groups.dtype.kind not in "iub" or groups.shape not in (
                x.shape[1:], (1, *x.shape[1:]), x.shape):
            raise ValueError(f"{who}: feature_mask must hold integers shaped like one sample "
                             f"{x.shape[1:]} or like x {x.shape}, got dtype {groups.dtype} "
                             f"and shape {groups.shape}")
        if groups.shape == (1, *x.shape[1:]):
            groups = groups[0]
    return groups, numpy.unique(groups)


def _like_x(who: str, name: str, value, x):
    """``value`` (a number, an array shaped like one sample or like ``x``) broadcast to x."""
    if isinstance(value, Tensor):
        value = asnumpy(value._data)
    arr = numpy.asarray(value)
    if arr.dtype.kind not in "fiub" or arr.shape not in ((), x.shape[1:], (1, *x.shape[1:]),
                                                          x.shape):
        raise ValueError(f"{who}: {name} must be a number or an array shaped like one sample "
                         f"{x.shape[1:]} or like x {x.shape}, got {value!r:.80}")
    return numpy.broadcast_to(arr, x.shape)


def _windows(who, shape, window, stride):
    """The axes the window slides over, its size on them, and its start positions on each.

    An int (or a tuple as long as that) slides over the sample's last axis (tabular, and
    sequences (L, D)) or last two (images), covering the axes before them; a tuple with one entry
    per axis of the sample (Captum's ``sliding_window_shapes``) slides over all of them, e.g.
    ``(1, D)`` over the tokens of an embedded sequence. Positions step by ``stride`` from 0 for
    as long as the window still starts inside the input, so the last window may stick out past
    the edge and cover fewer inputs, as Captum's does.
    """
    if isinstance(window, (tuple, list)) and len(window) == len(shape):
        axes = tuple(range(len(shape)))
    else:
        axes = tuple(range(len(shape)))[-2:] if len(shape) >= 3 else (len(shape) - 1,)
    extent = tuple(shape[a] for a in axes)
    size = (window,) * len(axes) if isinstance(window, int) else tuple(window)
    step = (stride,) * len(axes) if isinstance(stride, int) else tuple(stride)
    for name, v in (("window", size), ("stride", step)):
        if len(v) != len(axes) or not all(isinstance(s, (int, numpy.integer)) and s >= 1
                                          and not isinstance(s, bool) for s in v):
            raise ValueError(f"{who}: {name} must be a positive int or {len(axes)} of them "
                             f"for samples of shape {shape}, got {v!r}")
    if any(s > n for s, n in zip(size, extent)):
        raise ValueError(f"{who}: window {size} is larger than the sample's extent {extent}")
    if any(st > s < n for s, st, n in zip(size, step, extent)):  # gaps: 0 / 0 there
        raise ValueError(f"{who}: stride {step} is larger than the window {size}; inputs "
                         "between windows would be covered by none")
    starts = [range(0, st * (math.ceil((n - s) / st) + 1), st)
              for n, s, st in zip(extent, size, step)]
    return axes, size, list(itertools.product(*starts))


def occlusion(model, x, target=None, *, window=4, stride=2, fill=0.0, output: str = "logit",
              batch_size: int = 256, progress: bool = False, additional_forward_args=None):
    """Occlusion sensitivity: the fall of the score when a window of the input is covered.

    For images (N, C, H, W) the window is a square over the last two axes and covers every
    channel (or give one size per axis of a sample, e.g. ``(1, 4, 4)``, to slide over the channels
    too); for tabular (N, D) inputs it spans ``window`` neighbouring features, and for sequences
    (N, L, D) ``window`` neighbouring features of every position (``window=(1, D)``: one
    position at a time). Each input's
    attribution is the mean of ``f(x) - f(x with the window filled)`` over the windows that cover
    it, as Zeiler & Fergus's grey-square sweep and Captum's ``Occlusion``.

    Args:
        window: the window's size, an int or one per axis.
        stride: its step, at most the window (larger steps would leave inputs uncovered). The
            windows start at 0, stride, 2 stride, ... while they start inside the input, so where
            the stride does not divide the rest, the last window sticks out past the edge (and
            covers fewer inputs), as in Captum.
        fill: the value put in the window: a number, "mean" (each sample's own mean), or an
            array shaped like one sample or like ``x`` (Captum's ``baselines``).
        additional_forward_args: more arguments of the model, not attributed; ``x`` may be a
            tuple of inputs, each occluded on its own with the others left as they are (window,
            stride and fill then may be tuples with one entry per input), giving a tuple
            (Captum's; ``multi_input``).
        (the other Args as ``saliency``)

    Returns:
        An array shaped like ``x``.
    """
    who = "occlusion"
    for f in (fill if isinstance(x, tuple) and isinstance(fill, (tuple, list)) else (fill,)):
        if isinstance(f, str) and f != "mean":
            raise ValueError(f"{who}: fill must be a number, 'mean' or an array, got {f!r}")
    packed = pack(who, model, x, additional_forward_args)
    if packed is not None:
        masks = [packed.embed(k, m) for k, (xi, w, s) in enumerate(zip(
            packed.xs, packed.each("window", window), packed.each("stride", stride)))
            for m in _window_masks(who, xi, w, s)]
        with numpy.errstate(invalid="ignore"):  # the index column: covered by no window
            flat = _ablate(who, packed.model, packed.x, target, masks,
                           packed.like_x("fill", fill, mean=True), output, batch_size, progress,
                           mean=True)
        return packed.unpack(flat)
    x = as_batch(who, model, x)
    if not (isinstance(fill, str) and fill == "mean"):
        fill = _like_x(who, "fill", fill, x)
    masks = _window_masks(who, x, window, stride)
    return _ablate(who, model, x, target, masks, fill, output, batch_size, progress, mean=True)


def _window_masks(who, x, window, stride):
    """One boolean mask shaped like a sample of ``x`` per position of the sliding window."""
    axes, size, positions = _windows(who, x.shape[1:], window, stride)
    masks = []
    for pos in positions:
        region = [slice(None)] * (x.ndim - 1)
        for a, p, s in zip(axes, pos, size):
            region[a] = slice(p, p + s)
        mask = numpy.zeros(x.shape[1:], dtype=bool)
        mask[tuple(region)] = True
        masks.append(mask)
    return masks


def feature_ablation(model, x, target=None, *, feature_mask=None, baseline=0.0,
                     output: str = "logit", batch_size: int = 256, progress: bool = False,
                     additional_forward_args=None):
    """Feature ablation: the fall of the score when a group of inputs is set to ``baseline``.

    Args:
        feature_mask: integers shaped like one sample or like ``x`` (then each sample has its
            own grouping): inputs with the same number are replaced together, and each is
            credited with the whole fall of its group. None: every input is its own group.
        baseline: the replacement, a number or an array shaped like one sample or like ``x``.
        additional_forward_args: as ``saliency``'s; ``x`` may be a tuple of inputs, giving a
            tuple (Captum's): ``baseline`` and ``feature_mask`` then may be tuples with one
            entry per input, and a group number used in several inputs' masks is one group
            across them, as in Captum (without masks, every input of every tensor is its own).
        (the other Args as ``saliency``)

    Returns:
        An array shaped like ``x``: ``f(x) - f(x with the group of each input replaced)``.
        For a linear model without a mask it is ``(x - baseline) * W[target]``.
    """
    who = "feature_ablation"
    packed = pack(who, model, x, additional_forward_args)
    if packed is not None:
        groups, index = _packed_groups(who, packed, feature_mask)
        masks = [groups == g for g in numpy.unique(groups) if g != index]
        flat = _ablate(who, packed.model, packed.x, target, masks,
                       packed.like_x("baseline", baseline), output, batch_size, progress,
                       mean=False)
        return packed.unpack(flat)
    x = as_batch(who, model, x)
    base = _like_x(who, "baseline", baseline, x)
    groups, ids = feature_groups(who, x, feature_mask)
    masks = [groups == g for g in ids]
    return _ablate(who, model, x, target, masks, base, output, batch_size, progress, mean=False)


def _packed_groups(who, packed, feature_mask):
    """The group of every column of a packed batch (``multi_input``) from each input's mask (an
    input without one: one group per input of it, numbered past the masks' numbers), and the
    index column's number (below every group). Shaped (D + 1,), or (N, D + 1) when a mask is
    given per sample."""
    masks = (list(feature_mask) if packed.multi and isinstance(feature_mask, (tuple, list))
             else [feature_mask] * len(packed.xs))
    if len(masks) != len(packed.xs):
        raise ValueError(f"{who}: feature_mask must have one mask per input ({len(packed.xs)}), "
                         f"got {len(masks)}")
    cols = [None if m is None else feature_groups(who, xi, m)[0]
            for xi, m in zip(packed.xs, masks)]
    start = max((int(g.max()) + 1 for g in cols if g is not None and g.size), default=0)
    for k, xi in enumerate(packed.xs):
        if cols[k] is None:
            cols[k] = feature_groups(who, xi, None)[0] + start
            start += cols[k].size
    per_sample = any(g.shape == xi.shape for g, xi in zip(cols, packed.xs))
    lead = (packed.n,) if per_sample else ()
    cols = [numpy.broadcast_to(g, lead + xi.shape[1:]).reshape(*lead, -1)
            for g, xi in zip(cols, packed.xs)]
    index = min(int(g.min()) for g in cols if g.size) - 1 if any(g.size for g in cols) else -1
    return numpy.concatenate(cols + [numpy.full(lead + (1,), index)], axis=-1), index


def _ablate(who, model, x, target, masks, fill, output, batch_size, progress, *, mean):
    """Sum (or, with ``mean``, average) over ``masks`` of the score's fall, onto the inputs each
    mask covers. A mask is shaped like one sample, or like ``x`` (one per sample)."""
    check_output(who, output)
    batch_size = check_positive_int(who, "batch_size", batch_size)
    t = resolve_targets(who, model, x, target, output=output, batch_size=batch_size)
    scores = chosen_scores(model, x, t, output, batch_size)
    total = numpy.zeros(x.shape, dtype=numpy.float64)
    count = numpy.zeros(x.shape, dtype=numpy.float64)
    per = max(batch_size // len(masks), 1)
    bar = Progress(who, len(x) * len(masks), enabled=progress)
    with eval_mode(model):
        for sl in batches(len(x), per):
            xs = x[sl]
            if isinstance(fill, str):  # "mean": each sample's own mean
                fs = numpy.broadcast_to(xs.reshape(len(xs), -1).mean(axis=1).reshape(
                    (-1,) + (1,) * (x.ndim - 1)), xs.shape)
            else:
                fs = fill[sl]
            cover = [numpy.broadcast_to(m if m.ndim == x.ndim - 1 else m[sl], xs.shape)
                     for m in masks]
            rows = numpy.stack([numpy.where(c, fs, xs) for c in cover]).astype(x.dtype)
            tt = numpy.tile(t[sl], len(masks))
            after = chosen_scores(model, rows.reshape(-1, *x.shape[1:]), tt, output, batch_size)
            drop = scores[sl][None] - after.reshape(len(masks), len(xs))
            for j, c in enumerate(cover):
                total[sl] += numpy.where(c, drop[j].reshape((-1,) + (1,) * (x.ndim - 1)), 0.0)
                count[sl] += c
            bar.update(len(masks) * len(xs))
    bar.close()
    if mean:
        total = total / count
    return total.astype(x.dtype)
