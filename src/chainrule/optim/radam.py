"""RAdam (Liu et al., 2020): Adam with its adaptive step rectified by the variance of its own
estimate, as in PyTorch."""

from __future__ import annotations

import math

from ..backend import get_array_module
from ._betas import check_betas_or_tensors
from ._state import advance, lerp, scalar, zeros
from .optimizer import Optimizer, check_bool, check_implementation_flags, check_number

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam: momentum SGD while the second-moment estimate is too young, then a rectified Adam.

    Step t (from 1), as the paper (Algorithm 2) and PyTorch's documentation write it::

        g = grad                                   (g = -grad with maximize)
        p = p - lr * weight_decay * p              (decoupled_weight_decay; else
        g = g + weight_decay * p                    L2 in the gradient)
        m = beta1 * m + (1 - beta1) * g            (m, v start at 0)
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        if rho_t > 5:
            r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            p = p - lr * m_hat * r_t * sqrt(1 - beta2**t) / (sqrt(v) + eps)
        else:
            p = p - lr * m_hat

    ``_update`` is this rule, line for line.

    Args:
        params: Tensors or parameter groups (see ``Optimizer``).
        lr: learning rate.
        betas: decay rates (b1, b2) of the moment estimates, each in [0, 1).
        eps: added to the denominator for numerical stability.
        weight_decay: weight decay coefficient (L2, or decoupled as AdamW's).
        decoupled_weight_decay: shrink the parameters directly instead of adding an L2 term.
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        check_implementation_flags("RAdam", foreach, capturable, differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "decoupled_weight_decay": decoupled_weight_decay,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        for key in ("lr", "eps", "weight_decay"):
            check_number("RAdam", key, h[key], where)
        check_betas_or_tensors("RAdam", h, where)
        check_bool("RAdam", "decoupled_weight_decay", h["decoupled_weight_decay"], where)
        check_bool("RAdam", "maximize", h["maximize"], where)

    def _update(self, param, grad, group, state):
        """The rule of the class docstring on one parameter (``param`` changes in place)."""
        lr, eps = float(group["lr"]), float(group["eps"])
        weight_decay = float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        xp = get_array_module(param)
        if not state:
            state["step"] = scalar(0.0)
            state["exp_avg"] = zeros(param)
            state["exp_avg_sq"] = zeros(param)
        t = advance(state)
        m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data

        g = -grad if group["maximize"] else grad
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * weight_decay
            else:
                g = g + weight_decay * param
        m[...] = lerp(m, g, 1 - beta1)  # PyTorch's lerp_ (an inf g: nan, as there)
        v[...] = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        if rho_t > 5.0:
            r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                            / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            param -= m_hat * lr * (math.sqrt(1 - beta2**t) / (xp.sqrt(v) + eps)) * r_t
        else:
            param -= m_hat * lr
