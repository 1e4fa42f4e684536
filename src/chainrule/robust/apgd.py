"""APGD-CE (Croce & Hein 2020): PGD whose step size adapts itself, for honest robustness numbers.

PGD with a fixed step can stall (a step too large oscillates, one too small crawls) and so report
a robustness the model does not have. APGD starts with a large step (2 eps), adds momentum, and at
checkpoints of the budget halves the step of every example whose loss has stopped rising, restarting
it from the best point it found. There is no step size to tune: the budget is the only setting.
"""

from __future__ import annotations

import math

from ..backend import get_array_module
from ._core import (
    AttackResult,
    check_eps,
    check_int,
    in_eval_mode,
    input_gradient,
    prepare,
    resolve_rng,
    result,
    success_of,
)
from .attacks import _project, _random_start, _step
from .dlr import dlr_gradient

__all__ = ["apgd", "apgd_checkpoints"]

MOMENTUM = 0.75  # alpha of the paper: weight of the new gradient step against the last move
RHO = 0.75  # a step is halved when the loss rose in fewer than this share of the window's steps


def apgd_checkpoints(steps: int) -> list[int]:
    """The iterations where APGD decides whether to halve the step: ``ceil(p_j * steps)``.

    ``p_0 = 0``, ``p_1 = 0.22``, ``p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)``: checks come
    often early, then every 6% of the budget.

    >>> apgd_checkpoints(100)
    [0, 22, 41, 57, 70, 80, 87, 93, 99]
    """
    p = [0.0, 0.22]
    while True:
        nxt = p[-1] + max(p[-1] - p[-2] - 0.03, 0.06)
        if nxt > 1:
            break
        p.append(nxt)
    return sorted({math.ceil(round(q * steps, 9)) for q in p})  # round: 0.57 is 0.5700...01


@in_eval_mode
def apgd(model, x, y=None, *, eps: float, steps: int = 100, restarts: int = 1,
         random_start: bool = True, target=None, bounds=(0.0, 1.0), rng=None,
         loss: str = "ce") -> AttackResult:
    """APGD with the cross-entropy (or DLR) loss in the L-infinity ball of radius ``eps``.

    Each example keeps its own step size. At each checkpoint (``apgd_checkpoints``) an example's
    step is halved, and it restarts from its best point, when its loss rose in fewer than 75% of
    the steps of the window (steps ``w_{j-1}`` to ``w_j - 1``, ``f(x^(i+1)) > f(x^(i))``, Croce &
    Hein's condition 1), or when its step was not halved there and its best loss has not improved
    since. The restart sets only ``x^(k+1)`` to the best point: the next step's momentum term
    is ``x_max - x^(k)``, as in the paper's algorithm. An example keeps the first point that
    fooled the model (at any iteration), else the point of highest loss.

    Args:
        model: a classifier (Module) giving logits (N, C).
        x: inputs (N, ...) inside ``bounds``.
        y: true labels (N,) (untargeted); ignored when ``target`` is given.
        eps: the L-infinity radius, >= 0.
        steps: iterations per restart, >= 1.
        restarts: independent runs from random starts, >= 1.
        random_start: start at a uniform point of the ball (False: at ``x``; one restart only).
        target: a class, or one per example: a targeted attack (descending its cross-entropy).
        bounds: the valid input box (low, high).
        rng: Generator or seed for the random starts.
        loss: "ce" (APGD-CE) or "dlr" (APGD-DLR: Croce & Hein's difference of logits ratio,
            ``robust.dlr``; untargeted, at least 3 classes).

    Returns:
        An AttackResult with L-infinity norms.
    """
    who = "apgd"
    eps = check_eps(who, eps)
    steps = check_int(who, "steps", steps)
    restarts = check_int(who, "restarts", restarts)
    if restarts > 1 and not random_start:
        raise ValueError(f"apgd: restarts={restarts} needs random_start=True")
    if loss not in ("ce", "dlr"):
        raise ValueError(f"apgd: loss must be 'ce' or 'dlr', got {loss!r}")
    if loss == "dlr" and target is not None:
        raise ValueError("apgd: loss='dlr' is untargeted here; pass y, not target")
    x, labels, targeted, bounds = prepare(who, model, x, y, target, bounds)
    xp = get_array_module(x)
    gradient = dlr_gradient if loss == "dlr" else input_gradient
    rng = resolve_rng(rng) if random_start else None
    kept = (x.copy(), xp.full(x.shape[0], -xp.inf, dtype="float64"),
            xp.zeros(x.shape[0], dtype=bool))
    best, _, _ = _runs(model, x, labels, targeted, eps, steps, bounds, gradient, restarts, rng,
                       kept)
    return result(model, x, best, labels, targeted=targeted, norm="linf")


