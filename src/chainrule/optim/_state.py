"""The per-parameter state of the adaptive rules, created as their first step needs it.

One place for it, shared by each rule (adam.py, rmsprop.py) and its fused versions (fused.py), so
that a state dict saved after a fused step loads into a step of the rule and the other way round.
"""

from __future__ import annotations

from ..backend import get_array_module

__all__ = ["adam_state", "as_complex", "as_real", "rmsprop_state"]


def adam_state(state: dict, param, amsgrad: bool) -> tuple:
    """``(m, v, v_max)`` of Adam's state for ``param`` (zeros on the first step; ``v_max`` is None
    without AMSGrad, and is created when AMSGrad is switched on after the first step)."""
    xp = get_array_module(param)
    if not state:
        state["step"] = 0
        state["exp_avg"] = xp.zeros_like(param)
        state["exp_avg_sq"] = xp.zeros_like(param)
    if amsgrad and "max_exp_avg_sq" not in state:
        state["max_exp_avg_sq"] = xp.zeros_like(param)
    return state["exp_avg"], state["exp_avg_sq"], state["max_exp_avg_sq"] if amsgrad else None


def rmsprop_state(state: dict, param, centered: bool, momentum: float) -> None:
    """Create RMSprop's arrays for ``param``: the square average, and the gradient average and
    momentum buffer when ``centered`` and ``momentum`` ask for them (also if switched on later)."""
    xp = get_array_module(param)
    if not state:
        state["step"] = 0
        state["square_avg"] = xp.zeros_like(param)
    if centered and "grad_avg" not in state:
        state["grad_avg"] = xp.zeros_like(param)
    if momentum > 0 and "momentum_buffer" not in state:
        state["momentum_buffer"] = xp.zeros_like(param)


def as_real(a):
    """The real view of a complex array, as ``torch.view_as_real``: shape ``a.shape + (2,)``
    (real and imaginary parts), sharing ``a``'s memory, so that writes into it change ``a``."""
    return a[..., None].view(a.real.dtype)


def as_complex(r):
    """The complex array whose real view ``r`` is (shape ``r.shape[:-1]``), sharing its memory."""
    if r.strides[-1] != r.itemsize:
        r = get_array_module(r).ascontiguousarray(r)
    return r.view(get_array_module(r).result_type(r.dtype, 1j))[..., 0]
