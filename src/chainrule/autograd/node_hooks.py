"""Hooks on the nodes of the graph (PyTorch's ``grad_fn.register_prehook`` and
``grad_fn.register_hook``), ``Node.metadata``, and the same on a leaf's ``AccumulateGrad``.

A node's pre-hook is called as ``hook(grad_outputs)`` just before the node's backward runs, after
the gradient hooks of its output tensors and ``retain_grad``, with one entry per output (None for
an output that received no gradient); a tuple it returns replaces the gradients. A node's hook is
called as ``hook(grad_inputs, grad_outputs)`` just after: one gradient per input of the node
(None for an input that needs none), and the gradients the node received; a tuple it returns
replaces the input gradients. Both run in registration order; ``handle.remove()`` unregisters.

A leaf's ``AccumulateGrad`` (``y.grad_fn.next_functions[0][0]``, the node DDP-style code hooks
to learn when a parameter's gradient is ready) keeps its hooks on the leaf, since chainrule
makes that node on each look-up: its pre-hooks run after the leaf's tensor hooks, its hooks
after the gradient has reached ``.grad`` (and after ``register_post_accumulate_grad_hook``'s),
called with ``((), (grad,))``. They run in ``backward()`` only, as PyTorch's (``grad()`` adds to
no ``.grad``).
"""

from __future__ import annotations

from .function import AccumulateGrad, Function
from .hooks import RemovableHandle
from .tensor import Tensor

__all__ = ["NodeHooks", "run_accumulate_post", "run_accumulate_pre"]


class NodeHooks:
    """The pre-hooks, hooks and metadata of one node (``Function._node_hooks``)."""

    def __init__(self):
        self.pre: dict = {}
        self.post: dict = {}
        self.metadata: dict = {}
        self.arrived = None  # an AccumulateGrad's: the gradient its hooks are called with

    def around(self, fn, received, fill, call):
        """``fn``'s input gradients: ``call(gradients)`` (its backward) between its hooks.
        ``received``: what its outputs received (None where nothing); ``fill`` gives the zeros
        a multi-output backward reads in place of None."""
        gouts = list(received)
        for hook in list(self.pre.values()):
            result = hook(tuple(gouts))
            if result is not None:
                gouts = _replaced(hook, result, gouts, gouts)
        if all(g is None for g in gouts):  # nothing to propagate, as PyTorch skips the node
            grads = (None,) * len(fn.inputs)
        else:
            grads = call(fill(fn, gouts))
            grads = grads if type(grads) is tuple else (grads,)
        if not self.post:
            return grads
        grads = tuple(None if not need or g is None else g.astype(t._data.dtype)
                      if isinstance(g, Tensor) and g._data.dtype != t._data.dtype else g
                      for t, need, g in zip(fn.inputs, fn.needs_input_grad, grads))
        for hook in list(self.post.values()):
            result = hook(grads, tuple(gouts))
            if result is not None:
                grads = tuple(_replaced(hook, result, grads, fn.inputs, post=True))
        return grads


def _replaced(hook, result, old, like, post=False):
    """The gradients a node hook returned in place of ``old`` (checked as PyTorch checks them:
    a tuple of as many entries, each of ``like``'s shape and dtype)."""
    name = getattr(hook, "__name__", hook)
    if type(result) is not tuple:
        raise TypeError(f"a node hook ({name!r}) returned a {type(result).__name__}; return a "
                        f"tuple of {len(old)} gradients (Tensors or None) or None")
    if len(result) != len(old):
        raise RuntimeError(f"hook {name!r} has returned an incorrect number of values (got "
                           f"{len(result)}, but expected {len(old)})")
    for g, was, ref in zip(result, old, like):
        if g is None:
            continue
        if not isinstance(g, Tensor):
            raise TypeError(f"a node hook ({name!r}) returned a {type(g).__name__} among its "
                            "gradients; return Tensors or None")
        if was is None and post:
            raise RuntimeError(f"hook {name!r}: can't replace a None gradient with a non-None "
                               "value")
        ref = was if ref is None else ref
        if ref is not None and (g._data.shape != ref._data.shape
                                or g._data.dtype != ref._data.dtype):
            raise RuntimeError(
                f"hook {name!r} has changed the gradient from shape {ref._data.shape}, "
                f"{ref._data.dtype} to shape {g._data.shape}, {g._data.dtype}; return gradients "
                "of the same shape and dtype")
    return list(result)


