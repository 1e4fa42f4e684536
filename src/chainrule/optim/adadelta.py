"""Adadelta (Zeiler, 2012): steps scaled by running averages of squared gradients and updates."""

from __future__ import annotations

from ..backend import get_array_module
from ._state import advance, scalar, zeros
from .optimizer import Optimizer, check_bool, check_implementation_flags, check_number

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta: the step's units come from the running average of past squared updates.

    Per step, as PyTorch's documentation writes it::

        g = grad                                   (g = -grad with maximize)
        g = g + weight_decay * p                   (if weight_decay != 0)
        v = rho * v + (1 - rho) * g**2             (v, u start at 0)
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta**2
        p = p - lr * delta

    ``_update`` is this rule, line for line.

    Args:
        params: Tensors or parameter groups (see ``Optimizer``).
        lr: scales the update (1.0 in the paper).
        rho: decay of the running averages.
        eps: added inside the square roots.
        weight_decay: L2 penalty coefficient.
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False, differentiable: bool = False):
        check_implementation_flags("Adadelta", foreach, capturable, differentiable)
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        for key in ("lr", "eps", "weight_decay"):
            check_number("Adadelta", key, h[key], where)
        check_number("Adadelta", "rho", h["rho"], where, high=1.0)
        check_bool("Adadelta", "maximize", h["maximize"], where)

    def _update(self, param, grad, group, state):
        """The rule of the class docstring on one parameter (``param`` changes in place)."""
        lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
        weight_decay = float(group["weight_decay"])
        xp = get_array_module(param)
        if not state:
            state["step"] = scalar(0.0)
            state["square_avg"] = zeros(param)
            state["acc_delta"] = zeros(param)
        advance(state)
        v, u = state["square_avg"]._data, state["acc_delta"]._data

        g = -grad if group["maximize"] else grad
        if weight_decay != 0:
            g = g + weight_decay * param
        v[...] = rho * v + (1 - rho) * g**2
        delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * g
        u[...] = rho * u + (1 - rho) * delta**2
        param -= lr * delta
