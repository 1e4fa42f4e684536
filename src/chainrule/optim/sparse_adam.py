"""SparseAdam: Adam for sparse gradients, updating only the rows a gradient names (PyTorch's)."""

from __future__ import annotations

import math

from ..backend import get_array_module
from ._state import zeros
from .optimizer import Optimizer, check_bool, check_number
from .sparse_steps import coalesced_rows

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    r"""Adam's rule on the rows present in a sparse gradient only (``Embedding(sparse=True)``).

    Step t, for the rows r of the (coalesced) gradient g; the other rows of the weight and of both
    moments stay as they are (a *lazy* Adam: their moments do not decay, unlike ``Adam`` given the
    same gradient densely)::

        m[r] = m[r] + (1 - beta1) * (g - m[r])
        v[r] = v[r] + (1 - beta2) * (g**2 - v[r])
        p[r] = p[r] - lr * sqrt(1 - beta2**t) / (1 - beta1**t) * m[r] / (sqrt(v[r]) + eps)

    ``t`` counts the steps this parameter had a gradient. A dense gradient is refused, as by
    PyTorch's (use ``Adam``).

    Args:
        params: Tensors or parameter groups (see ``Optimizer``).
        lr: learning rate.
        betas: decay rates of the first and second moments.
        eps: added to the denominator for numerical stability.
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False):
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        for key in ("lr", "eps"):  # PyTorch's SparseAdam refuses 0 for both (others take it)
            check_number("SparseAdam", key, h[key], where)
            if not float(h[key]) > 0:
                raise ValueError(f"SparseAdam: {key} must be a number > 0, got {h[key]!r}{where}")
        betas = h["betas"]
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"SparseAdam: betas must be two numbers in [0, 1), got {betas!r}"
                             f"{where}")
        check_bool("SparseAdam", "maximize", h["maximize"], where)

    def _update_group(self, group, params):
        """Dense gradients reach here: SparseAdam takes only sparse ones."""
        if params:
            raise RuntimeError("SparseAdam does not support dense gradients, please consider "
                               "Adam instead")

    def _sparse_update(self, group, p, state):
        """The rule of the class docstring on one parameter (``p`` changes in place)."""
        param = p._writable()
        if not state:  # the step is a Python int, as in PyTorch's SparseAdam
            state["step"] = 0
            state["exp_avg"], state["exp_avg_sq"] = zeros(param), zeros(param)
        state["step"] = t = int(state["step"]) + 1
        rows, g = coalesced_rows(p.grad)
        if not g.size:
            return
        if group["maximize"]:
            g = -g
        beta1, beta2 = (float(b) for b in group["betas"])
        m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
        m_old, v_old = m[rows], v[rows]
        m_new = m_old + (g - m_old) * (1 - beta1)
        v_new = v_old + (g * g - v_old) * (1 - beta2)
        m[rows], v[rows] = m_new, v_new
        step_size = float(group["lr"]) * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        denom = get_array_module(v_new).sqrt(v_new) + float(group["eps"])
        param[rows] += -step_size * (m_new / denom)

