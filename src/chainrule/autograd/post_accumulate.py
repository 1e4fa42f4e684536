"""The hooks the backward walk (graph.py) runs: ``Tensor.register_hook``'s gradient hooks,
``Tensor.register_post_accumulate_grad_hook`` and ``Tensor.retain_grad``'s ``.grad``.

A post-accumulate hook is called with the leaf itself once backward has added the leaf's
gradient to ``.grad`` (PyTorch's "optimizer in backward" pattern: step and free each parameter's
gradient as soon as it is complete). The hooks sit in one gradient hook of the leaf that changes
nothing: a leaf with gradient hooks has its gradient summed over the whole walk before it reaches
``.grad`` (``graph.run_backward``), and the walk calls ``after_accumulate`` just after that.

The walk hands the hook runners its ``walk``: ``(assigned, order, needed, targets, waiting)``,
its record of the arrays it handed out, its nodes in order, those it runs for ``grad()``, the
tensors ``grad()`` returns gradients for and the hooked leaves that received a gradient so far;
``current_walk()`` gives it to a hook (multi_grad.py).
"""

from __future__ import annotations

from contextvars import ContextVar

from . import grad_attribute  # noqa: F401 - Tensor.grad, checked when assigned
from .hooks import RemovableHandle
from .node_hooks import run_accumulate_post, run_accumulate_pre
from .tensor import Tensor

__all__ = ["accumulate_hooked", "after_accumulate", "current_walk", "retain_outputs", "run_hooks",
           "run_node_hooks", "sum_with_sparse"]

_walk: ContextVar = ContextVar("walk", default=None)


def current_walk():
    """The walk whose gradient hooks are running, or None outside them."""
    return _walk.get()


class _PostAccumulateHooks:
    """A gradient hook that keeps the gradient, holding the leaf's post-accumulate hooks (found
    by the attribute, not the class, so a second import of this module finds them too)."""

    __name__ = "post_accumulate_grad_hooks"

    def __init__(self):
        self.post_accumulate_hooks: dict = {}

    def __call__(self, grad):
        return None


def after_accumulate(t: Tensor) -> None:
    """Call ``t``'s post-accumulate hooks, in the order they were registered."""
    for holder in list(t._hooks.values()):
        found = getattr(holder, "post_accumulate_hooks", None)
        if type(found) is dict:
            for hook in list(found.values()):
                if hook(t) is not None:
                    raise RuntimeError(
                        f"a post-accumulate grad hook ({getattr(hook, '__name__', hook)!r}) "
                        "returned a value; it must return None (it may change .grad in place)")


def register_post_accumulate_grad_hook(self, hook) -> RemovableHandle:
    """Call ``hook(tensor)`` after backward has accumulated this leaf's gradient into ``.grad``
    (not for ``grad()``, which writes no ``.grad``); ``handle.remove()`` unregisters it.

    The "optimizer in backward" pattern: each parameter steps as soon as backward is done with it.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = cr.optim.SGD([w], lr=0.5)
    >>> def step(p):
    ...     opt.step()
    ...     opt.zero_grad()
    >>> handle = w.register_post_accumulate_grad_hook(step)
    >>> (w * w).sum().backward()
    >>> w.detach().tolist(), w.grad
    ([0.0, 0.0], None)
    """
    if not callable(hook):
        raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got "
                        f"{type(hook).__name__}")
    if not self.requires_grad:
        raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a "
                           "tensor that does not require grad")
    if self._ctx is not None:
        raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks "
                           "cannot be registered on non-leaf tensors")
    if self._hooks is None:
        self._hooks = {}
    hooks = next((h.post_accumulate_hooks for h in self._hooks.values()
                  if type(getattr(h, "post_accumulate_hooks", None)) is dict), None)
    if hooks is None:
        holder = _PostAccumulateHooks()
        self._hooks[RemovableHandle(self._hooks).id] = holder
        hooks = holder.post_accumulate_hooks
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


