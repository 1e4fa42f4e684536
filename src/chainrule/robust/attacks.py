"""Gradient attacks in an epsilon ball: FGSM (Goodfellow et al. 2014), PGD (Madry et al. 2017).

Each attack takes a classifier (a Module giving logits), a batch ``x`` inside ``bounds`` and the
true labels ``y`` (untargeted: leave the true class) or a ``target`` (targeted: reach it), and
returns an ``AttackResult``. Every example is attacked independently: its gradient is that of its
own loss, its step sizes and restarts are its own. The model runs in eval mode (batch norm's
running statistics, no dropout) and gets its own mode back.
"""

from __future__ import annotations

from ..backend import get_array_module
from ._core import (
    AttackResult,
    check_bounds,
    check_eps,
    check_int,
    in_eval_mode,
    input_gradient,
    loss_and_logits,
    per_example_norm,
    prepare,
    resolve_rng,
    result,
    success_of,
)

__all__ = ["NORMS", "fgsm", "pgd", "project", "within_l2", "within_linf"]

NORMS = ("linf", "l2")
_TINY = 1e-12  # keeps a zero gradient's direction zero instead of NaN


def _check_norm(who: str, norm: str) -> str:
    if norm not in NORMS:
        raise ValueError(f"{who}: norm must be one of {NORMS}, got {norm!r}")
    return norm


def _expand(values, like):
    """(N,) values shaped to broadcast over an (N, ...) batch."""
    return values.reshape((-1,) + (1,) * (like.ndim - 1))


def project(x_adv, x, eps: float, norm: str, bounds):
    """Project ``x_adv`` onto the ``eps`` ball around ``x`` (in ``norm``), then into ``bounds``.

    The projection is exact: every example ends at most ``eps`` from ``x``, measured in float64
    (``within_linf``, ``within_l2``). For L2 the ball's projection comes first and the box's
    clipping second, which keeps the point inside both (clipping only shortens the perturbation).
    ``x`` must lie inside ``bounds`` (else the ball may miss the box); the result has its dtype.
    """
    if norm not in NORMS:  # any other name would be projected as L2
        raise ValueError(f"project: norm must be one of {NORMS}, got {norm!r}")
    eps, bounds = check_eps("project", eps), check_bounds("project", bounds)
    xp = get_array_module(x)
    if bool((x < bounds[0]).any()) or bool((x > bounds[1]).any()):
        raise ValueError(f"project: x must lie inside bounds {bounds}, got values from "
                         f"{float(x.min()):g} to {float(x.max()):g}")
    return _project(xp.asarray(x_adv).astype(x.dtype, copy=False), x, eps, norm, bounds)


def _project(x_adv, x, eps: float, norm: str, bounds):
    """``project`` for the attacks' checked arguments."""
    xp = get_array_module(x)
    delta = x_adv - x
    if norm == "linf":
        delta = xp.clip(delta, -eps, eps)
        return within_linf(xp.clip(x + delta, bounds[0], bounds[1]), x, eps)
    length = per_example_norm(delta, "l2")
    outside = length > eps  # (a floor of 1e-12 under length is 0 in float16: eps / 0)
    shrink = xp.where(outside, eps / xp.where(outside, length, 1), 1.0)
    delta = delta * _expand(shrink, delta).astype(x.dtype)
    return within_l2(xp.clip(x + delta, bounds[0], bounds[1]), x, eps)


def within_l2(adv, x, eps: float):
    """``adv`` with every example at most ``eps`` from ``x`` in L2 (see ``_within``)."""
    return _within(adv, x, eps, "l2")


def within_linf(adv, x, eps: float):
    """``adv`` with every input at most ``eps`` from ``x`` (see ``_within``)."""
    return _within(adv, x, eps, "linf")


def _outside(adv, x, eps: float, norm: str):
    """Where ``adv`` is past ``eps``: by the distance as the input's dtype computes it (what a
    user's ``abs(adv - x).max()`` reports) or by the exact one (in float64). Both compare in
    float64: a float32 array against a Python float compares in float32, where 0.30000001 is not
    past 0.3. Per input for L-inf, per example for L2."""
    true_delta = adv.astype("float64") - x
    if norm == "linf":
        reported, true = abs(adv - x), abs(true_delta)
    else:
        reported, true = per_example_norm(adv - x, "l2"), per_example_norm(true_delta, "l2")
    return (reported.astype("float64") > eps) | (true > eps)


