"""MacKay's evidence framework: choose the weight decay by the marginal likelihood of the data.

With a Gaussian prior ``N(0, 1/alpha)`` on the weights and Gaussian noise of precision ``beta``,
the evidence ``p(D | alpha, beta)`` of a model linear in its weights has a closed form (Bishop,
PRML eq. 3.86); for a network, the Laplace approximation around the trained weights with the
Gauss-Newton Hessian ``A = alpha I + beta J^T J`` gives the same formula with the Jacobian ``J``
of the outputs (MacKay, 1992). Maximizing it over ``alpha`` chooses the weight decay without a
validation set; its fixed point re-estimates ``alpha = gamma / |w|^2`` and
``beta = (N - gamma) / |y - f|^2`` with ``gamma = sum_i lambda_i / (alpha + lambda_i)`` the number
of well-determined parameters.

The objective ``beta/2 sum_n (y_n - f_n)^2 + alpha/2 |w|^2`` is ``mse_loss`` plus an optimizer
``weight_decay`` of ``2 alpha / (beta N)``, N the number of targets (examples times outputs:
``mse_loss`` averages over every element).
"""

from __future__ import annotations

import math
import warnings

from .. import optim
from ..autograd import Tensor, grad
from ..backend import asnumpy, get_array_module
from ..ops import reshape
from ..ops import sum as total
from ._checks import (
    check_finite_batch,
    check_int,
    check_positive,
    check_targets,
    eval_modes,
    restore_modes,
)

__all__ = ["linear_evidence", "evidence_fixed_point", "jacobian", "log_evidence",
           "fit_map", "choose_weight_decay"]


def linear_evidence(phi, t, alpha: float, beta: float) -> dict:
    """Bayesian linear regression ``t = phi w + noise`` in closed form.

    Returns:
        ``{"mean", "covariance", "log_evidence", "gamma"}``: the posterior of ``w`` and the log
        marginal likelihood ``log p(t | alpha, beta)`` (Bishop, PRML 3.86).
    """
    check_positive("linear_evidence", "alpha", alpha)
    check_positive("linear_evidence", "beta", beta)
    phi, t = _design("linear_evidence", phi, t)
    xp = get_array_module(phi)
    n, m = phi.shape
    a = alpha * xp.eye(m) + beta * phi.T @ phi
    cov = xp.linalg.inv(a)
    mean = beta * cov @ phi.T @ t
    e = 0.5 * beta * float(((t - phi @ mean) ** 2).sum()) + 0.5 * alpha * float(mean @ mean)
    _, logdet = xp.linalg.slogdet(a)
    lam = xp.linalg.eigvalsh(beta * phi.T @ phi)
    log_ev = (0.5 * m * math.log(alpha) + 0.5 * n * math.log(beta) - e - 0.5 * float(logdet)
              - 0.5 * n * math.log(2 * math.pi))
    return {"mean": mean, "covariance": cov, "log_evidence": log_ev,
            "gamma": float((lam / (alpha + lam)).sum())}


def _design(who: str, phi, t):
    """``(phi, t)`` as float64 arrays (N, M) and (N,), N >= 1, else a ValueError naming them."""
    phi, t = asnumpy(phi), asnumpy(t)
    if phi.ndim != 2 or not phi.size:
        raise ValueError(f"{who}: phi must be a non-empty 2-D design matrix (N, M), got shape "
                         f"{phi.shape}")
    if t.shape not in ((len(phi),), (len(phi), 1)):
        raise ValueError(f"{who}: t must hold one target per row of phi ({len(phi)}), shape "
                         f"({len(phi)},) or ({len(phi)}, 1), got shape {t.shape}")
    for name, a in (("phi", phi), ("t", t)):
        if a.dtype.kind not in "fiub":
            raise ValueError(f"{who}: {name} must hold real numbers, got dtype {a.dtype}")
        if not bool(get_array_module(a).isfinite(a).all()):
            raise ValueError(f"{who}: {name} must be finite, got "
                             f"{int((~get_array_module(a).isfinite(a)).sum())} NaN or infinite "
                             "entries")
    return phi.astype("float64"), t.astype("float64").reshape(-1)


