"""Adagrad (Duchi, Hazan & Singer): per-coordinate steps shrink with the squared-gradient sum."""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import get_array_module
from ..backend.settings import config
from . import fused
from ._state import advance, scalar
from .optimizer import Optimizer, check_bool, check_implementation_flags, check_number
from .sparse_steps import adagrad_sparse

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad: each coordinate's step is divided by the root of its accumulated squared gradients.

    Step t (from 1), as PyTorch's documentation writes it::

        lr_t = lr / (1 + (t - 1) * lr_decay)
        g = grad                                   (g = -grad with maximize)
        g = g + weight_decay * p                   (if weight_decay != 0)
        s = s + g**2                               (s starts at initial_accumulator_value)
        p = p - lr_t * g / (sqrt(s) + eps)

    ``_update`` is this rule, line for line; ``fused.adagrad`` does it in one compiled sweep when
    it can (see ``_update_group``).

    Args:
        params: Tensors or parameter groups (see ``Optimizer``).
        lr: learning rate.
        lr_decay: learning-rate decay per step.
        weight_decay: L2 penalty coefficient.
        initial_accumulator_value: starting value of the sum of squares.
        eps: added to the denominator for numerical stability.
        maximize: ascend the objective instead of descending it.
    """

    _sparse_update = adagrad_sparse  # a sparse gradient (sparse_steps.py)

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        check_implementation_flags("Adagrad", foreach, False, differentiable, fused)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        # As PyTorch's: every parameter given here has its state (step 0, the starting sum) from
        # the start, so state_dict() lists it before its first gradient; a group added later
        # starts its parameters' state at their first step.
        for group in self.param_groups:
            v = float(group["initial_accumulator_value"])
            for p in group["params"]:
                start = complex(v, v) if p._data.dtype.kind == "c" else v  # PyTorch's, per part
                self.state[p] = {"step": scalar(0.0),
                                 "sum": Tensor(get_array_module(p._data).full_like(p._data, start))}

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_number("Adagrad", key, h[key], where)
        check_bool("Adagrad", "maximize", h["maximize"], where)

    def _update_complex(self, group, p):
        fused.refuse_complex(group, p)  # a complex (or float16) parameter's step
        super()._update_complex(group, p)

    def _update(self, param, grad, group, state):
        """The rule of the class docstring on one parameter (``param`` changes in place)."""
        lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize = _hyper(group)
        xp = get_array_module(param)
        if not state:
            state["step"] = scalar(0.0)
            state["sum"] = Tensor(xp.full_like(param, initial_accumulator_value))
        t, s = advance(state), state["sum"]._data

        lr_t = lr / (1 + (t - 1) * lr_decay)
        g = -grad if maximize else grad
        if weight_decay != 0:
            g = g + weight_decay * param
        s[...] = s + g**2  # [...] =: into the state's array
        param -= lr_t * g / (xp.sqrt(s) + eps)

    def _update_group(self, group, params):
        """Each parameter's step: the fused kernel when it takes the arrays, else the rule."""
        h, state, cache = _hyper(group), self.state, {}
        rule = type(self)._update is Adagrad._update
        kernel = fused.adagrad if rule and not config.reference_mode else None
        for p in params:
            param, grad = p._writable(), p.grad._data
            if kernel is None or not kernel(param, grad, state[p], h, cache):
                self._update(param, grad, group, state[p])


def _hyper(group: dict) -> tuple:
    """The group's hyperparameters, read once per step: lr, lr_decay, weight_decay,
    initial_accumulator_value, eps, maximize."""
    return (float(group["lr"]), float(group["lr_decay"]), float(group["weight_decay"]),
            float(group["initial_accumulator_value"]), float(group["eps"]),
            bool(group["maximize"]))
