"""A Module's hooks: forward pre-hooks, forward hooks and full backward (pre-)hooks, as PyTorch's.

A full backward hook sees the gradients of a module's outputs (``grad_output``) and of its
positional tensor inputs (``grad_input``). Two identity ops placed around the module's forward
catch them: one on the inputs that require grad, one on the outputs. Backprop reaches the output
one first (grad_output, which a backward pre-hook may replace), then the input one, where the
hooks run and may replace grad_input. A module whose inputs need no gradient (the first layer
of a network) calls its hooks at the output op, with grad_input all None.
"""

from __future__ import annotations

import warnings
from types import MappingProxyType

from ..autograd.function import Function
from ..autograd.hooks import RemovableHandle
from ..autograd.mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module

__all__ = ["Hooks", "RemovableHandle", "register_module_backward_hook",
           "register_module_forward_hook", "register_module_forward_pre_hook",
           "register_module_full_backward_hook", "register_module_full_backward_pre_hook"]

_NONE = MappingProxyType({})  # a module without backward hooks (read-only, shared)

# The global hooks (``nn.modules.module.register_module_*``): every module's call runs them,
# before its own, as PyTorch's. ANY_GLOBAL holds them all: Module.__call__ checks it.
GLOBAL_PRE, GLOBAL_FORWARD, GLOBAL_BACKWARD, GLOBAL_BACKWARD_PRE = {}, {}, {}, {}
ANY_GLOBAL: dict = {}
_GLOBAL_FLAGS: dict = {}  # handle id -> (with_kwargs, always_call)


class _GlobalHandle(RemovableHandle):
    def remove(self) -> None:
        super().remove()
        ANY_GLOBAL.pop(self.id, None)
        _GLOBAL_FLAGS.pop(self.id, None)


def _global(store: dict, hook, with_kwargs: bool = False,
            always_call: bool = False) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"register_module_*_hook: a hook must be callable, got "
                        f"{type(hook).__name__}")
    handle = _GlobalHandle(store)
    store[handle.id] = ANY_GLOBAL[handle.id] = hook
    if with_kwargs or always_call:
        _GLOBAL_FLAGS[handle.id] = (bool(with_kwargs), bool(always_call))
    return handle


def register_module_forward_pre_hook(hook) -> RemovableHandle:
    """``hook(module, args)`` before every module's forward (and before its own pre-hooks); a
    non-None result replaces the positional inputs. ``handle.remove()`` unregisters it."""
    return _global(GLOBAL_PRE, hook)


def register_module_forward_hook(hook, *, with_kwargs: bool = False,
                                 always_call: bool = False) -> RemovableHandle:
    """``hook(module, args, output)`` after every module's forward (before its own hooks); a
    non-None result replaces the output. The options are ``register_forward_hook``'s."""
    return _global(GLOBAL_FORWARD, hook, with_kwargs, always_call)


def register_module_full_backward_pre_hook(hook) -> RemovableHandle:
    """``hook(module, grad_output)`` for every module, as ``register_full_backward_pre_hook``."""
    return _global(GLOBAL_BACKWARD_PRE, hook)


def register_module_full_backward_hook(hook) -> RemovableHandle:
    """``hook(module, grad_input, grad_output)`` for every module, as
    ``register_full_backward_hook``."""
    return _global(GLOBAL_BACKWARD, hook)


register_module_backward_hook = register_module_full_backward_hook  # the deprecated name


def _with_globals(store: dict, own) -> list:
    return [*store.items(), *own.items()] if store else list(own.items())