def evidence_fixed_point(phi, t, *, alpha: float = 1.0, beta: float = 1.0, iters: int = 200,
                         tol: float = 1e-10) -> dict:
    """MacKay's re-estimation of ``alpha`` and ``beta`` for a linear model, to a fixed point.

    Returns:
        ``{"alpha", "beta", "gamma", "log_evidence", "iters", "converged"}`` at the fixed point,
        which is a stationary point of the evidence. Where ``iters`` steps did not reach it
        (``converged`` False) a RuntimeWarning says so: the last iterate can be far from it (40%
        in alpha after 200 steps of a slow case).
    """
    who = "evidence_fixed_point"
    check_int(who, "iters", iters)
    check_positive(who, "alpha", alpha)
    check_positive(who, "beta", beta)
    check_positive(who, "tol", tol, allow_zero=True)
    phi, t = _design(who, phi, t)
    n = len(t)
    done_iters, done = 0, False
    while done_iters < iters:
        done_iters += 1
        post = linear_evidence(phi, t, alpha, beta)
        w, gamma = post["mean"], post["gamma"]
        ww, rr = float(w @ w), float(((t - phi @ w) ** 2).sum())
        if ww == 0:
            raise ValueError(f"{who}: alpha has grown to {alpha:g} and the posterior mean to 0: "
                             "the evidence keeps rising as alpha -> infinity (the data support "
                             "no weight, or t is all zero); no finite fixed point")
        if rr == 0:
            raise ValueError(f"{who}: phi fits t exactly (residual 0 at alpha={alpha:g}): the "
                             "evidence keeps rising as beta -> infinity; no finite fixed point")
        new_alpha = gamma / ww
        new_beta = (n - gamma) / rr
        done = abs(new_alpha - alpha) <= tol * alpha and abs(new_beta - beta) <= tol * beta
        alpha, beta = new_alpha, new_beta
        if done:
            break
    if not done:
        warnings.warn(f"{who}: no fixed point within iters={iters} (relative tol={tol:g}); alpha "
                      f"{alpha:.6g} and beta {beta:.6g} are the last iterate, not the fixed "
                      "point: raise iters", RuntimeWarning, stacklevel=2)
    post = linear_evidence(phi, t, alpha, beta)
    return {"alpha": alpha, "beta": beta, "gamma": post["gamma"],
            "log_evidence": post["log_evidence"], "iters": done_iters, "converged": done}


def jacobian(model, x) -> object:
    """Jacobian (N, P) of a scalar-output model's outputs at ``x`` w.r.t. its trainable parameters.

    One backward pass per example; the parameters that require grad, flattened in
    ``model.parameters()`` order (frozen ones are constants of the model).
    """
    params = _trainable("jacobian", model)
    out = reshape(model(Tensor(asnumpy(x))), (-1,))
    rows = []
    for i in range(out.shape[0]):
        g = grad(out[i], params, retain_graph=True, allow_unused=True)
        rows.append([asnumpy(gi._data if gi is not None else 0 * p._data).reshape(-1)
                     for gi, p in zip(g, params)])
    xp = get_array_module(rows[0][0])
    return xp.stack([xp.concatenate(r) for r in rows])


def _trainable(who: str, model) -> list:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"{who}: {type(model).__name__} has no trainable parameter")
    return params


