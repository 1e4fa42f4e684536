"""APGD-T (Croce & Hein 2020): APGD on the targeted DLR loss, once per likely target class.

Untargeted APGD climbs one loss towards whichever wrong class is nearest along the gradient, and
can miss an easier one. APGD-T still asks only that the label change, but runs APGD once for each
of the ``n_target_classes`` classes the clean input scores highest after its true label, each time
climbing the targeted DLR loss ``-(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)`` (``robust.dlr``)
that pulls class t above the true class y. It is the second attack of AutoAttack's standard
ensemble, which reports the examples that survive all of them.
"""

from __future__ import annotations

from ..autograd import Tensor, no_grad
from ..backend import get_array_module
from ._core import (
    AttackResult,
    check_classes,
    check_eps,
    check_int,
    check_logits,
    in_eval_mode,
    prepare,
    resolve_rng,
    result,
)
from .apgd import _runs
from .attacks import within_linf
from .dlr import dlr_targeted_gradient

__all__ = ["apgd_targeted", "target_classes"]


def target_classes(logits, labels, n_target_classes: int):
    """The ``n_target_classes`` classes of highest logit other than each example's label, best
    first: an array (N, n_target_classes) (for a correctly classified example, classes 2, 3, ...
    of its ranking, as AutoAttack's ``sorted_indices[:, -target_class]``)."""
    xp = get_array_module(logits)
    scores = logits.astype("float64")
    scores[xp.arange(len(labels)), labels] = -xp.inf
    order = xp.argsort(-scores, axis=1, kind="stable")  # ties: the lower class first
    return order[:, :n_target_classes]


@in_eval_mode
def apgd_targeted(
    model,
    x,
    y,
    *,
    eps: float,
    steps: int = 100,
    n_target_classes: int = 9,
    restarts: int = 1,
    random_start: bool = True,
    bounds=(0.0, 1.0),
    rng=None,
) -> AttackResult:
    """APGD-T: untargeted success (the label changes) by targeted DLR runs of APGD.

    For each of the ``n_target_classes`` target classes in turn (``target_classes`` of the clean
    logits) and each restart, one APGD run (the step rule of ``robust.apgd``) climbs the targeted
    DLR loss (every example, each run, so that seeded random starts do not depend on which
    examples fell; it stops early once all are fooled). An example keeps the first point that
    fooled the model, else the point of highest targeted DLR loss over all runs.

    Args:
        model: a classifier (Module) giving logits (N, C), C >= 4.
        x: inputs (N, ...) inside ``bounds``.
        y: true labels (N,).
        eps: the L-infinity radius, >= 0.
        steps: iterations per run, >= 1.
        n_target_classes: target classes per example, 1 to C - 1 (AutoAttack: 9).
        restarts: runs per target class, each from a random start (AutoAttack: 1).
        random_start: start at a uniform point of the ball (False: at ``x``; one restart only).
        bounds: the valid input box (low, high).
        rng: Generator or seed for the random starts.

    Returns:
        An AttackResult with L-infinity norms; ``success``: the prediction is not ``y``.
    """
    who = "apgd_targeted"
    eps = check_eps(who, eps)
    steps = check_int(who, "steps", steps)
    restarts = check_int(who, "restarts", restarts)
    n_target_classes = check_int(who, "n_target_classes", n_target_classes)
    if restarts > 1 and not random_start:
        raise ValueError(f"{who}: restarts={restarts} needs random_start=True")
    x, labels, _, bounds = prepare(who, model, x, y, None, bounds)
    xp = get_array_module(x)
    with no_grad():
        logits = model(Tensor(x))
    classes = check_logits(who, logits, x.shape[0])
    logits = logits._data
    if classes < 4:
        raise ValueError(
            f"{who}: the targeted DLR loss needs at least 4 classes, the model has {classes}"
        )
    if n_target_classes > classes - 1:
        raise ValueError(
            f"{who}: n_target_classes must be at most the number of classes - 1 "
            f"({classes - 1}), got {n_target_classes}"
        )
    check_classes(who, labels, classes, False)
    targets = target_classes(logits, labels, n_target_classes)
    rng = resolve_rng(rng) if random_start else None
    kept = (x.copy(), xp.full(x.shape[0], -xp.inf, dtype="float64"),
            xp.zeros(x.shape[0], dtype=bool))
    for i in range(n_target_classes):
        t = targets[:, i]

        def gradient(model, point, labels, *, targeted, t=t):
            return dlr_targeted_gradient(model, point, labels, t)

        kept = _runs(model, x, labels, False, eps, steps, bounds, gradient, restarts, rng, kept)
        if kept[2].all():  # every example fooled
            break
    return result(model, x, within_linf(kept[0], x, eps), labels, targeted=False, norm="linf")

