"""Adam (Kingma & Ba) and AdamW (decoupled weight decay, Loshchilov & Hutter), as in PyTorch."""

from __future__ import annotations

import math

from ..backend import GPU_POSSIBLE, get_array_module, gpu, jit
from .optimizer import Optimizer, check_bool, check_number, effective_grad, scratch_like

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam: steps scaled by running estimates of the gradient's first and second moments.

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``, and
    ``p <- p - lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)``, with
    ``g = grad + weight_decay p`` (L2 regularization folded into the gradient; see ``AdamW`` for
    decoupled decay). With amsgrad the running maximum of ``v`` replaces ``v`` in the denominator.

    Args:
        params: Tensors or parameter groups (see ``Optimizer``).
        lr: learning rate.
        betas: decay rates (b1, b2) of the first and second moment estimates, each in [0, 1).
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty coefficient.
        amsgrad: use the AMSGrad variant (non-increasing second moment).
        maximize: ascend the objective instead of descending it.
    """

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False):
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        name = type(self).__name__
        check_number(name, "lr", h["lr"], where)
        check_number(name, "eps", h["eps"], where)
        betas = h["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}{where}")
        for i, beta in enumerate(betas):
            check_number(name, f"betas[{i}]", beta, where, high=1.0, high_open=True)
        check_number(name, "weight_decay", h["weight_decay"], where)
        check_bool(name, "amsgrad", h["amsgrad"], where)
        check_bool(name, "maximize", h["maximize"], where)

    def _update_group(self, group, params):
        if type(self)._update is not Adam._update:  # a subclass with its own rule
            return super()._update_group(group, params)
        h, state, scalars = _hyper(group), self.state, {}
        for p in params:
            self._step(p._writable(), p.grad._data, h, state[p], scalars)

    def _update(self, param, grad, group, state):
        self._step(param, grad, _hyper(group), state, {})

    def _step(self, param, grad, h, state, scalars):
        """One parameter's update; ``scalars`` caches the step's constants by (step, dtype)."""
        lr, beta1, beta2, eps, wd, amsgrad, maximize = h
        xp = get_array_module(param)
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
            if amsgrad:
                state["max_exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        t = state["step"]
        if self._decoupled:
            if wd != 0:
                param *= 1 - lr * wd
            g = -grad if maximize else grad
        else:
            g, _ = effective_grad(param, grad, wd, maximize)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        vmax = None
        if amsgrad:
            vmax = state.get("max_exp_avg_sq")
            if vmax is None:
                vmax = state["max_exp_avg_sq"] = xp.zeros_like(param)
        key = (t, param.dtype)
        typed = scalars.get(key)
        if typed is None:
            py = (1 - beta1, beta2, 1 - beta2, math.sqrt(1 - beta2**t), eps, lr / (1 - beta1**t))
            typed = scalars[key] = (py, tuple(param.dtype.type(s) for s in py))
        if jit.adam is not None:
            arrays = jit.flat(param, g, m, v, param if vmax is None else vmax)
            if arrays is not None:  # one compiled sweep, the same float operations as below
                if vmax is None:
                    arrays[4] = arrays[4][:0]
                jit.adam(*arrays, *typed[1])
                return
        if GPU_POSSIBLE and gpu.adam(param, g, m, v, vmax, *typed[0]):  # one launch on a GPU
            return
        # One scratch array serves every intermediate below (out= keeps the rest in place).
        tmp = xp.subtract(g, m, out=scratch_like(param))
        tmp *= 1 - beta1
        m += tmp
        xp.multiply(g, g, out=tmp)
        tmp *= 1 - beta2
        v *= beta2
        v += tmp
        if vmax is not None:
            xp.maximum(vmax, v, out=vmax)
            v = vmax
        xp.sqrt(v, out=tmp)
        tmp /= math.sqrt(1 - beta2**t)
        tmp += eps
        xp.divide(m, tmp, out=tmp)
        tmp *= lr / (1 - beta1**t)
        param -= tmp


def _hyper(group: dict) -> tuple:
    """The group's hyperparameters, read once per step."""
    beta1, beta2 = (float(b) for b in group["betas"])
    return (float(group["lr"]), beta1, beta2, float(group["eps"]), float(group["weight_decay"]),
            bool(group["amsgrad"]), bool(group["maximize"]))


class AdamW(Adam):
    r"""Adam with decoupled weight decay: parameters shrink directly, not through the gradient.

    ``p <- p (1 - lr weight_decay)``, then the Adam step with ``g = grad`` (the decay never enters
    the moment estimates, so it acts the same on every parameter whatever its gradient scale).

    Args:
        params: Tensors or parameter groups (see ``Optimizer``).
        lr: learning rate.
        betas: decay rates (b1, b2) of the moment estimates, each in [0, 1).
        eps: added to the denominator for numerical stability.
        weight_decay: decoupled decay coefficient.
        amsgrad: use the AMSGrad variant.
        maximize: ascend the objective instead of descending it.
    """

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