def log_evidence(model, x, y, *, alpha: float, beta: float) -> dict:
    """Laplace's log evidence of a trained scalar-output regression net (Gauss-Newton Hessian).

    Args:
        model: a net whose weights are (near) the minimum of
            ``beta/2 sum (y - f)^2 + alpha/2 |w|^2``.
        x, y: the training data, y of shape (N,) or (N, 1).
        alpha, beta: prior and noise precisions.

    Returns:
        ``{"log_evidence", "gamma", "e_data" (1/2 sum of squared errors), "e_weights"
        (1/2 |w|^2, over the trainable parameters)}``.
    """
    check_positive("log_evidence", "alpha", alpha)
    check_positive("log_evidence", "beta", beta)
    x = check_finite_batch("log_evidence", "x", x)  # a NaN was a LinAlgError in eigvalsh
    modes = eval_modes(model)
    try:
        jac = jacobian(model, x).astype("float64")
        f = asnumpy(model(Tensor(asnumpy(x)))._data)
    finally:
        restore_modes(modes)
    xp = get_array_module(jac)
    y = check_targets("log_evidence", y, f.shape).reshape(-1)  # NaN y: a NaN evidence
    f = f.reshape(-1).astype("float64")
    w = xp.concatenate([asnumpy(p._data).reshape(-1).astype("float64")
                        for p in _trainable("log_evidence", model)])
    n, m = jac.shape
    e_d, e_w = 0.5 * float(((y - f) ** 2).sum()), 0.5 * float(w @ w)
    lam = xp.linalg.eigvalsh(beta * jac.T @ jac)
    logdet = float(xp.log(alpha + lam).sum())
    value = (0.5 * m * math.log(alpha) + 0.5 * n * math.log(beta) - beta * e_d - alpha * e_w
             - 0.5 * logdet - 0.5 * n * math.log(2 * math.pi))
    return {"log_evidence": value, "gamma": float((lam / (alpha + lam)).sum()),
            "e_data": e_d, "e_weights": e_w}


def fit_map(model, x, y, *, alpha: float, beta: float, steps: int = 3000,
            lr: float = 0.01) -> object:
    """Minimize ``beta/2 sum (y - f)^2 + alpha/2 |w|^2`` by full-batch Adam; returns ``model``."""
    check_int("fit_map", "steps", steps)
    check_positive("fit_map", "alpha", alpha, allow_zero=True)
    check_positive("fit_map", "beta", beta)
    check_positive("fit_map", "lr", lr)
    xt, yt = Tensor(check_finite_batch("fit_map", "x", x)), None
    params = _trainable("fit_map", model)
    opt = optim.Adam(params, lr=lr)
    for _ in range(steps):
        out = model(xt)
        if yt is None:  # y in the output's shape: (N,) against (N, 1) would broadcast to (N, N)
            yt = Tensor(check_targets("fit_map", y, tuple(out.shape)).astype(out._data.dtype))
        r = out - yt
        loss = 0.5 * beta * total(r * r) + 0.5 * alpha * sum(total(p * p) for p in params)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def choose_weight_decay(build, x, y, alphas, *, beta: float, steps: int = 3000,
                        lr: float = 0.01) -> dict:
    """Train ``build()`` for every prior precision in ``alphas``; pick the one of largest evidence.

    Returns:
        ``{"alphas", "log_evidence", "gamma", "best_alpha", "weight_decay" (the optimizer's
        equivalent of best_alpha with mse_loss: 2 alpha / (beta N), N the number of targets),
        "models"}``.
    """
    # every alpha checked before any training (an alpha of 0 was refused after its training)
    alphas = [check_positive("choose_weight_decay", f"alphas[{i}]", a)
              for i, a in enumerate(alphas)]
    check_positive("choose_weight_decay", "beta", beta)
    if not alphas:
        raise ValueError("choose_weight_decay: alphas must list at least one prior precision, "
                         "got none")
    rows, models = [], []
    for a in alphas:
        model = fit_map(build(), x, y, alpha=a, beta=beta, steps=steps, lr=lr)
        rows.append(log_evidence(model, x, y, alpha=a, beta=beta))
        models.append(model)
    best = max(range(len(rows)), key=lambda i: rows[i]["log_evidence"])
    return {"alphas": list(alphas), "log_evidence": [r["log_evidence"] for r in rows],
            "gamma": [r["gamma"] for r in rows], "best_alpha": alphas[best],
            "weight_decay": 2 * alphas[best] / (beta * asnumpy(y).size), "models": models}
