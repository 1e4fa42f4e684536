"""Minimal-perturbation attacks: DeepFool (Moosavi-Dezfooli et al. 2016) and Carlini & Wagner L2.

These do not take a budget ``eps``: they look for the smallest L2 perturbation that changes the
answer, and report its norm per image (the distance to the decision boundary they found).
"""

from __future__ import annotations

from ..autograd import Tensor, grad, no_grad
from ..backend import get_array_module
from ..ops import relu
from ._core import (
    AttackResult,
    check_classes,
    check_eps,
    check_int,
    check_logits,
    in_eval_mode,
    per_example_norm,
    prepare,
    result,
)

__all__ = ["cw_l2", "deepfool"]

_TINY = 1e-12


@in_eval_mode
def deepfool(model, x, y=None, *, steps: int = 50, overshoot: float = 0.02, candidates: int = 10,
             target=None, bounds=(0.0, 1.0)) -> AttackResult:
    """DeepFool: step to the nearest decision boundary of the model linearized at the point.

    At ``x_i`` the boundary between the current class k0 and a class k is, to first order, the
    hyperplane ``f_k - f_k0 + (grad f_k - grad f_k0) . r = 0`` whose distance is
    ``|f_k - f_k0| / ||grad f_k - grad f_k0||``. DeepFool steps onto the nearest of them (1e-4
    past it, as the authors' code does), and repeats until the label changes; the total step is
    scaled by ``1 + overshoot`` to cross the boundary. For a linear binary classifier the first
    step is exact: the distance to its hyperplane, ``|w.x + b| / ||w||`` (and the 1e-4).

    Args:
        model: a classifier (Module) giving logits (N, C); each example's logits may depend only
            on its own input (no batch statistics).
        x: inputs (N, ...) inside ``bounds``.
        y: true labels (N,); examples the model already gets wrong count as fooled, unperturbed.
        steps: linearizations at most, >= 1.
        overshoot: how far past the boundary, >= 0.
        candidates: the classes considered: the ``candidates`` highest logits at ``x``.
        target: a class, or one per example: step only towards its boundary (targeted).
        bounds: the valid input box (low, high).

    Returns:
        An AttackResult with L2 norms (the perturbation found, overshoot included).
    """
    who = "deepfool"
    steps = check_int(who, "steps", steps)
    overshoot = check_eps(who, overshoot, name="overshoot")
    candidates = check_int(who, "candidates", candidates, low=2)
    x, labels, targeted, bounds = prepare(who, model, x, y, target, bounds)
    xp = get_array_module(x)
    n, expand = x.shape[0], (-1,) + (1,) * (x.ndim - 1)
    xt = Tensor(x, requires_grad=True)
    logits0 = model(xt)
    check_logits(who, logits0, n)
    logits0 = logits0._data
    check_classes(who, labels, logits0.shape[1], targeted)
    k0 = logits0.argmax(axis=1)
    order = xp.argsort(-logits0, axis=1)[:, :min(candidates, logits0.shape[1])]
    classes = labels[:, None] if targeted else order
    active = (k0 != labels) if targeted else (k0 == labels)
    r_total = xp.zeros_like(x)
    adv = x.copy()
    for _ in range(steps):
        if not bool(active.any()):
            break
        xt = Tensor(adv, requires_grad=True)
        logits = model(xt)
        rows = xp.arange(n)
        grads = []
        for j in range(classes.shape[1]):  # one backward pass per candidate class
            onehot = xp.zeros(logits.shape, dtype=logits.dtype)
            onehot[rows, classes[:, j]] = 1
            grads.append(grad(logits, xt, grad_outputs=onehot, retain_graph=True)[0]._data)
        onehot = xp.zeros(logits.shape, dtype=logits.dtype)
        onehot[rows, k0] = 1
        g0 = grad(logits, xt, grad_outputs=onehot)[0]._data
        z = logits._data
        best_dist = xp.full(n, xp.inf, dtype="float64")
        best_r = xp.zeros_like(x)
        for j in range(classes.shape[1]):
            k = classes[:, j]
            skip = k == k0
            w = grads[j] - g0
            f = (z[rows, k] - z[rows, k0]).astype("float64")
            # k0 itself (w = 0) takes no step: its 1e-4 / 1e-12 overflowed float16 (a warning)
            w_norm = xp.where(skip, 1.0, per_example_norm(w, "l2").astype("float64") + _TINY)
            dist = xp.where(skip, xp.inf, xp.abs(f) / w_norm)
            closer = dist < best_dist
            # the authors' code: 1e-4 past the distance along w / ||w|| (1e-4 added to |f|
            # instead went 1e-4 / ||w|| past: 0.1 for a model whose ||w|| is 1e-3)
            step = ((xp.abs(f) / w_norm + 1e-4) / w_norm).astype(x.dtype)
            best_r = xp.where(closer.reshape(expand), step.reshape(expand) * w, best_r)
            best_dist = xp.where(closer, dist, best_dist)
        r_total = r_total + xp.where(active.reshape(expand), best_r, 0)
        adv = xp.clip(x + (1 + overshoot) * r_total, bounds[0], bounds[1]).astype(x.dtype)
        now = Tensor(adv)
        pred = model(now)._data.argmax(axis=1)
        active = active & ((pred != labels) if targeted else (pred == labels))
    return result(model, x, adv, labels, targeted=targeted, norm="l2")


