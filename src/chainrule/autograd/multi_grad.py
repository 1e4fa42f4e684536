"""PyTorch's ``torch.autograd.graph.register_multi_grad_hook`` and ``torch.autograd.graph.Node``.

``register_multi_grad_hook(tensors, fn)`` calls ``fn(grads)`` once a backward has computed the
gradients of all of ``tensors`` that it reaches (mode ``"all"``; None for the others), or
``fn(grad)`` with the first of them (mode ``"any"``), once per backward. It is made of gradient
hooks on the tensors (``Tensor.register_hook``), as PyTorch's is; which tensors a backward
reaches is read from the walk that runs the hooks (``post_accumulate.current_walk``).
"""

from __future__ import annotations

import abc

from .function import AccumulateGrad, Function
from .post_accumulate import current_walk
from .tensor import Tensor

__all__ = ["MultiHandle", "Node", "register_multi_grad_hook"]


class Node(abc.ABC):
    """What ``grad_fn`` and ``next_functions`` give: a node of the backward graph (a chainrule
    ``Function``, or a leaf's ``AccumulateGrad``), for ``isinstance`` checks, as PyTorch's."""

    @abc.abstractmethod
    def name(self) -> str:
        """The node's name."""

    @property
    @abc.abstractmethod
    def next_functions(self) -> tuple:
        """One ``(node, output index)`` pair per input."""

    @abc.abstractmethod
    def register_hook(self, fn):
        """Call ``fn(grad_inputs, grad_outputs)`` after the node ran."""

    @abc.abstractmethod
    def register_prehook(self, fn):
        """Call ``fn(grad_outputs)`` before the node runs."""


Node.register(Function)
Node.register(AccumulateGrad)


class MultiHandle:
    """Removes the hooks ``register_multi_grad_hook`` made, all at once."""

    def __init__(self, handles):
        self.handles = tuple(handles)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def __enter__(self) -> MultiHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _will_run(t: Tensor, walk) -> bool:
    """Whether the walk passes ``t``'s gradient through its hooks (PyTorch's "the engine will
    execute its node")."""
    _, order, needed, targets, waiting = walk
    if targets is not None and id(t) in targets:
        return True
    node = t._ctx
    if node is not None:
        return any(fn is node for fn in order) and (needed is None or id(node) in needed)
    if targets is not None:
        return False
    if id(t) in waiting:  # a leaf that has received its gradient, or the nodes that feed it:
        return True
    return any(i is t and need for fn in order if fn.inputs is not None
               for i, need in zip(fn.inputs, fn.needs_input_grad))


class _All:
    """The ``"all"`` mode's record: the gradients a walk gave so far."""

    def __init__(self, tensors, fn):
        self.tensors, self.fn = tensors, fn
        self.walk_key = self.grads = self.expected = None
        self.count = 0

    def hook(self, idx):
        def inner(grad):
            walk = current_walk()
            if walk is None:
                raise RuntimeError("register_multi_grad_hook: expected this hook to be called "
                                   "inside a backward call")
            if self.walk_key is not walk[0]:  # the first gradient of this walk
                self.walk_key, self.count = walk[0], 0
                self.grads = [None] * len(self.tensors)
                self.expected = sum(_will_run(t, walk) or i == idx
                                    for i, t in enumerate(self.tensors))
            self.grads[idx] = grad
            self.count += 1
            if self.count == self.expected:
                grads, self.walk_key, self.grads = self.grads, None, None
                self.fn(grads)
        return inner


def register_multi_grad_hook(tensors, fn, *, mode: str = "all") -> MultiHandle:
    """Call ``fn`` once a backward has computed the gradients of ``tensors`` (PyTorch's
    ``torch.autograd.graph.register_multi_grad_hook``).

    Args:
        tensors: the tensors to watch (a sequence).
        fn: mode ``"all"``: ``fn(grads)``, a list with one entry per tensor, None for a tensor
            the backward does not reach (nor, for ``grad()``/``inputs=``, need); called once all
            the reached ones have their gradients. Mode ``"any"``: ``fn(grad)`` with the first
            gradient computed among them. Called once per backward; it should not change its
            arguments, and its result is ignored.
        mode: ``"all"`` or ``"any"``.

    Returns:
        A handle whose ``remove()`` unregisters the hook.
    """
    if mode not in ("all", "any"):
        raise ValueError(f"register_multi_grad_hook: expects mode to be one of ('all', 'any') but "
                         f"got {mode!r}")
    if not callable(fn):
        raise TypeError(f"register_multi_grad_hook: fn must be callable, got {type(fn).__name__}")
    tensors = tuple(tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"register_multi_grad_hook: tensors must be Tensors, got "
                            f"{type(t).__name__}")
    if mode == "all":
        record = _All(tensors, fn)
        return MultiHandle([t.register_hook(record.hook(i)) for i, t in enumerate(tensors)])
    seen = []  # the walk that called fn last

    def first(grad):
        walk = current_walk()
        if walk is None:
            raise RuntimeError("register_multi_grad_hook: expected this hook to be called inside "
                               "a backward call")
        if seen and seen[0] is walk[0]:
            return
        seen[:] = [walk[0]]
        fn(grad)

    return MultiHandle([t.register_hook(first) for t in tensors if t.requires_grad])
