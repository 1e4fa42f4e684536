"""Dual tensors, PyTorch's ``torch.autograd.forward_ad``: ``dual_level``, ``make_dual``,
``unpack_dual``, ``enter_dual_level``/``exit_dual_level`` and ``UnpackedDualTensor``.

PyTorch carries a tangent beside each value through every op (true forward mode). chainrule
has one way to differentiate, reverse mode, so a dual tensor is the primal's values as a tensor
that is recorded, and ``unpack_dual(y)`` computes ``y``'s tangent when asked, by the
double-backward trick of ``autograd.functional.jvp``: ``u -> J^T u`` (the gradient with respect
to the dual inputs, for a dummy cotangent ``u``) is linear in ``u``, and its vector-Jacobian
product with the tangents is ``J t``. The values are forward mode's; each ``unpack_dual`` of a
computed tensor costs two backward passes.

>>> import chainrule as cr
>>> import chainrule.autograd.forward_ad as fwAD
>>> with fwAD.dual_level():
...     x = fwAD.make_dual(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 0.0]))
...     y = (x ** 3).sum()
...     float(fwAD.unpack_dual(y).tangent)
3.0

Differences from PyTorch's: the graph is recorded inside the level even under ``no_grad`` (a
``dual_level`` turns grad mode on; a ``no_grad`` block inside it cuts the tangents, where
PyTorch's still flow); a dual tensor reads ``requires_grad=True``; complex dual tensors are not
supported; the tangent of a dual input is the tensor given to ``make_dual``. As in PyTorch,
``repr`` of a dual tensor shows its ``tangent=`` (computing it), one level may be entered at a
time, the tangents are gone once it exits, the tangent of a tensor
that does not depend on a dual input is None, and the primal and tangent of a computed tensor
are in the (reverse-mode) graph of the tensors that require grad, so ``tangent.backward()``
reaches them.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import NamedTuple

from ..backend import get_array_module
from .grad import grad
from .mode import _grad_enabled, enable_grad, is_grad_enabled
from .tensor import Tensor

__all__ = ["UnpackedDualTensor", "dual_level", "enter_dual_level", "exit_dual_level",
           "make_dual", "unpack_dual"]


class UnpackedDualTensor(NamedTuple):
    """What ``unpack_dual`` returns: the ``primal`` and its ``tangent`` (None: none)."""

    primal: object
    tangent: object


class _Level:
    def __init__(self, index: int, outer_grad: bool):
        self.index = index
        self.outer_grad = outer_grad  # grad mode outside the level: does reverse mode record?
        self.duals: dict[int, tuple[Tensor, Tensor, Tensor]] = {}  # id(dual): dual, primal, t
        self.token = None


_level: ContextVar[_Level | None] = ContextVar("chainrule_forward_ad_level", default=None)


def enter_dual_level() -> int:
    """Enter a new forward-AD level and return its index (0). Only one may be active."""
    if _level.get() is not None:
        raise RuntimeError("enter_dual_level: nested forward mode AD is not supported (as in "
                           "PyTorch); exit the active dual_level first")
    level = _Level(0, is_grad_enabled())
    level.token = _grad_enabled.set(True)  # the tangents are read off the recorded graph
    _level.set(level)
    return level.index


def exit_dual_level(*, level=None) -> None:
    """Exit the active forward-AD level; its tangents are dropped."""
    active = _level.get()
    if active is None or (level is not None and level != active.index):
        raise RuntimeError(f"exit_dual_level: level {level!r} is not the active dual level "
                           f"({None if active is None else active.index})")
    active.duals.clear()
    _grad_enabled.reset(active.token)
    _level.set(None)


class dual_level:  # noqa: N801 - named like torch.autograd.forward_ad.dual_level
    """Context manager for a forward-AD level: ``with dual_level(): ...``."""

    def __enter__(self) -> int:
        self.level = enter_dual_level()
        return self.level

    def __exit__(self, *exc) -> bool:
        exit_dual_level(level=self.level)
        return False


def _active(who: str, level) -> _Level:
    active = _level.get()
    if active is None:
        raise RuntimeError(f"{who}: trying to create a dual Tensor for forward AD but no level "
                           "exists; enter a dual_level() (or enter_dual_level()) first")
    if level is not None and level != active.index:
        raise RuntimeError(f"{who}: level {level!r} is not the active dual level "
                           f"({active.index})")
    return active


def make_dual(tensor, tangent, *, level=None) -> Tensor:
    """A dual tensor: ``tensor``'s values, carrying ``tangent`` (same shape, floating point)
    through the ops computed from it inside the active ``dual_level``."""
    active = _active("make_dual", level)
    for name, t in (("primal", tensor), ("tangent", tangent)):
        if not isinstance(t, Tensor):
            raise TypeError(f"make_dual: expected the {name} to be a Tensor, got "
                            f"{type(t).__name__}")
        if t._data.dtype.kind != "f":
            kind = "complex dual tensors are not supported by chainrule" \
                if t._data.dtype.kind == "c" else "expected floating point"
            raise ValueError(f"make_dual: {kind}; the {name} has dtype {t.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(f"make_dual: the tangent must have the primal's size "
                           f"{tuple(tensor.shape)}, got {tuple(tangent.shape)}")
    if id(tensor) in active.duals and active.duals[id(tensor)][0] is tensor:
        raise RuntimeError("make_dual: the tensor is already a dual tensor of this level")
    if tangent.dtype != tensor.dtype:
        tangent = tangent.to(tensor.dtype)
    dual = (tensor.view_as(tensor) if tensor.requires_grad and active.outer_grad
            else tensor.detach().requires_grad_(True))
    active.duals[id(dual)] = (dual, tensor, tangent)
    return dual


def _reaches_reverse_leaf(t: Tensor, duals) -> bool:
    """Whether ``t``'s graph reaches a tensor that requires grad other than the dual inputs'
    fresh leaves (a parameter, or a primal that requires grad)."""
    if t._ctx is None:
        return t.requires_grad and id(t) not in duals
    stack, seen = [t._ctx], set()
    while stack:
        fn = stack.pop()
        if id(fn) in seen or fn.inputs is None:
            continue
        seen.add(id(fn))
        for x in fn.inputs:
            if x is None or not x.requires_grad:
                continue
            if x._ctx is None:
                if id(x) not in duals or duals[id(x)][1].requires_grad:
                    return True
            else:
                stack.append(x._ctx)
    return False


def unpack_dual(tensor, *, level=None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor``: its values, and their derivative along the tangents
    of the dual inputs it was computed from (None where it depends on none, or outside the
    level)."""
    active = _level.get()
    if active is None or (level is not None and level != active.index):
        return UnpackedDualTensor(tensor, None)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"unpack_dual: expected a Tensor, got {type(tensor).__name__}")
    entry = active.duals.get(id(tensor))
    if entry is not None and entry[0] is tensor:
        return UnpackedDualTensor(entry[1], entry[2])
    duals = [d for d, _, _ in active.duals.values()]
    plain = UnpackedDualTensor(tensor if active.outer_grad else tensor.detach(), None)
    if not tensor.requires_grad or not duals or tensor._data.dtype.kind != "f":
        return plain
    with enable_grad():  # J^T u is recorded, to be differentiated in u (also under no_grad)
        return _unpack(active, tensor, duals, plain)


def _unpack(active, tensor, duals, plain):
    xp = get_array_module(tensor._data)
    dummy = Tensor(xp.zeros_like(tensor._data)).requires_grad_(True)
    found = grad([tensor], duals, [dummy], retain_graph=True, create_graph=True,
                 allow_unused=True)
    pairs = [(g, active.duals[id(d)][2]) for g, d in zip(found, duals) if g is not None]
    if not pairs:
        return plain
    primal = active.outer_grad and _reaches_reverse_leaf(tensor, active.duals)
    live = [(g, t) for g, t in pairs if g.requires_grad]
    # the tangent is in the graph of what requires grad: the primal's, and the given tangents'
    keep = primal or (active.outer_grad and any(t.requires_grad for _, t in live))
    jv = None
    if live:
        jv = grad([g for g, _ in live], [dummy], [t for _, t in live], retain_graph=True,
                  create_graph=keep, allow_unused=True)[0]
    if jv is None:
        jv = Tensor(xp.zeros_like(tensor._data))
    return UnpackedDualTensor(tensor if primal else tensor.detach(), jv if keep else jv.detach())