@in_eval_mode
def cw_l2(model, x, y=None, *, c: float = 1.0, kappa: float = 0.0, steps: int = 100,
          lr: float = 0.1, binary_steps: int = 5, target=None,
          bounds=(0.0, 1.0)) -> AttackResult:
    """Carlini & Wagner's L2 attack: the smallest perturbation found by optimization.

    In the change of variables ``x_adv = low + (high - low) (tanh(w) + 1) / 2`` the box is built
    in, and Adam minimizes ``||x_adv - x||^2 + c * max(Z_y - max_{i != y} Z_i, -kappa)`` (targeted:
    ``max(max_{i != t} Z_i - Z_t, -kappa)``) over ``w``, Z being the logits. A binary search on
    each example's ``c`` (``binary_steps`` rounds, from ``c``) looks for the smallest perturbation
    that succeeds: ``c`` shrinks after a success, grows tenfold (or halfway to the last failure's)
    after a failure.

    Args:
        model: a classifier (Module) giving logits (N, C).
        x: inputs (N, ...) inside ``bounds``.
        y: true labels (N,) (untargeted); ignored when ``target`` is given.
        c: the first weight of the classification term, > 0.
        kappa: the confidence margin, >= 0.
        steps: Adam steps per binary-search round, >= 1.
        lr: Adam's learning rate, > 0.
        binary_steps: rounds of the search on ``c``, >= 1.
        target: a class, or one per example: a targeted attack.
        bounds: the valid input box (low, high).

    Returns:
        An AttackResult with L2 norms: the smallest successful perturbation of each example
        (examples never fooled keep ``x``, with norm 0 and success False).
    """
    who = "cw_l2"
    c = check_eps(who, c, name="c", positive=True)
    kappa = check_eps(who, kappa, name="kappa")
    steps = check_int(who, "steps", steps)
    lr = check_eps(who, lr, name="lr", positive=True)
    binary_steps = check_int(who, "binary_steps", binary_steps)
    x, labels, targeted, bounds = prepare(who, model, x, y, target, bounds)
    xp = get_array_module(x)
    low, high = bounds
    n = x.shape[0]
    # atanh of the input; inputs on the box's edge are pulled in a hair to keep it finite
    # (in float16, 1 - 1e-6 rounds to 1, atanh to inf, and Adam's 1e-8 to 0: w went NaN and
    # nothing was fooled; the dtype's own resolution keeps them finite, float32/64 unchanged)
    info = xp.finfo(x.dtype)
    edge, adam_eps = max(1e-6, float(info.eps)), max(1e-8, float(info.tiny))
    big = min(1e9, float(info.max) / 4)  # 1e9 is inf in float16, and 0 * inf NaN
    unit = xp.clip((x - low) / (high - low) * 2 - 1, -1 + edge, 1 - edge)
    w0 = xp.arctanh(unit)
    c_now = xp.full(n, c, dtype=x.dtype)
    c_low, c_high = xp.zeros(n, dtype=x.dtype), xp.full(n, xp.inf, dtype=x.dtype)
    best, best_norm = x.copy(), xp.full(n, xp.inf, dtype="float64")
    onehot = xp.zeros((n, _num_classes(who, model, x)), dtype=x.dtype)
    check_classes(who, labels, onehot.shape[1], targeted)
    onehot[xp.arange(n), labels] = 1
    for _ in range(binary_steps):
        w, m, v = w0.copy(), xp.zeros_like(x), xp.zeros_like(x)
        succeeded = xp.zeros(n, dtype=bool)
        for t in range(1, steps + 1):
            wt = Tensor(w, requires_grad=True)
            adv_t = (wt.tanh() + 1) * ((high - low) / 2) + low
            logits = model(adv_t)
            real = (logits * Tensor(onehot)).sum(axis=1)
            other = (logits - Tensor(onehot * big)).max(axis=1)
            margin = (other - real) if targeted else (real - other)
            term = relu(margin + kappa) - kappa  # max(margin, -kappa)
            dist = ((adv_t - Tensor(x)) ** 2).reshape(n, -1).sum(axis=1)
            (g,) = grad((dist + Tensor(c_now) * term).sum(), wt)
            # (tanh + 1) * (high - low) / 2 + low rounds past the box in float32 at tanh = +-1
            adv = xp.clip(adv_t._data, low, high)
            d2 = dist._data.astype("float64")
            fooled = margin._data <= -kappa if kappa > 0 else margin._data < 0
            improved = fooled & (d2 < best_norm ** 2)
            best[improved] = adv[improved]
            best_norm = xp.where(improved, xp.sqrt(d2), best_norm)
            succeeded |= fooled
            m = 0.9 * m + 0.1 * g._data  # Adam, as Carlini & Wagner optimize w
            v = 0.999 * v + 0.001 * g._data ** 2
            w = w - lr * (m / (1 - 0.9 ** t)) / (xp.sqrt(v / (1 - 0.999 ** t)) + adam_eps)
        c_high = xp.where(succeeded, xp.minimum(c_high, c_now), c_high)
        c_low = xp.where(succeeded, c_low, xp.maximum(c_low, c_now))
        bisect = (c_low + c_high) / 2
        c_now = xp.where(xp.isinf(c_high), c_now * 10, bisect).astype(x.dtype)
    return result(model, x, best, labels, targeted=targeted, norm="l2")


def _num_classes(who, model, x) -> int:
    with no_grad():
        return check_logits(who, model(Tensor(x[:1])), 1)