def _check(where, hook):
    if not callable(hook):
        raise TypeError(f"{where}: hook must be callable, got {type(hook).__name__}")


def _node_hooks(fn) -> NodeHooks:
    found = fn.__dict__.get("_node_hooks")
    if found is None:
        found = fn._node_hooks = NodeHooks()
    return found


def _register(hooks: dict, hook) -> RemovableHandle:
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def register_prehook(self, hook) -> RemovableHandle:
    """Call ``hook(grad_outputs)`` before this node's backward runs; a tuple it returns (one
    entry per output, Tensor or None) replaces the gradients. ``handle.remove()`` unregisters."""
    _check("register_prehook", hook)
    return _register(_node_hooks(self).pre, hook)


def register_hook(self, hook) -> RemovableHandle:
    """Call ``hook(grad_inputs, grad_outputs)`` after this node's backward ran; a tuple it
    returns (one entry per input) replaces ``grad_inputs``. ``handle.remove()`` unregisters."""
    _check("register_hook", hook)
    return _register(_node_hooks(self).post, hook)


def _metadata(self) -> dict:
    """A dict of the program's own about this node (PyTorch's ``Node.metadata``); it lives as long
    as the node keeps what it saved (a backward without ``retain_graph`` frees both)."""
    return _node_hooks(self).metadata


Function.register_prehook = register_prehook
Function.register_hook = register_hook
Function.metadata = property(_metadata)


class _AccumulateHooks(NodeHooks):
    """A leaf's ``AccumulateGrad`` hooks, kept among the leaf's gradient hooks (a gradient hook
    that changes nothing; found by the attribute, as post_accumulate.py's holder)."""

    __name__ = "accumulate_grad_hooks"
    accumulate_grad_hooks = True

    def __call__(self, grad):
        return None


def _leaf_hooks(t: Tensor) -> _AccumulateHooks | None:
    for holder in (t._hooks or {}).values():
        if getattr(holder, "accumulate_grad_hooks", False) is True:
            return holder
    return None


def _accumulate_hooks(self: AccumulateGrad) -> _AccumulateHooks:
    t = self.variable
    found = _leaf_hooks(t)
    if found is None:
        if t._hooks is None:
            t._hooks = {}
        found = _AccumulateHooks()
        t._hooks[RemovableHandle(t._hooks).id] = found
    return found


def _acc_register_prehook(self, hook) -> RemovableHandle:
    """Call ``hook((grad,))`` before the leaf's gradient is added to ``.grad`` (after its tensor
    hooks); a one-tuple it returns replaces the gradient."""
    _check("register_prehook", hook)
    return _register(_accumulate_hooks(self).pre, hook)


def _acc_register_hook(self, hook) -> RemovableHandle:
    """Call ``hook((), (grad,))`` after the leaf's gradient was added to ``.grad``."""
    _check("register_hook", hook)
    return _register(_accumulate_hooks(self).post, hook)


AccumulateGrad.register_prehook = _acc_register_prehook
AccumulateGrad.register_hook = _acc_register_hook
AccumulateGrad.metadata = property(lambda self: _accumulate_hooks(self).metadata)


def run_accumulate_pre(t: Tensor, g):
    """``g`` after the pre-hooks of ``t``'s AccumulateGrad (remembered for its hooks)."""
    found = _leaf_hooks(t)
    if found is None:
        return g
    for hook in list(found.pre.values()):
        result = hook((g,))
        if result is not None:
            g = _replaced(hook, result, [g], [g])[0]
    found.arrived = g
    return g


def run_accumulate_post(t: Tensor) -> None:
    """The hooks of ``t``'s AccumulateGrad, once its gradient is in ``.grad``."""
    found = _leaf_hooks(t)
    if found is None or found.arrived is None:
        return
    g, found.arrived = found.arrived, None
    for hook in list(found.post.values()):
        result = hook((), (g,))
        if result is not None and result != ():
            _replaced(hook, result, (), ())
