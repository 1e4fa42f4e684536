"""RMSprop (Hinton's lecture 6e), optionally centered and with momentum, as in PyTorch."""

from __future__ import annotations

from ..backend import get_array_module
from .optimizer import Optimizer, check_bool, check_number, effective_grad, scratch_like

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop: divide each step by a running root mean square of recent gradients.

    ``v = alpha v + (1 - alpha) g^2``; ``s = sqrt(v - a^2) + eps`` when centered (``a`` the
    running mean of ``g``) else ``sqrt(v) + eps``; ``p <- p - lr g / s``, or with momentum
    ``b = momentum b + g / s`` and ``p <- p - lr b``. Here ``g = grad + weight_decay p``.

    Args:
        params: Tensors or parameter groups (see ``Optimizer``).
        lr: learning rate.
        alpha: smoothing constant of the running mean of squares, in [0, 1].
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty coefficient.
        momentum: momentum factor (0 turns momentum off).
        centered: normalize by an estimate of the gradient's variance instead of its second moment.
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False):
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                    "momentum": momentum, "centered": centered, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        check_number("RMSprop", "lr", h["lr"], where)
        check_number("RMSprop", "alpha", h["alpha"], where, high=1.0)
        check_number("RMSprop", "eps", h["eps"], where)
        check_number("RMSprop", "weight_decay", h["weight_decay"], where)
        check_number("RMSprop", "momentum", h["momentum"], where)
        check_bool("RMSprop", "centered", h["centered"], where)
        check_bool("RMSprop", "maximize", h["maximize"], where)

    def _update(self, param, grad, group, state):
        xp = get_array_module(param)
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        momentum = float(group["momentum"])
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
        state["step"] += 1
        g, _ = effective_grad(param, grad, float(group["weight_decay"]), group["maximize"])
        v = state["square_avg"]
        tmp = xp.multiply(g, g, out=scratch_like(param))
        tmp *= 1 - alpha
        v *= alpha
        v += tmp
        if group["centered"]:
            a = _buffer(state, "grad_avg", param)
            xp.subtract(g, a, out=tmp)
            tmp *= 1 - alpha
            a += tmp
            xp.multiply(a, a, out=tmp)
            xp.subtract(v, tmp, out=tmp)
            xp.sqrt(tmp, out=tmp)
        else:
            xp.sqrt(v, out=tmp)
        tmp += eps
        xp.divide(g, tmp, out=tmp)
        if momentum > 0:
            buf = _buffer(state, "momentum_buffer", param)
            buf *= momentum
            buf += tmp
            xp.multiply(buf, lr, out=tmp)
        else:
            tmp *= lr
        param -= tmp


def _buffer(state: dict, key: str, param):
    """The state array ``key``, created as zeros the first time it is needed."""
    buf = state.get(key)
    if buf is None:
        buf = state[key] = get_array_module(param).zeros_like(param)
    return buf
