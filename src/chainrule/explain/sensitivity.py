"""Global sensitivity: which input variables a model depends on, over a whole dataset.

* ``mean_abs_gradient``: the mean over samples of ``|df_c/dx_j|``, per class and input.
* ``permutation_importance``: the fall of a metric when one input column is shuffled, which cuts
  its link to the target while keeping its distribution (Breiman 2001).
* ``sensitivity_rules``: the lecture's "sensitivity results expressed as rules": for each input
  and class, the change of the class probability when that input rises by ``delta`` (one
  standard deviation by default), stated as a rule when it holds for most samples, e.g.
  "if x3 rises by 1 sd, P(B) rises by at least 0.2 (for 90% of the samples)".
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backend import numpy
from ._common import (
    Progress,
    as_batch,
    batches,
    check_output,
    check_positive_int,
    eval_mode,
    generator,
    predict_scores,
    score_gradients,
)

__all__ = ["SensitivityRule", "mean_abs_gradient", "permutation_importance",
           "sensitivity_rules"]


def mean_abs_gradient(model, x, *, classes=None, output: str = "probability",
                      batch_size: int = 256, progress: bool = False):
    """Mean absolute gradient of each class's score with respect to each input variable.

    Args:
        model: a Module returning (N, classes) scores.
        x: the dataset's inputs (N, ...).
        classes: the class indices to measure (None: all of them).
        output: "probability" (default: comparable across classes) or "logit".
        batch_size: samples per backward pass; progress: draw a progress bar on stderr.

    Returns:
        An array (len(classes), *x.shape[1:]).
    """
    who = "mean_abs_gradient"
    x = as_batch(who, model, x)
    check_output(who, output)  # a misspelt "probability" explained the logits without a word
    batch_size = check_positive_int(who, "batch_size", batch_size)
    n_out = predict_scores(model, x[:1], output="logit").shape[1]
    if classes is None:
        classes = list(range(n_out))
    else:
        picked = numpy.asarray(classes)
        if picked.ndim != 1 or picked.dtype.kind not in "iu" or (
                len(picked) and (picked.min() < 0 or picked.max() >= n_out)):
            raise ValueError(f"{who}: classes must be class indices in [0, {n_out}), got "
                             f"{classes!r}")
        classes = [int(c) for c in picked]
    total = numpy.zeros((len(classes), *x.shape[1:]), dtype=numpy.float64)
    bar = Progress(who, len(x) * len(classes), enabled=progress)
    with eval_mode(model):
        for k, c in enumerate(classes):
            for sl in batches(len(x), batch_size):
                t = numpy.full(sl.stop - sl.start, c)
                g = score_gradients(model, x[sl], t, output=output)[1]
                total[k] += numpy.abs(g).sum(axis=0)
                bar.update(len(t))
    bar.close()
    return total / len(x)


def _accuracy(y, scores):
    return float((scores.argmax(axis=1) == y).mean())


def permutation_importance(model, x, y, *, metric=None, n_repeats: int = 5,
                           batch_size: int = 256, rng=None, progress: bool = False) -> dict:
    """The fall of ``metric`` when each input column of ``x`` (N, D) is shuffled.

    Args:
        x: (N, D) inputs; y: (N,) targets.
        metric: ``metric(y, scores) -> float``, higher is better (default: accuracy).
        n_repeats: shuffles per column; rng: Generator or seed for them.

    Returns:
        {"baseline": the metric on ``x``, "importances": (D, n_repeats) drops,
        "mean": (D,), "std": (D,)}.
    """
    who = "permutation_importance"
    x = as_batch(who, model, x)
    if x.ndim != 2:
        raise ValueError(f"{who}: x must be (N, D) tabular inputs, got shape {x.shape}")
    y = numpy.asarray(y)
    if y.shape != (len(x),):
        raise ValueError(f"{who}: y must have one target per sample ({len(x)},), got shape "
                         f"{y.shape}")
    n_repeats = check_positive_int(who, "n_repeats", n_repeats)
    metric = _accuracy if metric is None else metric
    rng = generator(rng)
    base = metric(y, predict_scores(model, x, batch_size=batch_size))
    drops = numpy.zeros((x.shape[1], n_repeats))
    bar = Progress(who, x.shape[1] * n_repeats, enabled=progress)
    for j in range(x.shape[1]):
        for r in range(n_repeats):
            shuffled = x.copy()
            shuffled[:, j] = x[rng.permutation(len(x)), j]
            drops[j, r] = base - metric(y, predict_scores(model, shuffled,
                                                          batch_size=batch_size))
            bar.update()
    bar.close()
    return {"baseline": base, "importances": drops, "mean": drops.mean(axis=1),
            "std": drops.std(axis=1)}


@dataclass
class SensitivityRule:
    """"If ``feature`` rises by ``delta``, P(``class_name``) rises (or falls) by at least
    ``change`` for ``coverage`` of the ``n_samples`` samples considered"."""

    feature: str
    class_name: str
    delta: float
    change: float
    coverage: float
    mean_change: float
    n_samples: int

    def __str__(self) -> str:
        way = "rises" if self.change > 0 else "falls"
        move = "rises" if self.delta > 0 else "falls"
        return (f"if {self.feature} {move} by {abs(self.delta):.3g}, P({self.class_name}) {way} by "
                f"at least {abs(self.change):.2f} (for {self.coverage:.0%} of {self.n_samples} "
                f"samples; mean {self.mean_change:+.2f})")


