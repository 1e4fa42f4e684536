"""Adam (Kingma & Ba) and AdamW (decoupled weight decay, Loshchilov & Hutter), as in PyTorch."""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import get_array_module
from ..backend.settings import config
from . import fused
from ._state import adam_state, advance
from .optimizer import Optimizer, check_bool, check_implementation_flags, check_number
from .sparse_steps import refuse_sparse_adam

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam: steps scaled by running estimates of the gradient's first and second moments.

    Step t (from 1), as the paper (Algorithm 1) and PyTorch's documentation write it::

        g = grad                                   (g = -grad with maximize)
        g = g + weight_decay * p                   (if weight_decay != 0: L2, see AdamW)
        m = beta1 * m + (1 - beta1) * g            (m, v start at 0)
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)                 (amsgrad: v_max = max(v_max, v) in place of v)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    ``_update`` is this rule, line for line; ``fused.adam`` does it in one compiled sweep when it
    can (see ``_update_group``), in PyTorch's implementation's order (the bias corrections folded
    into the step size): the same to float rounding.

    Args:
        params: Tensors or parameter groups (see ``Optimizer``).
        lr: learning rate.
        betas: decay rates (b1, b2) of the first and second moment estimates, each in [0, 1).
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty coefficient.
        amsgrad: use the AMSGrad variant (non-increasing second moment).
        maximize: ascend the objective instead of descending it.
        decoupled_weight_decay: decay the parameters directly, as ``AdamW`` does.
    """

    _decoupled = False

    _sparse_update = refuse_sparse_adam  # a sparse gradient (sparse_steps.py)

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach=None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused=None, decoupled_weight_decay: bool = False):
        check_implementation_flags(type(self).__name__, foreach, capturable, differentiable,
                                   fused)
        check_bool(type(self).__name__, "decoupled_weight_decay", decoupled_weight_decay)
        betas = _tensor_betas(type(self).__name__, betas, foreach, capturable)
        # a group's key, as PyTorch's: add_param_group and a loaded state dict may set it per group
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": bool(decoupled_weight_decay or self._decoupled)}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        name = type(self).__name__
        check_number(name, "lr", h["lr"], where)
        check_number(name, "eps", h["eps"], where)
        betas = h["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}{where}")
        if sum(isinstance(b, Tensor) for b in betas) == 1:  # PyTorch's step refuses a mix
            raise ValueError(f"{name}: betas must be either both floats or both Tensors, got "
                             f"{betas!r}{where}")
        for i, beta in enumerate(betas):
            beta = float(beta) if isinstance(beta, Tensor) and beta.numel() == 1 else beta
            check_number(name, f"betas[{i}]", beta, where, high=1.0, high_open=True)
        check_number(name, "weight_decay", h["weight_decay"], where)
        check_bool(name, "amsgrad", h["amsgrad"], where)
        check_bool(name, "maximize", h["maximize"], where)
        check_bool(name, "decoupled_weight_decay", h.get("decoupled_weight_decay", False), where)

    def _update_complex(self, group, p):
        fused.refuse_complex(group, p)  # a complex (or float16) parameter's step
        super()._update_complex(group, p)

    def _update(self, param, grad, group, state):
        """The rule of the class docstring on one parameter (``param`` changes in place)."""
        lr, eps = float(group["lr"]), float(group["eps"])
        weight_decay = float(group["weight_decay"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        amsgrad, maximize = bool(group["amsgrad"]), bool(group["maximize"])
        # AdamW's decay (a group of an older state dict lacks the key: the class's rule)
        decoupled = bool(group.get("decoupled_weight_decay", self._decoupled))
        xp = get_array_module(param)
        m, v, v_max = adam_state(state, param, amsgrad)  # the state Tensors' arrays
        t = advance(state)
        if decoupled and weight_decay != 0:  # AdamW
            param -= lr * weight_decay * param
        g = -grad if maximize else grad
        if not decoupled and weight_decay != 0:
            g = g + weight_decay * param
        m[...] = beta1 * m + (1 - beta1) * g  # [...] =: into the state's arrays
        v[...] = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        if amsgrad:
            v_max[...] = xp.maximum(v_max, v)
            v_hat = v_max / (1 - beta2**t)
        else:
            v_hat = v / (1 - beta2**t)
        param -= lr * m_hat / (xp.sqrt(v_hat) + eps)

    def _update_group(self, group, params):
        """Each parameter's step: the fused kernel when it takes the arrays, else the rule."""
        state, cache, work = self.state, {}, self._work
        # A subclass runs its own rule; reference mode runs the rule (kernels.fast).
        rule = type(self)._update is Adam._update
        kernel = fused.adam if rule and not config.reference_mode else None
        if kernel is not None:  # the kernel's arguments, read once per group
            h = _hyper(group)
            decoupled = bool(group.get("decoupled_weight_decay", self._decoupled))
        for p in params:
            param, grad = p._writable(), p.grad._data
            if kernel is None or not kernel(param, grad, state[p], h, cache, decoupled, work):
                self._update(param, grad, group, state[p])


def _tensor_betas(name: str, betas, foreach, capturable):
    """PyTorch's Tensor betas: each a one-element Tensor, kept 0-d (not with foreach=True and
    capturable=False, refused as PyTorch's); numbers as they are."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        return betas  # refused by _check_hyperparameters
    for i, beta in enumerate(betas):
        if isinstance(beta, Tensor):
            if foreach and not capturable:
                raise ValueError(f"{name}: betas[{i}] as a Tensor is not supported for "
                                 "capturable=False and foreach=True")
            if beta.numel() != 1:
                raise ValueError(f"{name}: Tensor betas[{i}] must be 1-element, got shape "
                                 f"{tuple(beta.shape)}")
    return tuple(b.reshape(()) if isinstance(b, Tensor) else b for b in betas)


def _hyper(group: dict) -> tuple:
    """The group's hyperparameters as the fused kernel takes them, read once per step."""
    beta1, beta2 = group["betas"]
    return (float(group["lr"]), float(beta1), float(beta2), float(group["eps"]),
            float(group["weight_decay"]),
            bool(group["amsgrad"]), bool(group["maximize"]))


class AdamW(Adam):
    r"""Adam with decoupled weight decay: parameters shrink directly, not through the gradient.

    As Loshchilov & Hutter and PyTorch's documentation write it: first ::

        p = p - lr * weight_decay * p

    then Adam's step (``Adam``'s docstring) with ``g = grad``: the decay never enters the moment
    estimates, so it acts the same on every parameter whatever its gradient scale.

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
                 maximize: bool = False, foreach=None, capturable: bool = False,
                 differentiable: bool = False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused)
