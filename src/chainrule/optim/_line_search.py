"""The strong-Wolfe line search of L-BFGS (Nocedal & Wright, *Numerical Optimization*, 2nd ed.,
Algorithms 3.5 and 3.6), with safeguarded cubic interpolation, in the variant PyTorch uses.

Along a direction ``d`` from ``x``, the step ``t`` is accepted when it satisfies both Wolfe
conditions (``phi(t) = f(x + t d)``, ``phi'(0) = g.d < 0``)::

    sufficient decrease:  phi(t) <= phi(0) + c1 t phi'(0)
    curvature (strong):   |phi'(t)| <= -c2 phi'(0)

The search first grows the step until an interval is known to hold acceptable steps (a
"bracket"), then shrinks that interval ("zoom"), each new trial point being the minimizer of the
cubic that matches the values and slopes at the interval's ends.
"""

from __future__ import annotations

import math

__all__ = ["cubic_interpolate", "strong_wolfe"]


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer of the cubic through ``(x1, f1)``, ``(x2, f2)`` with slopes ``g1``, ``g2``,
    clamped to ``bounds`` (by default the interval between x1 and x2); its midpoint when the
    cubic has no minimum (Nocedal & Wright, eq. 3.59)."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        t = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        t = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(t, lo), hi)


def strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Search a step ``t`` along ``d`` that satisfies the strong Wolfe conditions.

    Args:
        evaluate: ``evaluate(t) -> (loss, flat gradient)`` at ``x + t d`` (``x`` left unchanged).
        t: the first trial step.
        d: the search direction (a flat array).
        f, g, gtd: the loss, flat gradient and directional derivative ``g.d`` at ``t = 0``.
        c1, c2: the constants of the sufficient-decrease and curvature conditions.
        tolerance_change: stop zooming when the bracket moves ``x`` by less than this.
        max_ls: the most evaluations of the objective.

    Returns:
        ``(loss, flat gradient, t, number of evaluations)`` at the chosen step.
    """
    d_norm = float(abs(d).max())
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = float(g_new.dot(d))
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    # Bracketing phase (Algorithm 3.5): grow t until [t_prev, t] holds an acceptable step.
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, done = [[t, f_new, g_new, gtd_new]], True
            break
        if gtd_new >= 0:
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        # Extrapolate: the cubic's minimizer, at least 1% beyond t and at most 10 t.
        step = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                 bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = step
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new.dot(d))
        ls_iter += 1
    else:  # no bracket within max_ls evaluations: the last trial is the answer
        bracket = [[0.0, f, g, gtd], [t, f_new, g_new, gtd_new]]
    # Zoom phase (Algorithm 3.6): shrink the bracket; "low" is its end with the smaller loss.
    low, high = _ends(bracket)
    insufficient_progress = False
    while not done and ls_iter < max_ls:
        if abs(bracket[1][0] - bracket[0][0]) * d_norm < tolerance_change:
            break
        (a, fa, _, ga), (b, fb, _, gb) = bracket
        t = cubic_interpolate(a, fa, ga, b, fb, gb)
        # Safeguard: a trial too near an end of the bracket is moved 10% of its width inside,
        # unless the previous trial was near an end too only once and lies strictly inside.
        top, bottom = max(a, b), min(a, b)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:
            if insufficient_progress or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new.dot(d))
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = [t, f_new, g_new, gtd_new]
            low, high = _ends(bracket)
            continue
        if abs(gtd_new) <= -c2 * gtd:
            done = True
        elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
            bracket[high] = bracket[low]
        bracket[low] = [t, f_new, g_new, gtd_new]
    t, f_new, g_new, _ = bracket[low] if len(bracket) > 1 else bracket[0]
    return f_new, g_new, t, evals


def _ends(bracket) -> tuple[int, int]:
    """``(low, high)``: the indices of the bracket's ends with the smaller and larger loss."""
    if len(bracket) == 1 or bracket[0][1] <= bracket[-1][1]:
        return 0, 1
    return 1, 0