class Hooks:
    """The hook registrations of ``Module`` (a base class of it) and the call that runs them."""

    _backward_hooks = _NONE
    _backward_pre_hooks = _NONE

    def _add_hook(self, store: str, hook, prepend: bool = False, with_kwargs: bool = False,
                  always_call: bool = False) -> RemovableHandle:
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}: a hook must be callable, got "
                            f"{type(hook).__name__}")
        for name, flag in (("prepend", prepend), ("with_kwargs", with_kwargs),
                           ("always_call", always_call)):
            if not isinstance(flag, bool):
                raise TypeError(f"{type(self).__name__}: {name} must be True or False, got "
                                f"{flag!r}")
        hooks = self.__dict__.get(store)
        if hooks is None:
            hooks = {}
            object.__setattr__(self, store, hooks)
        handle = RemovableHandle(hooks, self)
        earlier = list(hooks.items()) if prepend else []
        if prepend:  # first to run; the same dict, which the handles of the others hold
            hooks.clear()
        hooks[handle.id] = hook
        hooks.update(earlier)
        if with_kwargs or always_call:
            self.__dict__.setdefault("_hook_flags", {})[handle.id] = (with_kwargs, always_call)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; a non-None result replaces the
        positional inputs. ``with_kwargs=True``: ``hook(module, args, kwargs)``, which may return
        ``(args, kwargs)``. ``prepend=True``: before the hooks registered earlier."""
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after forward; a non-None result replaces the
        output. ``with_kwargs=True``: ``hook(module, args, kwargs, output)``;
        ``always_call=True``: also when forward raised (with output None; the error goes on)."""
        return self._add_hook("_forward_hooks", hook, prepend, with_kwargs, always_call)

    def register_full_backward_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when backprop has computed the gradients
        of the module's positional tensor inputs (zeros for a tensor that needs none while another
        does, as PyTorch's; all None when none does; None for a non-tensor); a tuple it returns
        replaces ``grad_input``. Grad-CAM's way to read a layer's gradient."""
        return self._add_hook("_backward_hooks", hook, prepend)

    def register_backward_hook(self, hook) -> RemovableHandle:
        """PyTorch's deprecated backward hook, for older programs (guided backpropagation on ReLU
        modules, Grad-CAM reading ``grad_output``): ``register_full_backward_hook``.
        ``grad_output`` is PyTorch's; ``grad_input`` holds the gradients of the module's inputs,
        which is PyTorch's for a module of one autograd node (ReLU, a convolution's first entry)
        but not for one of several (PyTorch's are its last node's: a Linear's bias first)."""
        return self.register_full_backward_hook(hook)

    def register_full_backward_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when backprop reaches the module's outputs; a tuple
        it returns replaces ``grad_output``."""
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    def _call_with_hooks(self, args, kwargs):
        flags = self.__dict__.get("_hook_flags", _NONE)
        if _GLOBAL_FLAGS:
            flags = {**_GLOBAL_FLAGS, **flags}
        output, called, watch = None, set(), None
        try:  # as PyTorch's: an error here runs the always_call hooks that have not run yet
            args, kwargs = _pre_hooks(self, flags, args, kwargs)
            if (self._backward_hooks or self._backward_pre_hooks or GLOBAL_BACKWARD
                    or GLOBAL_BACKWARD_PRE) and is_grad_enabled():
                watch = _Watch(self)
                args = watch.inputs(args)
            output = self.forward(*args, **kwargs)
            for hid, hook in _with_globals(GLOBAL_FORWARD, self._forward_hooks):
                called.add(hid)
                with_kwargs = flags.get(hid, (False,))[0]
                result = hook(self, args, kwargs, output) if with_kwargs else hook(
                    self, args, output)
                if result is not None:
                    output = result
        except Exception:
            _always_called(self, flags, args, kwargs, output, called)
            raise
        return output if watch is None else watch.outputs(output)


def _pre_hooks(module, flags, args, kwargs):
    """The forward pre-hooks (global ones first), each may replace the inputs."""
    for hid, hook in _with_globals(GLOBAL_PRE, module._forward_pre_hooks):
        if flags.get(hid, (False,))[0]:
            result = hook(module, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError("a forward pre-hook with with_kwargs=True must return "
                                       f"None or (args, kwargs), got {type(result).__name__}")
                args, kwargs = result
            continue
        result = hook(module, args)
        if result is not None:
            args = result if isinstance(result, tuple) else (result,)
    return args, kwargs


def _always_called(module, flags, args, kwargs, output, called) -> None:
    """A pre-hook, forward or a forward hook raised: run the forward hooks registered with
    ``always_call=True`` that have not run (with the output so far: None if forward did not
    return); an error of theirs is a warning, so that the first error is the one raised."""
    for hid, hook in _with_globals(GLOBAL_FORWARD, module._forward_hooks):
        with_kwargs, always = flags.get(hid, (False, False))
        if not always or hid in called:
            continue
        try:
            hook(module, args, kwargs, output) if with_kwargs else hook(module, args, output)
        except Exception as err:  # noqa: BLE001 - reported, forward's error goes on
            warnings.warn(f"a forward hook with always_call=True raised {err!r} after forward "
                          "had raised; that error is silenced", stacklevel=3)


class _Watch:
    """One call's backward hooks: where the gradients of the outputs wait for those of the
    inputs."""

    def __init__(self, module):
        self.module = module
        self.slots: list[bool] = []  # per positional input: a tensor that requires grad
        self.grad_output = None

    def inputs(self, args):
        self.slots = [isinstance(a, Tensor) and a.requires_grad for a in args]
        caught = [a for a, s in zip(args, self.slots) if s]
        if not caught:
            return args
        # a tensor input that needs no gradient shows zeros in grad_input, as PyTorch's
        self.zeros = [(get_array_module(a._data), a.shape, a.dtype) if isinstance(a, Tensor)
                      and not s else None for a, s in zip(args, self.slots)]
        it = iter(_Identity.apply(*caught, on_backward=self._at_inputs))
        return tuple(next(it) if s else a for a, s in zip(args, self.slots))

    def outputs(self, output):
        single = isinstance(output, Tensor)
        items = (output,) if single else output
        if not isinstance(items, (tuple, list)):
            return output
        caught = [o for o in items if isinstance(o, Tensor) and o.requires_grad]
        if not caught:
            return output
        # one grad_output entry per output, None for one that is no tensor or needs no gradient
        self.out_slots = [isinstance(o, Tensor) and o.requires_grad for o in items]
        # an output that gets no gradient shows None in grad_output, as PyTorch's (no zeros)
        it = iter(_Identity.apply(*caught, on_backward=self._at_outputs, materialize_grads=False))
        new = [next(it) if isinstance(o, Tensor) and o.requires_grad else o for o in items]
        return new[0] if single else type(items)(new)

    def _at_outputs(self, grads):
        it = iter(grads)
        grads = tuple(next(it) if s else None for s in self.out_slots)
        for _, hook in _with_globals(GLOBAL_BACKWARD_PRE, self.module._backward_pre_hooks):
            result = hook(self.module, grads)
            if result is not None:
                grads = _checked(self.module, "backward pre-hook", result, grads)
        self.grad_output = grads
        if True not in self.slots:  # no input needs a gradient: the hooks run now
            self._run(tuple(None for _ in self.slots))
        return tuple(g for g, s in zip(grads, self.out_slots) if s)

    def _at_inputs(self, grads):
        if self.grad_output is None:  # no output to watch (a dict, a number), or the gradient
            return grads  # reached the inputs another way: PyTorch skips the hooks too
        it = iter(grads)
        grad_input = tuple(next(it) if s else None if z is None else Tensor(z[0].zeros(z[1], z[2]))
                           for s, z in zip(self.slots, self.zeros))
        grad_input = self._run(grad_input)
        return tuple(g for g, s in zip(grad_input, self.slots) if s)

    def _run(self, grad_input):
        for _, hook in _with_globals(GLOBAL_BACKWARD, self.module._backward_hooks):
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                grad_input = _checked(self.module, "full backward hook", result, grad_input)
        return grad_input


def _checked(module, kind, result, grads):
    """A hook's replacement for ``grads``: a tuple of as many, each None or the same shape."""
    if isinstance(result, Tensor):
        result = (result,)
    if not isinstance(result, (tuple, list)):
        raise TypeError(f"{type(module).__name__}: a {kind} must return None or a tuple of "
                        f"{len(grads)} gradients, got {result!r:.80}")
    if len(result) != len(grads):  # PyTorch's RuntimeError
        raise RuntimeError(f"{type(module).__name__}: a {kind} returned an invalid number of "
                           f"gradients, got {len(result)}, but expected {len(grads)}")
    for new, old in zip(result, grads):
        if new is not None and old is not None and (
                not isinstance(new, Tensor) or new.shape != old.shape):
            raise RuntimeError(
                f"{type(module).__name__}: a {kind} returned a gradient of shape "
                f"{getattr(new, 'shape', type(new).__name__)} for one of shape {old.shape}")
    return tuple(result)


class _Identity(Function):
    """Passes its inputs through unchanged (views of them); in backward, hands the gradients of
    its outputs to ``on_backward``, whose result goes on to the inputs."""

    opaque_view = True  # an in-place change of its views would skip the hooks: refused

    def forward(self, *arrays):
        return tuple(a[...] for a in arrays)

    def backward(self, *grads):
        return tuple(self.on_backward(grads))