def _runs(model, x, labels, targeted, eps, steps, bounds, gradient, restarts, rng, kept):
    """``restarts`` runs of APGD, from random starts (from ``x`` itself without an ``rng``),
    folded into ``kept`` = (best point, its loss, fooled yet): an example keeps the first point
    that fooled the model, else its point of highest loss. Returns the new ``kept``."""
    xp = get_array_module(x)
    best, best_loss, found = kept
    for _ in range(restarts):
        start = x if rng is None else _project(x + _random_start(x, eps, "linf", rng), x, eps,
                                               "linf", bounds)
        adv, hit, x_max, f_max = _one_run(model, x, start, labels, targeted, eps, steps, bounds,
                                          gradient)
        new = hit & ~found
        best[new] = adv[new]
        better = ~found & ~hit & (f_max > best_loss)
        best[better] = x_max[better]
        best_loss = xp.where(better, f_max, best_loss)
        found = found | hit
    return best, best_loss, found


def _one_run(model, x, start, labels, targeted, eps, steps, bounds, gradient=input_gradient):
    """One APGD run; returns (first fooling points, which examples have one, x_max, f_max)."""
    xp = get_array_module(x)
    n, expand = x.shape[0], (-1,) + (1,) * (x.ndim - 1)
    eta = xp.full(n, 2.0 * eps, dtype=x.dtype)
    adv_found, hit = start.copy(), xp.zeros(n, dtype=bool)

    def evaluate(point):
        loss, g, logits = gradient(model, point, labels, targeted=targeted)
        fooled = success_of(logits.argmax(axis=1), labels, targeted) & ~hit
        adv_found[fooled] = point[fooled]
        hit[...] = hit | fooled
        return loss.astype("float64"), g

    f_prev, g = evaluate(start)
    x_prev, x_cur = start, _project(start + eta.reshape(expand) * _step(g, "linf"), x, eps,
                                    "linf", bounds)
    f_cur, g_cur = evaluate(x_cur)
    better = f_cur > f_prev
    x_max = xp.where(better.reshape(expand), x_cur, start)
    g_max = xp.where(better.reshape(expand), g_cur, g)
    f_max = xp.maximum(f_cur, f_prev)
    rises = better.astype("int64")
    checks = apgd_checkpoints(steps)
    last_check, reduced_last = 0, xp.zeros(n, dtype=bool)
    f_max_last = f_max.copy()
    g = g_cur
    for k in range(1, steps):
        z = _project(x_cur + eta.reshape(expand) * _step(g, "linf"), x, eps, "linf", bounds)
        moved = x_cur + MOMENTUM * (z - x_cur) + (1 - MOMENTUM) * (x_cur - x_prev)
        x_prev, x_cur = x_cur, _project(moved, x, eps, "linf", bounds)
        f_new, g = evaluate(x_cur)
        rise = f_new > f_cur  # f(x^(k+1)) > f(x^(k)): step k, counted in the next window
        f_cur = f_new
        improved = f_cur > f_max
        x_max = xp.where(improved.reshape(expand), x_cur, x_max)
        g_max = xp.where(improved.reshape(expand), g, g_max)
        f_max = xp.where(improved, f_cur, f_max)
        if k in checks:
            window = k - last_check
            oscillating = rises < RHO * window
            stalled = ~reduced_last & (f_max <= f_max_last)
            halve = oscillating | stalled
            eta = xp.where(halve, eta / 2, eta)
            e = halve.reshape(expand)
            # restart from the best point: x^(k+1) <- x_max; the momentum still pulls from x^(k)
            x_cur = xp.where(e, x_max, x_cur)
            g = xp.where(e, g_max, g)
            f_cur = xp.where(halve, f_max, f_cur)
            reduced_last, f_max_last, last_check = halve, f_max.copy(), k
            rises[...] = 0
        rises += rise
    return adv_found, hit, x_max, f_max