def sensitivity_rules(model, x, *, feature_names=None, class_names=None, delta=None,
                      threshold: float = 0.2, coverage: float = 0.9,
                      max_confidence: float | None = None,
                      batch_size: int = 256) -> list[SensitivityRule]:
    """Rules "if x_j rises by delta, P(c) rises by at least t" that hold for most samples.

    For each input column ``j`` of ``x`` (N, D), every sample's ``x_j`` is raised by ``delta_j``
    and the change of each class probability recorded. A rule is kept when the change is at
    least ``threshold`` (or at most ``-threshold``) for a share ``coverage`` of the samples; the
    rule states the change reached by that share (the ``1 - coverage`` quantile).

    Args:
        x: (N, D) inputs, e.g. the training set.
        feature_names, class_names: names for the rules (default x0.., class0..).
        delta: the rise per feature: a number, a (D,) array, or None (each column's standard
            deviation over ``x``); a feature whose delta is 0 (a constant column) gets no rule.
        threshold: the smallest probability change a rule states, in (0, 1].
        coverage: the share of samples a rule must hold for, in (0, 1].
        max_confidence: only the samples whose most probable class has a probability below
            this are considered (None: all): a confident network moves little anywhere else,
            so rules over all samples say little about the decision boundary.

    Returns:
        SensitivityRules, the largest changes first.
    """
    who = "sensitivity_rules"
    x = as_batch(who, model, x)
    if x.ndim != 2:
        raise ValueError(f"{who}: x must be (N, D) tabular inputs, got shape {x.shape}")
    if not 0 < coverage <= 1:
        raise ValueError(f"{who}: coverage must be in (0, 1], got {coverage!r}")
    if not 0 < threshold <= 1:  # at 0, every input that moves nothing would make a rule
        raise ValueError(f"{who}: threshold must be a probability change in (0, 1], got "
                         f"{threshold!r}")
    d = x.shape[1]
    feature_names = [f"x{j}" for j in range(d)] if feature_names is None else list(feature_names)
    if len(feature_names) != d:
        raise ValueError(f"{who}: feature_names has {len(feature_names)} names for {d} columns")
    steps = x.std(axis=0) if delta is None else numpy.broadcast_to(
        numpy.asarray(delta, dtype=numpy.float64), (d,))
    p0 = predict_scores(model, x, output="probability", batch_size=batch_size)
    if max_confidence is not None:
        keep = p0.max(axis=1) < max_confidence
        if not keep.any():
            raise ValueError(f"{who}: no sample has a top probability below max_confidence="
                             f"{max_confidence!r}")
        x, p0 = x[keep], p0[keep]
    class_names = ([f"class{c}" for c in range(p0.shape[1])] if class_names is None
                   else list(class_names))
    if len(class_names) != p0.shape[1]:
        raise ValueError(f"{who}: class_names has {len(class_names)} names for a model with "
                         f"{p0.shape[1]} classes")
    rules = []
    if not numpy.isfinite(steps).all():
        raise ValueError(f"{who}: delta must be finite, got {delta!r}")
    for j in range(d):
        if steps[j] == 0:  # a constant column (standard deviation 0): no rise, no rule
            continue
        moved = x.copy()
        moved[:, j] += steps[j]
        change = predict_scores(model, moved, output="probability", batch_size=batch_size) - p0
        for c in range(p0.shape[1]):
            low = numpy.quantile(change[:, c], 1 - coverage)   # reached by `coverage` of them
            high = numpy.quantile(change[:, c], coverage)
            bound = low if low >= threshold else high if high <= -threshold else None
            if bound is not None:
                rules.append(SensitivityRule(feature_names[j], str(class_names[c]),
                                             float(steps[j]), float(bound), float(coverage),
                                             float(change[:, c].mean()), len(x)))
    return sorted(rules, key=lambda r: -abs(r.change))
