"""Rprop (Riedmiller & Braun, 1993), the iRprop- variant, as in PyTorch: each weight's step
grows while its gradient keeps its sign and shrinks when the sign flips."""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import get_array_module
from ._state import advance, scalar, zeros
from .optimizer import Optimizer, check_bool, check_implementation_flags, check_number

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Rprop: steps of a per-weight size, in the direction of the gradient's sign only.

    Per step, as PyTorch's documentation writes it (``d`` starts at ``lr``, ``g_prev`` at 0)::

        g = grad                                    (g = -grad with maximize)
        s = sign(g * g_prev)
        d = clip(d * eta_plus,  step_min, step_max)  where s > 0
        d = clip(d * eta_minus, step_min, step_max)  where s < 0
        g = 0                                        where s < 0  (no step after a sign flip)
        p = p - sign(g) * d
        g_prev = g

    ``sign`` is PyTorch's: 0 for a nan (a weight whose gradient is nan keeps its value and step
    size; its ``prev`` is nan, so the next step's sign product is 0 as well).

    ``_update`` is this rule, line for line. As in PyTorch, ``lr`` only sets the first step
    size; later changes of ``lr`` (a scheduler's) do not reach it. Meant for full-batch
    training: minibatch noise flips signs at random.

    Args:
        params: Tensors or parameter groups (see ``Optimizer``).
        lr: the initial step size of every weight.
        etas: (eta_minus, eta_plus), the factors with 0 < eta_minus < 1 < eta_plus.
        step_sizes: (step_min, step_max), the bounds of the step sizes.
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        check_implementation_flags("Rprop", foreach, capturable, differentiable)
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        check_number("Rprop", "lr", h["lr"], where)
        for key in ("etas", "step_sizes"):
            pair = h[key]
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"Rprop: {key} must be a pair of numbers, got {pair!r}{where}")
            for i, value in enumerate(pair):
                check_number("Rprop", f"{key}[{i}]", value, where)
        eta_minus, eta_plus = h["etas"]
        if not 0.0 < eta_minus < 1.0 < eta_plus:
            raise ValueError(f"Rprop: etas must satisfy 0 < eta_minus < 1 < eta_plus, got "
                             f"{tuple(h['etas'])!r}{where}")
        if h["step_sizes"][0] > h["step_sizes"][1]:
            raise ValueError(f"Rprop: step_sizes must be (step_min, step_max) with step_min <= "
                             f"step_max, got {tuple(h['step_sizes'])!r}{where}")
        check_bool("Rprop", "maximize", h["maximize"], where)

    def _update(self, param, grad, group, state):
        """The rule of the class docstring on one parameter (``param`` changes in place)."""
        eta_minus, eta_plus = (float(e) for e in group["etas"])
        step_min, step_max = (float(s) for s in group["step_sizes"])
        xp = get_array_module(param)
        if not state:
            state["step"] = scalar(0.0)
            state["prev"] = zeros(param)
            state["step_size"] = Tensor(xp.full_like(param, float(group["lr"])))
        advance(state)
        g_prev, d = state["prev"]._data, state["step_size"]._data

        g = -grad if group["maximize"] else grad
        s = _sign(xp, g * g_prev)
        factor = xp.where(s > 0, eta_plus, xp.where(s < 0, eta_minus, 1.0)).astype(d.dtype)
        d[...] = xp.clip(d * factor, step_min, step_max)
        g = xp.where(s < 0, 0, g).astype(param.dtype)
        param -= _sign(xp, g) * d
        g_prev[...] = g


def _sign(xp, x):
    """PyTorch's sign: 1, -1 or 0, and 0 for nan (NumPy's sign gives nan, which made a weight
    with a nan gradient nan where PyTorch's Rprop leaves it as it is)."""
    return xp.where(x > 0, 1, xp.where(x < 0, -1, 0)).astype(x.dtype)
