"""NAdam (Dozat, 2016): Adam with Nesterov momentum, as in PyTorch (momentum decay included)."""

from __future__ import annotations

from ..backend import get_array_module
from ._betas import check_betas_or_tensors
from ._state import advance, lerp, scalar, zeros
from .optimizer import Optimizer, check_bool, check_implementation_flags, check_number

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam: Adam whose step looks ahead along the momentum, with a warming momentum schedule.

    Step t (from 1), as Dozat's paper and PyTorch's documentation write it::

        g = grad                                   (g = -grad with maximize)
        p = p - lr * weight_decay * p              (decoupled_weight_decay; else
        g = g + weight_decay * p                    L2 in the gradient)
        mu_t = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay))
        mu_{t+1} = beta1 * (1 - 0.5 * 0.96**((t + 1) * momentum_decay))
        m = beta1 * m + (1 - beta1) * g            (m, v start at 0)
        v = beta2 * v + (1 - beta2) * g**2
        v_hat = v / (1 - beta2**t)
        p = p - lr * (1 - mu_t) / (1 - mu_1 ... mu_t) * g / (sqrt(v_hat) + eps)
              - lr * mu_{t+1} / (1 - mu_1 ... mu_{t+1}) * m / (sqrt(v_hat) + eps)

    The product ``mu_1 ... mu_t`` is the state ``mu_product``, a 0-d Tensor in PyTorch's scalar
    dtype (``_state.scalar``: float32 unless the default dtype is float64), multiplied in that
    dtype, as PyTorch's. ``_update`` is this rule, line for line.

    Args:
        params: Tensors or parameter groups (see ``Optimizer``).
        lr: learning rate.
        betas: decay rates (b1, b2) of the moment estimates, each in [0, 1).
        eps: added to the denominator for numerical stability.
        weight_decay: weight decay coefficient (L2, or decoupled as AdamW's).
        momentum_decay: how fast mu_t warms up to beta1 (psi in the paper).
        decoupled_weight_decay: shrink the parameters directly (NAdamW) instead of adding an
            L2 term to the gradient.
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        check_implementation_flags("NAdam", foreach, capturable, differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable, "differentiable": differentiable}
        super().__init__(params, defaults)

    _scalar_state = frozenset({"step", "mu_product"})

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        for key in ("lr", "eps", "weight_decay", "momentum_decay"):
            check_number("NAdam", key, h[key], where)
        check_betas_or_tensors("NAdam", h, where)
        check_bool("NAdam", "decoupled_weight_decay", h["decoupled_weight_decay"], where)
        check_bool("NAdam", "maximize", h["maximize"], where)

    def _update(self, param, grad, group, state):
        """The rule of the class docstring on one parameter (``param`` changes in place)."""
        lr, eps = float(group["lr"]), float(group["eps"])
        weight_decay = float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        psi = float(group["momentum_decay"])
        xp = get_array_module(param)
        if not state:
            state["step"] = scalar(0.0)
            state["mu_product"] = scalar(1.0)
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
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        product = state["mu_product"]._data
        product *= mu  # in place, in its dtype (NumPy rounds mu to it first, as PyTorch)
        mu_product = product.item()
        m[...] = lerp(m, g, 1 - beta1)  # PyTorch's lerp_ (an inf g: nan, as there)
        v[...] = beta2 * v + (1 - beta2) * g**2
        denom = xp.sqrt(v / (1 - beta2**t)) + eps
        param -= lr * (1 - mu) / (1 - mu_product) * (g / denom)
        param -= lr * mu_next / (1 - mu_product * mu_next) * (m / denom)
