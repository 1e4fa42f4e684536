"""Stochastic gradient descent with optional (Nesterov) momentum, as in PyTorch."""

from __future__ import annotations

from ..backend import get_array_module, jit
from .optimizer import Optimizer, check_bool, check_number, effective_grad, scratch_like

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum and L2 weight decay.

    With ``g = grad + weight_decay * p``: ``b = momentum * b + (1 - dampening) * g`` (``b = g`` on
    the first step), ``d = g + momentum * b`` if nesterov else ``b`` (``d = g`` without momentum),
    and ``p <- p - lr * d``. This is PyTorch's rule (lr multiplies the buffer, not the gradient).

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

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False):
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
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

    def _update_group(self, group, params):
        if type(self)._update is not SGD._update:  # a subclass with its own rule
            return super()._update_group(group, params)
        h, state = _hyper(group), self.state
        for p in params:
            _step(p._writable(), p.grad._data, h, state[p])

    def _update(self, param, grad, group, state):
        _step(param, grad, _hyper(group), state)


def _hyper(group: dict) -> tuple:
    """The group's hyperparameters, read once per step: lr, momentum, dampening, weight_decay,
    nesterov, maximize."""
    return (float(group["lr"]), float(group["momentum"]), float(group["dampening"]),
            float(group["weight_decay"]), bool(group["nesterov"]), bool(group["maximize"]))


def _step(param, grad, h, state) -> None:
    lr, momentum, dampening, weight_decay, nesterov, maximize = h
    d, owned = effective_grad(param, grad, weight_decay, maximize)
    if jit.sgd is not None and _compiled(param, d, owned, h, state):
        return
    if momentum == 0:
        if not owned:
            d = get_array_module(d).multiply(d, lr, out=scratch_like(param))
        else:
            d *= lr
        param -= d
        return
    buf = state.get("momentum_buffer")
    if buf is None:
        # The buffer must own its memory: ``d`` may be the (shared) gradient array itself.
        buf = state["momentum_buffer"] = d if owned else d.copy(order="K")
    else:
        buf *= momentum
        if dampening == 0:
            buf += d
        else:
            buf += (1 - dampening) * d
    if nesterov:
        step = get_array_module(buf).multiply(buf, momentum)
        step += d
        step *= lr
        param -= step
    else:
        param -= get_array_module(buf).multiply(buf, lr, out=scratch_like(param))


def _compiled(param, d, owned, h, state) -> bool:
    """The update in one compiled sweep (backend.jit); False when the arrays do not allow it."""
    lr, momentum, dampening, _, nesterov, _ = h
    if momentum == 0:
        arrays = jit.flat(param, d)
        if arrays is None:
            return False
        p, d = arrays
        dt = param.dtype.type
        jit.sgd(p, d, p[:0], dt(lr), dt(0), False, dt(1), False, False)
        return True
    buf = state.get("momentum_buffer")
    first = buf is None
    if first:  # the buffer must own its memory: ``d`` may be the gradient array itself
        buf = d if owned else d.copy(order="K")
    arrays = jit.flat(param, d, buf)
    if arrays is None:
        return False
    if first:
        state["momentum_buffer"] = buf
    dt = param.dtype.type
    jit.sgd(*arrays, dt(lr), dt(momentum), dampening != 0, dt(1 - dampening), nesterov, first)
    return True
