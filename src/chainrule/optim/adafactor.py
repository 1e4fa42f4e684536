"""Adafactor (Shazeer & Stern, 2018): factored second moments, relative steps, as in PyTorch."""

from __future__ import annotations

import math

from ..autograd import Tensor
from ..backend import device_of, get_array_module, to_device
from ._state import advance, as_array, lerp, scalar, zeros
from .optimizer import Optimizer, check_bool, check_number

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    r"""Adafactor: second moments kept as row and column averages for matrices, relative steps.

    Step t (from 1), as PyTorch's documentation writes it (its deviations from the paper: ``lr``
    caps the relative step and scales the weight decay, and ``eps1`` clamps the denominator)::

        g = grad                                   (g = -grad with maximize)
        beta2_t = 1 - t**beta2_decay
        rho = min(lr, 1 / sqrt(t))
        alpha = max(eps2, RMS(p)) * rho            (RMS(x) = sqrt(mean(x**2)), p before decay)
        p = p - lr * weight_decay * p
        if p has 2 or more dimensions (factored over its last two, n x m):
            R = beta2_t * R + (1 - beta2_t) * mean(g**2, over the last axis)     (n x 1)
            C = beta2_t * C + (1 - beta2_t) * mean(g**2, over the axis before)   (1 x m)
            V = R @ C / max(mean(R), eps1)         (R, C, V start at 0)
        else:
            V = beta2_t * V + (1 - beta2_t) * g**2
        U = g / sqrt(max(V, eps1**2))
        U = U / max(1, RMS(U) / d)
        p = p - alpha * U

    With averages in place of the paper's row and column sums ``V`` is the same (the ratio
    ``R C / sum(R)``); only where ``eps1`` clamps does it matter, and PyTorch clamps the average.
    ``_update`` is this rule, line for line. The state is ``step`` and ``row_var``/``col_var``
    (the gradient's shape with a 1 in the last, or the second-to-last, axis) for a parameter of
    two or more dimensions, ``variance`` (the parameter's shape) otherwise, as PyTorch names them.

    Args:
        params: Tensors or parameter groups (see ``Optimizer``).
        lr: the largest relative step size, and the weight decay's scale.
        beta2_decay: the exponent of ``t`` in ``1 - beta2_t``, <= 0.
        eps: ``(eps1, eps2)``: eps1 (None: the machine epsilon of the parameter's dtype) bounds
            the denominator, eps2 the parameter scale ``RMS(p)`` from below.
        d: the clipping threshold of the update's RMS, >= 1.
        weight_decay: decoupled decay coefficient (scaled by lr).
        foreach: accepted for PyTorch's signature (one implementation here).
        maximize: ascend the objective instead of descending it.

    A 4 x 6 matrix keeps 4 + 6 second-moment numbers, not 24:

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.zeros(4, 6, requires_grad=True)
    >>> opt = optim.Adafactor([w])
    >>> w.grad = cr.ones(4, 6)
    >>> opt.step()
    >>> opt.state[w]["row_var"].shape, opt.state[w]["col_var"].shape
    ((4, 1), (1, 6))
    """

    _complex_ok = False  # PyTorch's refuses complex parameters too

    def __init__(self, params, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False):
        if foreach is not None:
            check_bool("Adafactor", "foreach", foreach)
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        name = "Adafactor"
        check_number(name, "lr", h["lr"], where)
        check_number(name, "beta2_decay", h["beta2_decay"], where, low=-math.inf, high=0.0)
        eps = h["eps"]
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise ValueError(f"{name}: eps must be a pair (eps1, eps2), got {eps!r}{where}")
        if eps[0] is not None:
            check_number(name, "eps[0]", eps[0], where)
        check_number(name, "eps[1]", eps[1], where)
        check_number(name, "d", h["d"], where, low=1.0)
        check_number(name, "weight_decay", h["weight_decay"], where)
        check_bool(name, "maximize", h["maximize"], where)

    def _update(self, param, grad, group, state):
        """The rule of the class docstring on one parameter (``param`` changes in place)."""
        lr, beta2_decay, d = float(group["lr"]), float(group["beta2_decay"]), float(group["d"])
        weight_decay = float(group["weight_decay"])
        eps1, eps2 = group["eps"]
        xp = get_array_module(param)
        eps1 = float(xp.finfo(param.dtype).eps) if eps1 is None else float(eps1)
        factored = param.ndim > 1
        if not state:
            state["step"] = scalar(0.0)
            if factored:
                state["row_var"] = Tensor(xp.zeros(param.shape[:-1] + (1,), param.dtype))
                state["col_var"] = Tensor(xp.zeros(param.shape[:-2] + (1, param.shape[-1]),
                                                   param.dtype))
            else:
                state["variance"] = zeros(param)
        t = advance(state)

        g = -grad if group["maximize"] else grad
        one_minus_beta2 = t**beta2_decay
        rho = min(lr, 1 / math.sqrt(t))
        alpha = max(eps2, _rms(xp, param)) * rho
        if weight_decay != 0:
            param *= 1 - lr * weight_decay
        if factored:
            # lerp: PyTorch's (an inf g*g gives a nan variance, whose step skips the rms clip)
            r, c = state["row_var"]._data, state["col_var"]._data  # written in place
            r[...] = lerp(r, xp.mean(g * g, axis=-1, keepdims=True), one_minus_beta2)
            c[...] = lerp(c, xp.mean(g * g, axis=-2, keepdims=True), one_minus_beta2)
            v = r @ c / xp.maximum(xp.mean(r, axis=-2, keepdims=True), eps1)
        else:
            v = state["variance"]._data
            v[...] = lerp(v, g * g, one_minus_beta2)
        u = g / xp.sqrt(xp.maximum(v, eps1 * eps1))
        u = u / max(1.0, _rms(xp, u) / d)
        param -= alpha * u

    def _expected_state_shape(self, key: str, shape: tuple):
        """``row_var`` and ``col_var``: the parameter's shape with a 1 in the last, or the
        second-to-last, axis."""
        if key == "row_var" and len(shape) >= 2:
            return shape[:-1] + (1,)
        if key == "col_var" and len(shape) >= 2:
            return shape[:-2] + (1, shape[-1])
        return super()._expected_state_shape(key, shape)

    def _restore_entry(self, name: str, key: str, value, p):
        """``row_var`` and ``col_var`` have their own shapes; the rest as the base class."""
        if key not in ("row_var", "col_var"):
            return super()._restore_entry(name, key, value, p)
        shape = p._data.shape
        want = (shape[:-1] + (1,)) if key == "row_var" else (shape[:-2] + (1, shape[-1]))
        if len(shape) < 2 or tuple(getattr(value, "shape", ())) != want:
            raise ValueError(
                f"{name}: state '{key}' has shape {tuple(value.shape)} but its parameter of shape "
                f"{shape} needs {want if len(shape) >= 2 else 'none (it is not factored)'}"
            )
        return Tensor(to_device(as_array(value), device_of(p._data)).astype(p._data.dtype,
                                                                           copy=True))


def _rms(xp, a) -> float:
    """sqrt(mean(a**2)) as a Python float (0 for an empty array)."""
    if a.size == 0:
        return 0.0
    return float(xp.linalg.norm(a.ravel())) / math.sqrt(a.size)
