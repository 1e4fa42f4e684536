"""Stochastic gradient descent with optional (Nesterov) momentum, as in PyTorch."""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import ensure_array
from ..backend.settings import config
from . import fused
from .optimizer import Optimizer, check_bool, check_implementation_flags, check_number
from .sparse_steps import SPARSE_DENSE, restore_sparse, sgd_sparse

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum and L2 weight decay.

    One step, as PyTorch's documentation writes it (lr multiplies the buffer, not the gradient)::

        g = grad                                  (g = -grad with maximize)
        g = g + weight_decay * p                  (if weight_decay != 0)
        b = momentum * b + (1 - dampening) * g    (b = g on the first step; if momentum != 0)
        d = g + momentum * b  if nesterov else b  (d = g without momentum)
        p = p - lr * d

    ``_update`` is this rule, line for line; ``fused.sgd`` does it in one compiled sweep when it
    can (see ``_update_group``).

    Args:
        params: Tensors or parameter groups (see ``Optimizer``).
        lr: learning rate (PyTorch's default, 1e-3).
        momentum: momentum factor (0 turns momentum off).
        dampening: how much less each new gradient counts in the momentum buffer.
        weight_decay: L2 penalty coefficient, added to the gradient.
        nesterov: use Nesterov's look-ahead momentum (needs momentum > 0 and dampening = 0).
        maximize: ascend the objective instead of descending it.

    >>> import chainrule as cr
    >>> p = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> p.grad = cr.tensor([0.5, -1.0])
    >>> SGD([p], lr=0.1).step()
    >>> p.tolist()
    [0.949999988079071, 2.0999999046325684]
    """

    _sparse_update = sgd_sparse  # a sparse gradient (sparse_steps.py)

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach=None, differentiable: bool = False, fused=None):
        check_implementation_flags("SGD", foreach, False, differentiable, fused)
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        check_number("SGD", "lr", h["lr"], where)
        check_number("SGD", "momentum", h["momentum"], where)
        check_number("SGD", "dampening", h["dampening"], where, low=-float("inf"))
        check_number("SGD", "weight_decay", h["weight_decay"], where)
        check_bool("SGD", "nesterov", h["nesterov"], where)
        check_bool("SGD", "maximize", h["maximize"], where)
        if h["nesterov"] and (h["momentum"] <= 0 or h["dampening"] != 0):
            raise ValueError(
                "SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                f"momentum={h['momentum']!r}, dampening={h['dampening']!r}{where}"
            )

    def _update_complex(self, group, p):
        fused.refuse_complex(group, p)  # a complex (or float16) parameter's step
        super()._update_complex(group, p)

    def _restore_entry(self, name, key, value, p):
        """A saved sparse momentum buffer (of sparse steps) stays sparse, as PyTorch's."""
        if key == "momentum_buffer" and getattr(value, "is_sparse", False):
            return restore_sparse(name, key, value, p)
        return super()._restore_entry(name, key, value, p)

    def _update(self, param, grad, group, state):
        """The rule of the class docstring on one parameter (``param`` changes in place)."""
        lr, momentum = float(group["lr"]), float(group["momentum"])
        dampening, weight_decay = float(group["dampening"]), float(group["weight_decay"])
        nesterov, maximize = bool(group["nesterov"]), bool(group["maximize"])
        g = -grad if maximize else grad
        if weight_decay != 0:
            g = g + weight_decay * param
        d = g
        if momentum != 0:
            b = state.get("momentum_buffer")
            if b is None:  # b = g, a copy (an array also when g is a 0-d NumPy scalar)
                b = ensure_array(g).copy(order="K")
                state["momentum_buffer"] = Tensor(b)
            else:
                b = b._data  # the Tensor's array, written in place: the Tensor stays the state
                b[...] = momentum * b + (1 - dampening) * g
            d = g + momentum * b if nesterov else b
        param -= lr * d

    def _update_group(self, group, params):
        """Each parameter's step: the fused kernel when it takes the arrays, else the rule."""
        state, cache = self.state, {}
        # A subclass runs its own rule; reference mode runs the rule (kernels.fast).
        rule = type(self)._update is SGD._update
        kernel = fused.sgd if rule and not config.reference_mode else None
        h = _hyper(group) if kernel is not None else None  # the kernel's arguments, once a group
        momentum = float(group["momentum"]) != 0
        for p in params:
            param, grad = p._writable(), p.grad._data
            st = _momentum_state(state, p) if momentum else {}  # none without, as PyTorch's
            if kernel is None or not kernel(param, grad, st, h, cache, self._work):
                self._update(param, grad, group, st)


def _momentum_state(state, p) -> dict:
    """``state[p]``, whose momentum buffer a dense gradient can update: a sparse one (kept by
    sparse steps) is refused as PyTorch's ``b.add_(grad)`` refuses it."""
    st = state[p]
    if not isinstance(st.get("momentum_buffer", p), Tensor):
        raise RuntimeError(f"SGD.step: the momentum buffer is sparse (a sparse gradient made it) "
                           f"and the gradient dense: {SPARSE_DENSE}")
    return st


def _hyper(group: dict) -> tuple:
    """The group's hyperparameters as the fused kernel takes them, read once per step: lr,
    momentum, dampening, weight_decay, nesterov, maximize."""
    return (float(group["lr"]), float(group["momentum"]), float(group["dampening"]),
            float(group["weight_decay"]), bool(group["nesterov"]), bool(group["maximize"]))
