"""RMSprop (Hinton's lecture 6e), optionally centered and with momentum, as in PyTorch."""

from __future__ import annotations

from ..backend import get_array_module
from ..backend.settings import config
from . import fused
from ._state import advance, rmsprop_state
from .optimizer import Optimizer, check_bool, check_implementation_flags, check_number

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop: divide each step by a running root mean square of recent gradients.

    One step, as PyTorch's documentation writes it::

        g = grad                                   (g = -grad with maximize)
        g = g + weight_decay * p                   (if weight_decay != 0)
        v = alpha * v + (1 - alpha) * g**2         (v, g_avg, b start at 0)
        v_tilde = v
        if centered:
            g_avg = alpha * g_avg + (1 - alpha) * g
            v_tilde = v_tilde - g_avg**2
        if momentum > 0:
            b = momentum * b + g / (sqrt(v_tilde) + eps)
            p = p - lr * b
        else:
            p = p - lr * g / (sqrt(v_tilde) + eps)

    ``_update`` is this rule, line for line; ``fused.rmsprop`` does it in one compiled sweep when
    it can (see ``_update_group``).

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
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        check_implementation_flags("RMSprop", foreach, capturable, differentiable)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "capturable": capturable,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable}
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
        """The rule of the class docstring on one parameter (``param`` changes in place)."""
        lr, alpha, eps, weight_decay, momentum, centered, maximize = _hyper(group)
        xp = get_array_module(param)
        rmsprop_state(state, param, centered, momentum)
        advance(state)
        v = state["square_avg"]._data  # the state Tensors' arrays, written in place

        g = -grad if maximize else grad
        if weight_decay != 0:
            g = g + weight_decay * param
        v[...] = alpha * v + (1 - alpha) * g**2  # [...] =: into the state's arrays
        v_tilde = v
        if centered:
            g_avg = state["grad_avg"]._data
            g_avg[...] = alpha * g_avg + (1 - alpha) * g
            v_tilde = v_tilde - g_avg**2
        if momentum > 0:
            b = state["momentum_buffer"]._data
            b[...] = momentum * b + g / (xp.sqrt(v_tilde) + eps)
            param -= lr * b
        else:
            param -= lr * g / (xp.sqrt(v_tilde) + eps)

    def _update_group(self, group, params):
        """Each parameter's step: the fused kernel when it takes the arrays, else the rule."""
        h, state, cache = _hyper(group), self.state, {}
        rule = type(self)._update is RMSprop._update
        kernel = fused.rmsprop if rule and not config.reference_mode else None
        for p in params:
            param, grad = p._writable(), p.grad._data
            if kernel is None or not kernel(param, grad, state[p], h, cache):
                self._update(param, grad, group, state[p])


def _hyper(group: dict) -> tuple:
    """The group's hyperparameters, read once per step: lr, alpha, eps, weight_decay, momentum,
    centered, maximize."""
    return (float(group["lr"]), float(group["alpha"]), float(group["eps"]),
            float(group["weight_decay"]), float(group["momentum"]), bool(group["centered"]),
            bool(group["maximize"]))