def _within(adv, x, eps: float, norm: str):
    """``adv`` moved back inside the ``eps`` ball around ``x`` wherever rounding left it outside.

    ``x + delta`` with ``||delta|| = eps`` rounds in float32, which left inputs a few units in the
    last place past ``eps`` (0.02000001 at eps 0.02, 1.0000001 at eps 1). Each offending input
    (L-inf) or example (L2) is projected in float64 onto a ball of radius ``eps - margin`` and
    rounded back; the margin starts at zero and doubles from one unit in the last place of ``eps``
    until both distances of ``_outside`` are within ``eps``. The new point lies between ``x`` and
    the old one, so it stays inside the box, and nothing inside the ball moves.
    """
    xp = get_array_module(x)
    x64 = x.astype("float64")
    resolution = float(xp.finfo(adv.dtype).eps) * eps
    margin = 0.0
    while True:
        over = _outside(adv, x, eps, norm)
        if not bool(over.any()):
            return adv
        if margin >= eps:  # unreachable: radius 0 returns x itself, which is inside
            raise RuntimeError(f"{norm} projection: could not bring the inputs within eps={eps!r}")
        radius = eps - margin
        delta = adv.astype("float64") - x64
        if norm == "linf":
            moved = x64 + xp.clip(delta, -radius, radius)
        else:
            length = per_example_norm(delta, "l2")
            shrink = xp.minimum(1.0, radius / xp.maximum(length, _TINY))
            moved = x64 + delta * _expand(shrink, delta)
            over = _expand(over, adv)
        adv = xp.where(over, moved.astype(adv.dtype), adv)
        margin = resolution if margin == 0.0 else 2 * margin


def _step(g, norm: str):
    """The steepest-ascent direction of unit size for the gradient ``g``: sign, or g / ||g||_2."""
    xp = get_array_module(g)
    if norm == "linf":
        return xp.sign(g)
    length = per_example_norm(g, "l2")  # a zero gradient stays zero (float16: 1e-12 is 0)
    return g / _expand(xp.where(length == 0, 1, length + _TINY), g).astype(g.dtype)


def _random_start(x, eps: float, norm: str, rng):
    """A uniform point of the ``eps`` ball around ``x`` (drawn on the host, for exact seeding)."""
    xp = get_array_module(x)
    if norm == "linf":
        delta = rng.uniform(-eps, eps, size=x.shape)
    else:
        direction = rng.standard_normal(size=x.shape)
        flat = direction.reshape(x.shape[0], -1)
        lengths = (flat ** 2).sum(axis=1) ** 0.5
        radius = eps * rng.uniform(0, 1, size=x.shape[0]) ** (1.0 / flat.shape[1])
        delta = direction * _expand(radius / lengths, direction)
    return xp.asarray(delta, dtype=x.dtype)


@in_eval_mode
def fgsm(model, x, y=None, *, eps: float, target=None, bounds=(0.0, 1.0),
         random_start: bool = False, alpha: float | None = None, rng=None) -> AttackResult:
    """Fast gradient sign method: one step of size ``eps`` along the sign of the loss gradient.

    ``x_adv = clip(x + eps * sign(grad_x loss(x, y)))``. With ``random_start`` it is the "fast"
    adversarial training's attack (Wong, Rice & Kolter 2020): start at a uniform point of the ball,
    step ``alpha`` (default 1.25 eps), project back into the ball.

    Args:
        model: a classifier (Module) giving logits (N, C).
        x: inputs (N, ...) inside ``bounds`` (an array or a Tensor).
        y: true labels (N,) (untargeted); ignored when ``target`` is given.
        eps: the L-infinity radius, >= 0.
        target: a class, or one per example: a targeted attack towards it.
        bounds: the valid input box (low, high).
        random_start: start from a uniform point of the ball.
        alpha: the step with ``random_start`` (default 1.25 * eps).
        rng: Generator or seed for the random start.

    Returns:
        An AttackResult with L-infinity norms.
    """
    who = "fgsm"
    eps = check_eps(who, eps)
    if random_start:
        alpha = 1.25 * eps if alpha is None else check_eps(who, alpha, name="alpha")
    elif alpha is not None:  # the plain step is eps: an alpha would be ignored silently
        raise ValueError(f"fgsm: alpha={alpha!r} is the step from a random start; pass "
                         "random_start=True with it (without, the step is eps)")
    x, labels, targeted, bounds = prepare(who, model, x, y, target, bounds)
    adv = fgsm_points(model, x, labels, targeted, eps, bounds,
                      resolve_rng(rng) if random_start else None, alpha)
    return result(model, x, adv, labels, targeted=targeted, norm="linf")


