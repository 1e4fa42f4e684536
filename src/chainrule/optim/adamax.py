"""Adamax (Kingma & Ba, 2015, section 7.1): Adam with the infinity norm, as in PyTorch."""

from __future__ import annotations

from ..backend import get_array_module
from ._betas import check_betas_or_tensors
from ._state import advance, lerp, scalar, zeros
from .optimizer import Optimizer, check_bool, check_implementation_flags, check_number

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax: Adam's step scaled by an exponentially weighted infinity norm of the gradients.

    Step t (from 1), as the paper (Algorithm 2) and PyTorch's documentation write it::

        g = grad                                   (g = -grad with maximize)
        g = g + weight_decay * p                   (if weight_decay != 0)
        m = beta1 * m + (1 - beta1) * g            (m, u start at 0)
        u = max(beta2 * u, |g| + eps)
        p = p - lr / (1 - beta1**t) * m / u

    ``_update`` is this rule, line for line.

    Args:
        params: Tensors or parameter groups (see ``Optimizer``).
        lr: learning rate.
        betas: decay rates (b1, b2) of the first moment and of the infinity norm, in [0, 1).
        eps: added to |g| so that u stays positive.
        weight_decay: L2 penalty coefficient.
        foreach: accepted for PyTorch's signature (one implementation here).
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False):
        check_implementation_flags("Adamax", foreach, capturable, differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        for key in ("lr", "eps", "weight_decay"):
            check_number("Adamax", key, h[key], where)
        check_betas_or_tensors("Adamax", h, where)
        check_bool("Adamax", "maximize", h["maximize"], where)

    def _update(self, param, grad, group, state):
        """The rule of the class docstring on one parameter (``param`` changes in place)."""
        lr, eps = float(group["lr"]), float(group["eps"])
        weight_decay = float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        xp = get_array_module(param)
        if not state:
            state["step"] = scalar(0.0)
            state["exp_avg"] = zeros(param)
            state["exp_inf"] = zeros(param)
        t = advance(state)
        m, u = state["exp_avg"]._data, state["exp_inf"]._data

        g = -grad if group["maximize"] else grad
        if weight_decay != 0:
            g = g + weight_decay * param
        m[...] = lerp(m, g, 1 - beta1)  # PyTorch's lerp_ (an inf g: nan, as there)
        u[...] = xp.maximum(beta2 * u, xp.abs(g) + eps)
        param -= lr / (1 - beta1**t) * (m / u)
