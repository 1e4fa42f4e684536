"""Out-of-distribution inputs: scores that should be lower for them, and how well they separate.

A classifier trained on digits still answers, often confidently, when shown a shirt or noise. Two
scores from its logits try to flag such inputs: the maximum softmax probability (Hendrycks &
Gimpel 2017) and the negative free energy ``T logsumexp(z / T)`` (Liu et al. 2020). Both are
higher for in-distribution inputs; ``auroc`` and ``fpr_at_tpr`` measure the separation.
"""

from __future__ import annotations

import math

from ..autograd import Tensor, no_grad
from ..backend import get_array_module
from ..data.arguments import check_number
from ..ops import logsumexp, softmax
from ._core import check_eps, check_int, in_eval_mode

__all__ = ["auroc", "energy_score", "fpr_at_tpr", "logits_of", "msp_score", "ood_scores",
           "SCORES"]


def msp_score(logits):
    """Maximum softmax probability per row of ``logits`` (N, C) (an array)."""
    with no_grad():
        return softmax(Tensor(logits), axis=1)._data.max(axis=1)


def energy_score(logits, temperature: float = 1.0):
    """Negative free energy ``T logsumexp(z / T)`` per row: high for in-distribution inputs.

    ``logits`` must be the logits: log-probabilities (a model ending in ``log_softmax``, every
    row's ``logsumexp`` 0) are refused, as their energy is 0 for every input at ``T = 1`` and
    never the logits' (the per-row shift the energy measures is what ``log_softmax`` removes).
    """
    temperature = check_eps("energy_score", temperature, name="temperature", positive=True)
    with no_grad():
        z = Tensor(logits)
        lse = logsumexp(z, axis=1)._data
        _refuse_log_probabilities(z._data, lse)
        return lse if temperature == 1 else temperature * logsumexp(z / temperature, axis=1)._data


def _refuse_log_probabilities(z, lse):
    """ValueError where every row of ``z`` (two or more) is a row of log-probabilities."""
    xp = get_array_module(z)
    if z.ndim != 2 or z.shape[0] < 2 or z.dtype.kind != "f":
        return
    # the scale of the finite logits: a masked class's -inf made the tolerance inf, and every
    # row of logits with one was taken for log-probabilities
    finite = xp.where(xp.isfinite(z), xp.abs(z), 0)
    tol = 64 * float(xp.finfo(z.dtype).eps) * (1 + finite.max(axis=1))
    if bool((xp.abs(lse) <= tol).all()):
        raise ValueError("energy_score: every row's logsumexp is 0: these are log-probabilities "
                         "(a model ending in log_softmax), whose energy is 0 for every input; "
                         "pass the logits before log_softmax")


SCORES = {"msp": msp_score, "energy": energy_score}


def _ranks(values):
    """1-based ranks, ties given the mean of the ranks they span (as in the Mann-Whitney U)."""
    xp = get_array_module(values)
    order = xp.argsort(values, kind="stable")
    sorted_values = values[order]
    # the first and last position of each run of equal values
    starts = xp.concatenate([xp.ones(1, dtype=bool), sorted_values[1:] != sorted_values[:-1]])
    run = xp.cumsum(starts) - 1
    first = xp.nonzero(starts)[0]
    last = xp.concatenate([first[1:], xp.asarray([len(values)])]) - 1
    mean_rank = (first + last) / 2 + 1
    ranks = xp.empty(len(values), dtype="float64")
    ranks[order] = mean_rank[run]
    return ranks


def _scores(who: str, name: str, values):
    """``values`` (one score per input) as a flat float64 array, non-empty and free of NaN
    (which no threshold orders: sorted last, a NaN would count as the highest score and bias
    the result silently)."""
    xp = get_array_module(values)
    flat = xp.asarray(values, dtype="float64")
    if flat.ndim > 1:  # logits (N, C) raveled would be ranked as N * C scores, silently
        raise ValueError(f"{who}: {name} must be one score per input (N,), got shape "
                         f"{flat.shape}; score logits first, e.g. msp_score(logits)")
    flat = flat.ravel()
    if len(flat) == 0:
        raise ValueError(f"{who}: {name} must be non-empty, got no scores")
    bad = int(xp.isnan(flat).sum())
    if bad:
        raise ValueError(f"{who}: {name} holds NaN scores ({bad} of {len(flat)}); a score must "
                         "be a number (+-inf allowed)")
    return flat


def auroc(scores_in, scores_out) -> float:
    """Area under the ROC curve for telling ``scores_in`` (positives) from ``scores_out``.

    It is the probability that a random in-distribution score exceeds a random OOD one (ties
    count one half): the Mann-Whitney U statistic over the product of the two counts.

    >>> auroc([0.9, 0.8, 0.7], [0.1, 0.75])
    0.8333333333333334
    """
    xp = get_array_module(scores_in)
    a, b = _scores("auroc", "scores_in", scores_in), _scores("auroc", "scores_out", scores_out)
    ranks = _ranks(xp.concatenate([a, b]))
    u = ranks[:len(a)].sum() - len(a) * (len(a) + 1) / 2
    return float(u / (len(a) * len(b)))


def fpr_at_tpr(scores_in, scores_out, tpr: float = 0.95) -> float:
    """The share of OOD inputs accepted when the threshold keeps ``tpr`` of in-distribution ones.

    The threshold is the largest one that accepts (score >= threshold) at least ``tpr`` of
    ``scores_in``; the result is the share of ``scores_out`` it accepts too.

    >>> fpr_at_tpr([1.0, 2.0, 3.0, 4.0], [0.5, 1.5, 2.5], tpr=0.75)
    0.3333333333333333
    """
    xp = get_array_module(scores_in)
    tpr = check_number("fpr_at_tpr", "tpr", tpr, above=0, high=1)
    a = xp.sort(_scores("fpr_at_tpr", "scores_in", scores_in))[::-1]
    b = _scores("fpr_at_tpr", "scores_out", scores_out)
    keep = math.ceil(round(tpr * len(a), 9))  # accept at least this many positives
    threshold = a[max(keep, 1) - 1]
    return float((b >= threshold).mean())


@in_eval_mode
def logits_of(model, x, *, batch_size: int = 500):
    """The model's logits for ``x``, batch by batch, without a graph."""
    check_int("logits_of", "batch_size", batch_size)
    xp = get_array_module(x)
    with no_grad():
        return xp.concatenate([model(Tensor(x[i:i + batch_size]))._data
                               for i in range(0, len(x), batch_size)])


def ood_scores(logits_in, logits_out, *, tpr: float = 0.95) -> dict:
    """AUROC and FPR at ``tpr`` of each score in ``SCORES`` for in- against out-of-distribution
    logits, with the mean maximum softmax probability of each set. The FPR's key names the TPR
    in percent: ``fpr_at_95tpr``, ``fpr_at_99.9tpr``."""
    out = {}
    for name, score in SCORES.items():
        s_in, s_out = score(logits_in), score(logits_out)
        # 0.999 is "99.9", not round()'s "100" (a TPR of 100% it was not measured at)
        out[name] = {"auroc": auroc(s_in, s_out), f"fpr_at_{tpr * 100:g}tpr":
                     fpr_at_tpr(s_in, s_out, tpr)}
    out["mean_confidence_in"] = float(msp_score(logits_in).mean())
    out["mean_confidence_out"] = float(msp_score(logits_out).mean())
    return out
