"""PyTorch's control-flow operators ``cond`` and ``while_loop``, with eager semantics.

PyTorch captures both branches (and the loop body) in a graph for ``torch.compile`` and export;
chainrule is eager, so ``cond`` calls the branch that ``pred`` picks and ``while_loop`` runs the
body while ``cond_fn`` holds, each op recorded as usual: gradients flow through the branch taken
and through every iteration. The branch not taken never runs, so it is not checked to return
the same structure (PyTorch's tracing checks that); each iteration's carried values are checked
against the inputs' shapes and dtypes, as PyTorch requires.
"""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor

__all__ = ["cond", "while_loop"]


def _truth(who: str, value) -> bool:
    """A Python bool, or a one-element tensor's truth."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise RuntimeError(f"{who}: expected pred to be a bool or a one-element tensor, got "
                               f"a tensor of shape {tuple(value.shape)}")
        return bool(value._data.reshape(-1)[0])
    if isinstance(value, (bool, numbers.Real)):
        return bool(value)
    raise TypeError(f"{who}: expected pred to be a bool, a number or a one-element tensor, got "
                    f"{type(value).__name__}")


def _callable(who: str, name: str, fn) -> None:
    if not callable(fn):
        raise TypeError(f"{who}: {name} must be callable, got {type(fn).__name__}")


def _sequence(who: str, name: str, values) -> tuple:
    if not isinstance(values, (tuple, list)):
        raise TypeError(f"{who}: {name} must be a tuple or list, got {type(values).__name__}")
    return tuple(values)


def cond(pred, true_fn, false_fn, operands=()):
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``.

    Args:
        pred: a bool, a number or a one-element tensor.
        true_fn, false_fn: callables taking the operands (PyTorch requires them to return
            tensors of the same structure, shapes and dtypes; here only the taken one runs).
        operands: a tuple or list of the branches' inputs (PyTorch's tracing takes tensors
            only; any values pass here).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, -2.0])
    >>> cr.cond(x.sum() > 0, lambda a: a * 2, lambda a: -a, (x,)).tolist()
    [-1.0, 2.0]
    """
    _callable("cond", "true_fn", true_fn)
    _callable("cond", "false_fn", false_fn)
    operands = _sequence("cond", "operands", operands)
    return (true_fn if _truth("cond", pred) else false_fn)(*operands)


def _check_carried(carried, new) -> tuple:
    if isinstance(new, Tensor) and len(carried) == 1:
        new = (new,)
    if not isinstance(new, (tuple, list)) or len(new) != len(carried):
        got = f"{type(new).__name__} of length {len(new)}" if isinstance(
            new, (tuple, list)) else type(new).__name__
        raise RuntimeError(f"while_loop: body_fn must return as many values as carried_inputs "
                           f"({len(carried)}), got {got}")
    for i, (old, value) in enumerate(zip(carried, new)):
        if isinstance(old, Tensor):
            if not isinstance(value, Tensor) or value.shape != old.shape or (
                    value.dtype != old.dtype):
                meta = (f"a Tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
                        if isinstance(value, Tensor) else type(value).__name__)
                raise RuntimeError(f"while_loop: body_fn's output {i} must keep the carried "
                                   f"input's shape {tuple(old.shape)} and dtype {old.dtype}, got "
                                   f"{meta}")
    return tuple(new)


def while_loop(cond_fn, body_fn, carried_inputs):
    """Run ``carried = body_fn(*carried)`` while ``cond_fn(*carried)`` holds; the final carried
    values, as a tuple.

    Args:
        cond_fn: returns a bool or a one-element (boolean) tensor.
        body_fn: returns as many values as ``carried_inputs``, each tensor with the shape and
            dtype of its input.
        carried_inputs: a tuple or list of tensors (and numbers).

    >>> import chainrule as cr
    >>> i, x = cr.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * 2),
    ...                      (cr.tensor(0), cr.tensor([1.0])))
    >>> int(i), x.tolist()
    (3, [8.0])
    """
    _callable("while_loop", "cond_fn", cond_fn)
    _callable("while_loop", "body_fn", body_fn)
    carried = _sequence("while_loop", "carried_inputs", carried_inputs)
    while _truth("while_loop", cond_fn(*carried)):
        carried = _check_carried(carried, body_fn(*carried))
    return carried