Tensor.register_post_accumulate_grad_hook = register_post_accumulate_grad_hook
Tensor.retains_grad = property(
    lambda self: self._retains_grad and self._ctx is not None,
    doc="True for a non-leaf tensor after ``retain_grad()`` (a leaf keeps ``.grad`` anyway).")


def accumulate_hooked(t: Tensor, g, accumulate, walk) -> None:
    """Add ``g`` to the hooked leaf ``t``'s ``.grad`` (``accumulate``) between its hooks: its
    gradient hooks, its AccumulateGrad's pre-hooks, then its post-accumulate hooks and its
    AccumulateGrad's hooks (node_hooks.py), PyTorch's order."""
    g = run_accumulate_pre(t, run_hooks(t._hooks, g, walk))
    if g is not None:
        accumulate(t, g, walk[0])
    after_accumulate(t)
    run_accumulate_post(t)


def run_node_hooks(fn, gouts, captured, hooked, walk):
    """Pass the gradients of ``fn``'s outputs through their hooks (``Tensor.register_hook``)."""
    for i, found in fn._grad_hooks.items():
        if found and gouts[i] is None:  # an output that got none (another one did): PyTorch
            run_hooks(found, None, walk)  # calls its hooks with None
        elif found:
            gouts[i] = run_hooks(found, gouts[i], walk)
            out = fn._outputs[i]()
            if out is not None and id(out) in captured:  # grad() returns it: the hooked one
                captured[id(out)] = gouts[i]
                hooked.add(id(out))


def run_hooks(found, g, walk):
    """``g`` after each hook in ``found`` (a hook returns a replacement or None). A replacement
    may be a tensor the caller keeps: a leaf's ``.grad`` gets a copy of it (``walk[0]``)."""
    token = _walk.set(walk)
    try:
        return _run_hooks(found, g, walk[0])
    finally:
        _walk.reset(token)


def _run_hooks(found, g, assigned):
    for hook in list(found.values()):
        result = hook(g)
        if result is None:
            continue
        if g is None:
            raise RuntimeError(f"a gradient hook ({getattr(hook, '__name__', hook)!r}) can't "
                               "replace a None gradient with a non-None value")
        if not isinstance(result, Tensor):
            if getattr(result, "is_sparse", False) and getattr(g, "is_sparse", False):
                g = result  # a sparse gradient (chainrule.sparse) replaced by a sparse one
                continue
            raise TypeError(f"a gradient hook ({getattr(hook, '__name__', hook)!r}) returned a "
                            f"{type(result).__name__}; return a Tensor or None")
        if result._data.shape != g._data.shape or (result._data.dtype != g._data.dtype
                                                   and not getattr(hook, "casts", False)):
            raise RuntimeError(
                f"a gradient hook ({getattr(hook, '__name__', hook)!r}) changed the gradient "
                f"from shape {g._data.shape}, {g._data.dtype} to shape {result._data.shape}, "
                f"{result._data.dtype}; return a Tensor of the same shape and dtype")
        g = result
        assigned[id(g._data)] = False
    return g


def retain_outputs(fn, gouts):
    """The ``.grad`` of ``fn``'s outputs that called ``retain_grad()``: their gradients."""
    for ref, g in zip(fn._outputs, gouts):
        out = ref()
        if out is not None and out._retains_grad and g is not None:
            if out.grad is not None:
                out.grad = out.grad + g.detach()
            else:  # a copy, as PyTorch's: g may also reach a leaf's .grad, or be the caller's
                out.grad = g if g._ctx is not None else Tensor(g._data.copy())


def sum_with_sparse(old, g):
    """A leaf's ``.grad`` plus ``g`` where one is a sparse tensor (chainrule.sparse): sparse plus
    sparse stays sparse (PyTorch's sparse add, which merges the entry lists), with a dense one
    it is dense."""
    if old is None:
        return g
    if old.is_sparse and g.is_sparse:
        return old + g
    return (g + old.to_dense()) if old.is_sparse else (old + g.to_dense())
