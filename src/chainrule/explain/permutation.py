"""Feature permutation (Captum's ``FeaturePermutation``; Breiman 2001's permutation importance,
per sample): the fall of the score when a group of inputs takes the values of other samples.

For each group of inputs (an integer ``feature_mask``; without one every input is its own group)
the samples of the batch are shuffled, each sample's group gets the values of the sample shuffled
into its place, and every input of the group is credited with ``f(x) - f(x with the group
shuffled)``. The replacement comes from the data, not from a chosen baseline: a group's values
that the model cannot tell apart from other samples' score near 0. The batch must hold at least two
samples, and each shuffle moves at least one of them.
"""

from __future__ import annotations

from ..backend import numpy
from ._common import (
    Progress,
    as_batch,
    check_output,
    check_positive_int,
    chosen_scores,
    eval_mode,
    generator,
    resolve_targets,
)
from .ablation import _packed_groups, feature_groups
from .multi_input import pack

__all__ = ["feature_permutation"]


def _shuffles(who, n, n_groups, permutations, rng):
    if permutations is None:
        gen = generator(rng)
        out = []
        for _ in range(n_groups):
            perm = gen.permutation(n)
            while (perm == numpy.arange(n)).all():  # a shuffle that moves nothing: draw again
                perm = gen.permutation(n)
            out.append(perm)
        return out
    out = [numpy.asarray(p) for p in permutations]
    if len(out) != n_groups or any(p.shape != (n,) or sorted(p.tolist()) != list(range(n))
                                   for p in out):
        raise ValueError(f"{who}: permutations must be {n_groups} permutations of the {n} "
                         f"samples (one per group, in the order of the mask's sorted ids), got "
                         f"{permutations!r:.80}")
    return out


def feature_permutation(model, x, target=None, *, feature_mask=None, rng=None,
                        permutations=None, output: str = "logit", batch_size: int = 256,
                        progress: bool = False, additional_forward_args=None):
    """Per-sample permutation importance of the input groups.

    Args:
        x: inputs (N, ...), N >= 2 (the values are shuffled among the samples).
        feature_mask: integers shaped like one sample (the same grouping for every sample, as
            the shuffle needs): inputs with the same number are shuffled together. None: every
            input is its own group.
        rng: numpy Generator or seed for the shuffles (one per group, in the order of the mask's
            sorted ids; a shuffle that moves no sample is drawn again).
        permutations: the shuffles themselves instead: one permutation of ``0..N-1`` per group.
        additional_forward_args: as ``feature_ablation``'s: with a tuple of inputs,
            ``feature_mask`` may be a tuple (a group number used in several inputs' masks is
            shuffled across them), and a tuple comes back (Captum's); the extra arguments stay
            with their own samples.
        (the other Args as ``saliency``)

    Returns:
        An array shaped like ``x``: ``f(x) - f(x with the group of each input shuffled)``.
    """
    who = "feature_permutation"
    packed = pack(who, model, x, additional_forward_args)
    if packed is not None:  # Captum's tuple of inputs: one packed batch (multi_input)
        groups, index = _packed_groups(who, packed, feature_mask)
        if groups.ndim == 2:
            raise ValueError(f"{who}: each feature_mask must be shaped like one sample of its "
                             "input (one grouping for the whole batch)")
        ids = numpy.array([g for g in numpy.unique(groups) if g != index])
        return packed.unpack(_permuted(who, packed.model, packed.x, target, groups, ids, rng,
                                       permutations, output, batch_size, progress))
    x = as_batch(who, model, x)
    groups, ids = feature_groups(who, x, feature_mask)
    return _permuted(who, model, x, target, groups, ids, rng, permutations, output, batch_size,
                     progress)


def _permuted(who, model, x, target, groups, ids, rng, permutations, output, batch_size,
              progress):
    check_output(who, output)
    batch_size = check_positive_int(who, "batch_size", batch_size)
    if len(x) < 2:
        raise ValueError(f"{who}: x must hold at least 2 samples to shuffle among, got "
                         f"{len(x)}")
    if groups.shape == x.shape and len(x) > 1:
        raise ValueError(f"{who}: feature_mask must be shaped like one sample {x.shape[1:]} "
                         f"(one grouping for the whole batch), got shape {groups.shape}")
    perms = _shuffles(who, len(x), len(ids), permutations, rng)
    t = resolve_targets(who, model, x, target, output=output, batch_size=batch_size)
    scores = chosen_scores(model, x, t, output, batch_size)
    total = numpy.zeros(x.shape, dtype=numpy.float64)
    shape = (-1,) + (1,) * (x.ndim - 1)
    bar = Progress(who, len(ids) * len(x), enabled=progress)
    with eval_mode(model):
        for g, perm in zip(ids, perms):
            cover = groups == g
            rows = numpy.where(cover, x[perm], x)
            drop = scores - chosen_scores(model, rows, t, output, batch_size)
            total += numpy.where(cover, drop.reshape(shape), 0.0)
            bar.update(len(x))
    bar.close()
    return total.astype(x.dtype)