def fgsm_points(model, x, labels, targeted, eps, bounds, rng=None, alpha=None):
    """FGSM's adversarial inputs alone, for checked arrays (a random start when ``rng``)."""
    start = x
    if rng is not None:
        start = _project(x + _random_start(x, eps, "linf", rng), x, eps, "linf", bounds)
    _, g, _ = input_gradient(model, start, labels, targeted=targeted)
    step = eps if rng is None else alpha
    return _project(start + step * _step(g, "linf"), x, eps, "linf", bounds)


@in_eval_mode
def pgd(model, x, y=None, *, eps: float, norm: str = "linf", steps: int = 40,
        alpha: float | None = None, restarts: int = 1, random_start: bool = True,
        target=None, bounds=(0.0, 1.0), rng=None) -> AttackResult:
    """Projected gradient descent (Madry et al. 2017) in the L-infinity or L2 ball.

    Each step moves ``alpha`` along the steepest-ascent direction of the loss (its sign for
    L-infinity, its normalized gradient for L2) and projects back into the ball and the box. Each
    restart begins at a uniform random point of the ball (``random_start``); an example keeps the
    result of highest loss among the restarts that fooled the model, else among all of them.

    Args:
        model: a classifier (Module) giving logits (N, C).
        x: inputs (N, ...) inside ``bounds``.
        y: true labels (N,) (untargeted); ignored when ``target`` is given.
        eps: the radius of the ball, >= 0.
        norm: "linf" or "l2".
        steps: gradient steps per restart, >= 1.
        alpha: the step size (default 2.5 * eps / steps, Madry et al.'s choice).
        restarts: independent runs, >= 1 (restarts > 1 needs ``random_start``).
        random_start: start each restart at a random point of the ball; False starts at ``x``.
        target: a class, or one per example: a targeted attack towards it.
        bounds: the valid input box (low, high).
        rng: Generator or seed for the random starts.

    Returns:
        An AttackResult with norms in ``norm``.
    """
    who = "pgd"
    eps = check_eps(who, eps)
    norm = _check_norm(who, norm)
    steps = check_int(who, "steps", steps)
    restarts = check_int(who, "restarts", restarts)
    if restarts > 1 and not random_start:
        raise ValueError(f"pgd: restarts={restarts} needs random_start=True (without it every "
                         "restart would be the same run)")
    alpha = 2.5 * eps / steps if alpha is None else check_eps(who, alpha, name="alpha")
    x, labels, targeted, bounds = prepare(who, model, x, y, target, bounds)
    rng = resolve_rng(rng) if random_start else None
    best = pgd_points(model, x, labels, targeted, eps, norm, steps, alpha, restarts, bounds, rng)
    return result(model, x, best, labels, targeted=targeted, norm=norm)


def pgd_points(model, x, labels, targeted, eps, norm, steps, alpha, restarts, bounds, rng):
    """PGD's adversarial inputs alone, for checked arrays (random starts when ``rng``)."""
    xp = get_array_module(x)
    best, best_loss, best_success = x.copy(), None, xp.zeros(x.shape[0], dtype=bool)
    for _ in range(restarts):
        adv = x if rng is None else _project(x + _random_start(x, eps, norm, rng), x, eps,
                                              norm, bounds)
        for _ in range(steps):
            _, g, _ = input_gradient(model, adv, labels, targeted=targeted)
            adv = _project(adv + alpha * _step(g, norm), x, eps, norm, bounds)
        if restarts == 1:
            return adv
        loss, logits = loss_and_logits(model, adv, labels, targeted=targeted)
        success = success_of(logits.argmax(axis=1), labels, targeted)
        if best_loss is None:
            take = xp.ones(x.shape[0], dtype=bool)
        else:  # a success beats no success; between equals, the higher loss wins
            take = (success & ~best_success) | ((success == best_success) & (loss > best_loss))
        best[take] = adv[take]
        best_loss = loss if best_loss is None else xp.where(take, loss, best_loss)
        best_success = best_success | success
    return best
