"""Shapley values of groups of inputs (Strumbelj & Kononenko 2010; Captum's ``ShapleyValues`` and
``ShapleyValueSampling``), by adding the groups one at a time in an order.

The inputs start at the baseline; the groups of an ordering (a permutation) are switched to
``x`` one after another, and each group is credited with the rise of the score it caused. Averaged
over every ordering this is the group's Shapley value (``shapley_values``, exact, ``G!`` orderings
of ``G`` groups); over random orderings (``shapley_value_sampling``) an unbiased estimate of it.
Either way a sample's attributions, one group counted once, sum to ``f(x) - f(baseline)``. Every
input of a group gets the group's value, as Captum gives it. No gradient is taken.
"""

from __future__ import annotations

import itertools
import math

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
from .ablation import _like_x, _packed_groups, feature_groups
from .multi_input import pack

__all__ = ["shapley_value_sampling", "shapley_values"]

MAX_EXACT_GROUPS = 9  # 9! = 362,880 orderings; more than that is what the sampling is for


def _orderings(who, n_groups, permutations):
    out = [list(p) for p in permutations]
    for p in out:
        if sorted(int(v) for v in p) != list(range(n_groups)):
            raise ValueError(f"{who}: each permutation must order the {n_groups} groups "
                             f"0..{n_groups - 1} (positions among the mask's sorted ids), got "
                             f"{p!r:.80}")
    if not out:
        raise ValueError(f"{who}: permutations is empty")
    return out


def _shapley(who, model, x, target, feature_mask, baseline, orderings, output, batch_size,
             progress, additional_forward_args):
    packed = pack(who, model, x, additional_forward_args)
    if packed is not None:  # Captum's tuple of inputs: one packed batch (multi_input)
        groups, index = _packed_groups(who, packed, feature_mask)
        return packed.unpack(_shapley_of(
            who, packed.model, packed.x, target, groups,
            numpy.array([g for g in numpy.unique(groups) if g != index]),
            packed.like_x("baseline", baseline), orderings, output, batch_size, progress))
    x = as_batch(who, model, x)
    base = _like_x(who, "baseline", baseline, x)
    groups, ids = feature_groups(who, x, feature_mask)
    return _shapley_of(who, model, x, target, groups, ids, base, orderings, output, batch_size,
                       progress)


def _shapley_of(who, model, x, target, groups, ids, base, orderings, output, batch_size,
                progress):
    check_output(who, output)
    batch_size = check_positive_int(who, "batch_size", batch_size)
    base = numpy.ascontiguousarray(base.astype(x.dtype))
    orderings = orderings(len(ids))
    t = resolve_targets(who, model, x, target, output=output, batch_size=batch_size)
    cover = [numpy.broadcast_to(groups == g, x.shape) for g in ids]
    start = chosen_scores(model, base, t, output, batch_size)
    total = numpy.zeros(x.shape, dtype=numpy.float64)
    bar = Progress(who, len(orderings) * len(ids) * len(x), enabled=progress)
    shape = (-1,) + (1,) * (x.ndim - 1)
    with eval_mode(model):
        for order in orderings:
            states, now = [], base
            for j in order:  # the groups switched to x one after another
                now = numpy.where(cover[j], x, now)
                states.append(now)
            after = chosen_scores(model, numpy.concatenate(states), numpy.tile(t, len(order)),
                                  output, batch_size).reshape(len(order), len(x))
            rise = numpy.diff(numpy.concatenate([start[None], after]), axis=0)
            for step, j in enumerate(order):
                total += numpy.where(cover[j], rise[step].reshape(shape), 0.0)
            bar.update(len(order) * len(x))
    bar.close()
    return (total / len(orderings)).astype(x.dtype)


def shapley_values(model, x, target=None, *, feature_mask=None, baseline=0.0,
                   output: str = "logit", batch_size: int = 256, progress: bool = False,
                   additional_forward_args=None):
    """Exact Shapley values of the input groups: every ordering of them (Captum's
    ``ShapleyValues``).

    Args:
        feature_mask: integers shaped like one sample or like ``x`` (a grouping per sample):
            inputs with the same number form a group; None: every input is its own group. At
            most ``MAX_EXACT_GROUPS`` groups (``G!`` orderings are evaluated).
        baseline: the value of an input whose group is "absent": a number or an array shaped
            like one sample or like ``x``.
        additional_forward_args: as ``feature_ablation``'s: with a tuple of inputs,
            ``baseline`` and ``feature_mask`` may be tuples, and a tuple comes back (Captum's).
        (the other Args as ``saliency``)

    Returns:
        An array shaped like ``x``: each input holds its group's Shapley value.
    """
    who = "shapley_values"

    def every(n_groups):
        if n_groups > MAX_EXACT_GROUPS:
            raise ValueError(f"{who}: {n_groups} groups have {math.factorial(n_groups):,} "
                             f"orderings; group the inputs with feature_mask (at most "
                             f"{MAX_EXACT_GROUPS} groups) or use shapley_value_sampling")
        return list(itertools.permutations(range(n_groups)))

    return _shapley(who, model, x, target, feature_mask, baseline, every, output, batch_size,
                    progress, additional_forward_args)


def shapley_value_sampling(model, x, target=None, *, feature_mask=None, baseline=0.0,
                           n_samples: int = 25, permutations=None, rng=None,
                           output: str = "logit", batch_size: int = 256,
                           progress: bool = False, additional_forward_args=None):
    """Shapley values estimated over ``n_samples`` random orderings of the input groups
    (Captum's ``ShapleyValueSampling``).

    Args:
        n_samples: random orderings, drawn from ``rng`` (numpy Generator or seed).
        permutations: the orderings themselves instead (a list of permutations of
            ``0..G-1``, positions among the mask's sorted group ids), e.g. to repeat a run.
        (feature_mask, baseline, additional_forward_args (tuples of inputs) and the other Args
        as ``shapley_values``)

    Returns:
        An array shaped like ``x``: each input holds its group's estimate.
    """
    who = "shapley_value_sampling"
    if permutations is None:
        n_samples = check_positive_int(who, "n_samples", n_samples)
        gen = generator(rng)

        def orderings(n_groups):
            return [gen.permutation(n_groups).tolist() for _ in range(n_samples)]
    else:
        def orderings(n_groups):
            return _orderings(who, n_groups, permutations)

    return _shapley(who, model, x, target, feature_mask, baseline, orderings, output, batch_size,
                    progress, additional_forward_args)
