"""Adagrad (Duchi, Hazan & Singer): per-coordinate steps shrink with the squared-gradient sum."""

from __future__ import annotations

from ..backend import get_array_module
from .optimizer import Optimizer, check_bool, check_number, effective_grad, scratch_like

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad: each coordinate's step is divided by the root of its accumulated squared gradients.

    ``s = s + g^2`` and ``p <- p - lr_t g / (sqrt(s) + eps)``, with
    ``lr_t = lr / (1 + (t - 1) lr_decay)`` at step t, ``g = grad + weight_decay p`` and ``s``
    starting at ``initial_accumulator_value``.

    Args:
        params: Tensors or parameter groups (see ``Optimizer``).
        lr: learning rate.
        lr_decay: learning-rate decay per step.
        weight_decay: L2 penalty coefficient.
        initial_accumulator_value: starting value of the sum of squares.
        eps: added to the denominator for numerical stability.
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *,
                 maximize: bool = False):
        defaults = {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "eps": eps,
                    "maximize": maximize}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_number("Adagrad", key, h[key], where)
        check_bool("Adagrad", "maximize", h["maximize"], where)

    def _update(self, param, grad, group, state):
        xp = get_array_module(param)
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(param, float(group["initial_accumulator_value"]))
        state["step"] += 1
        lr = float(group["lr"]) / (1 + (state["step"] - 1) * float(group["lr_decay"]))
        g, _ = effective_grad(param, grad, float(group["weight_decay"]), group["maximize"])
        s = state["sum"]
        tmp = xp.multiply(g, g, out=scratch_like(param))
        s += tmp
        xp.sqrt(s, out=tmp)
        tmp += float(group["eps"])
        xp.divide(g, tmp, out=tmp)
        tmp *= lr
        param -= tmp
