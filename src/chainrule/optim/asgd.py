"""ASGD: averaged stochastic gradient descent (Polyak & Juditsky, 1992), as in PyTorch: SGD with
a decaying step whose iterates are averaged after step ``t0``."""

from __future__ import annotations

from ._state import advance, scalar, zeros
from .optimizer import Optimizer, check_bool, check_implementation_flags, check_number

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""ASGD: SGD with a decaying step size, and a running average ``ax`` of the iterates.

    Step t (from 1), as PyTorch's implementation writes it (eta starts at lr, mu at 1)::

        g = grad                                   (g = -grad with maximize)
        g = g + weight_decay * p                   (if weight_decay != 0)
        p = p * (1 - lambd * eta)
        p = p - eta * g
        ax = ax + mu * (p - ax)                    (ax = p while mu = 1)
        eta = lr / (1 + lambd * lr * t) ** alpha
        mu = 1 / max(1, t - t0)

    The averaged parameters are the state ``ax`` (``optimizer.state[p]["ax"]``, a Tensor: the
    NT-ASGD idiom's ``p.data = optimizer.state[p]["ax"].clone()``); the training itself uses
    ``p``. ``eta`` and ``mu`` are 0-d Tensors in PyTorch's scalar dtype (``_state.scalar``: float32
    unless the default dtype is float64), read back after each step, as PyTorch's.
    ``_update`` is this rule, line for line.

    Args:
        params: Tensors or parameter groups (see ``Optimizer``).
        lr: learning rate.
        lambd: decay term.
        alpha: power of the step size's decay.
        t0: the step from which averaging starts.
        weight_decay: L2 penalty coefficient.
        foreach: accepted for PyTorch's signature (one implementation here).
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False):
        check_implementation_flags("ASGD", foreach, capturable, differentiable)
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    _scalar_state = frozenset({"step", "eta", "mu"})

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        for key in ("lr", "lambd", "alpha", "t0", "weight_decay"):
            check_number("ASGD", key, h[key], where)
        check_bool("ASGD", "maximize", h["maximize"], where)

    def _update(self, param, grad, group, state):
        """The rule of the class docstring on one parameter (``param`` changes in place)."""
        lr, lambd, alpha = float(group["lr"]), float(group["lambd"]), float(group["alpha"])
        t0, weight_decay = float(group["t0"]), float(group["weight_decay"])
        if not state:
            state["step"] = scalar(0.0)
            state["eta"] = scalar(lr)
            state["mu"] = scalar(1.0)
            state["ax"] = zeros(param)
        t = advance(state)
        eta_t, mu_t, ax = state["eta"]._data, state["mu"]._data, state["ax"]._data
        eta, mu = eta_t.item(), mu_t.item()

        g = -grad if group["maximize"] else grad
        if weight_decay != 0:
            g = g + weight_decay * param
        param *= 1 - lambd * eta
        param -= eta * g
        if mu != 1:
            ax += (param - ax) * mu
        else:
            ax[...] = param
        eta_t[()] = lr / ((1 + lambd * lr * t) ** alpha)  # in place: the Tensors stay the state
        mu_t[()] = 1 / max(1, t - t0)
