"""An optimizer's hooks, as PyTorch's: around ``step``, ``state_dict`` and ``load_state_dict``.

Registering the first hook of a kind gives that optimizer an instance attribute of the same
name (``opt.step``...), a bound method that runs the hooks around the class's method, whichever
class defines it (a hand-written optimizer's ``step`` too). Calls from inside, such as a
subclass's ``super().step()``, go to the class and run the hooks once. An optimizer without
hooks has nothing in the way: its ``step`` is the class's.

    step pre-hook   hook(optimizer, args, kwargs) -> None or (args, kwargs); as in PyTorch,
                    args holds the optimizer itself first
    step post-hook  hook(optimizer, args, kwargs) -> None
    state_dict      pre: hook(optimizer); post: hook(optimizer, state_dict) -> None or a new one
    load_state_dict pre: hook(optimizer, state_dict) -> None or a new one (it gets a shallow
                    copy of the caller's); post: hook(optimizer)

The global step hooks (``register_optimizer_step_pre_hook``/``_post_hook``, PyTorch's
``torch.optim.optimizer`` functions) run for every optimizer: the global pre-hooks before an
optimizer's own, its own post-hooks before the global ones, as in PyTorch. Registering one gives
every live optimizer (and each one made while any is registered) the hooked ``step`` above; an
optimizer made while none is registered, with no hooks of its own, steps without them.
"""

from __future__ import annotations

import types
import weakref

from ..autograd.hooks import RemovableHandle

__all__ = ["OptimizerHooks", "register_optimizer_step_post_hook",
           "register_optimizer_step_pre_hook"]

# The global step hooks (handle id -> hook), and the live optimizers they must reach.
_global_step_pre_hooks: dict = {}
_global_step_post_hooks: dict = {}
_live = weakref.WeakSet()

_METHOD = {"_optimizer_step_pre_hooks": "step", "_optimizer_step_post_hooks": "step",
           "_optimizer_state_dict_pre_hooks": "state_dict",
           "_optimizer_state_dict_post_hooks": "state_dict",
           "_optimizer_load_state_dict_pre_hooks": "load_state_dict",
           "_optimizer_load_state_dict_post_hooks": "load_state_dict"}


class OptimizerHooks:
    """The hook registrations of ``Optimizer`` (a base class of it)."""

    def __setstate__(self, state: dict) -> None:
        """Restore the attributes (unpickling, ``copy.deepcopy``; ``load_state_dict`` calls it
        with the new ``state`` and ``param_groups``, as PyTorch's does), so that a subclass's
        ``__setstate__`` calling ``super().__setstate__(state)`` works and runs on a load."""
        self.__dict__.update(state)
        self.__dict__.setdefault("_work", {})  # the fused updates' work buffers
        self._track_for_global_hooks()

    def _track_for_global_hooks(self) -> None:
        """Called by ``Optimizer.__init__``: keep a weak reference for later global hooks, and
        route ``step`` through the hooks now if any is registered."""
        _live.add(self)
        if _global_step_pre_hooks or _global_step_post_hooks:
            _route_step(self)

    def _add_hook(self, store: str, hook, prepend: bool = False) -> RemovableHandle:
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}: a hook must be callable, got "
                            f"{type(hook).__name__}")
        if not isinstance(prepend, bool):
            raise TypeError(f"{type(self).__name__}: prepend must be True or False, got "
                            f"{prepend!r}")
        hooks = self.__dict__.setdefault(store, {})
        handle = RemovableHandle(hooks)
        earlier = list(hooks.items()) if prepend else []
        if prepend:
            hooks.clear()
        hooks[handle.id] = hook
        hooks.update(earlier)
        name = _METHOD[store]  # from now on, this optimizer's calls go through its hooks
        if name not in self.__dict__:
            self.__dict__[name] = types.MethodType(_HOOKED[name], self)
        return handle

    def register_step_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before each ``step``; it may return new
        ``(args, kwargs)`` for it."""
        return self._add_hook("_optimizer_step_pre_hooks", hook)

    def register_step_post_hook(self, hook) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after each ``step``."""
        return self._add_hook("_optimizer_step_post_hooks", hook)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer)`` before ``state_dict`` collects the state."""
        return self._add_hook("_optimizer_state_dict_pre_hooks", hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` on what ``state_dict`` returns; a dict it
        returns replaces it."""
        return self._add_hook("_optimizer_state_dict_post_hooks", hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` on a shallow copy of what ``load_state_dict``
        was given; a dict it returns is loaded instead."""
        return self._add_hook("_optimizer_load_state_dict_pre_hooks", hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer)`` after ``load_state_dict`` has loaded the state."""
        return self._add_hook("_optimizer_load_state_dict_post_hooks", hook, prepend)


def _global_hook(store: dict, hook, kind: str) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"register_optimizer_step_{kind}_hook: hook must be callable, got "
                        f"{type(hook).__name__}")
    handle = RemovableHandle(store)
    store[handle.id] = hook
    for opt in list(_live):
        _route_step(opt)
    return handle


def register_optimizer_step_pre_hook(hook) -> RemovableHandle:
    """Call ``hook(optimizer, args, kwargs)`` before the ``step`` of every optimizer (before its
    own pre-hooks); it may return new ``(args, kwargs)``. PyTorch's
    ``torch.optim.optimizer.register_optimizer_step_pre_hook``.

    Returns:
        a handle whose ``remove()`` unregisters the hook.
    """
    return _global_hook(_global_step_pre_hooks, hook, "pre")


def register_optimizer_step_post_hook(hook) -> RemovableHandle:
    """Call ``hook(optimizer, args, kwargs)`` after the ``step`` of every optimizer (after its
    own post-hooks). PyTorch's ``torch.optim.optimizer.register_optimizer_step_post_hook``.

    Returns:
        a handle whose ``remove()`` unregisters the hook.
    """
    return _global_hook(_global_step_post_hooks, hook, "post")


def _route_step(opt) -> None:
    """Make ``opt.step`` the hooked step (which runs the global hooks, and its own)."""
    if "step" not in opt.__dict__:
        opt.__dict__["step"] = types.MethodType(_hooked_step, opt)


def _hooks(opt, store: str):
    return tuple(opt.__dict__.get(store, {}).values())


def _run_step(opt, method, args, kwargs):
    args = (opt, *args)  # PyTorch's hooks see the optimizer first in args, too
    pre = (*_global_step_pre_hooks.values(), *_hooks(opt, "_optimizer_step_pre_hooks"))
    for hook in pre:
        result = hook(opt, args, kwargs)
        if result is not None:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise RuntimeError("an optimizer step pre-hook must return None or (args, "
                                   f"kwargs), got {type(result).__name__}")
            args, kwargs = result
    out = method(*args, **kwargs)
    for hook in (*_hooks(opt, "_optimizer_step_post_hooks"), *_global_step_post_hooks.values()):
        hook(opt, args, kwargs)
    return out


def _run_state_dict(opt, method, args, kwargs):
    for hook in _hooks(opt, "_optimizer_state_dict_pre_hooks"):
        hook(opt)
    state = method(opt, *args, **kwargs)
    for hook in _hooks(opt, "_optimizer_state_dict_post_hooks"):
        result = hook(opt, state)
        state = state if result is None else result
    return state


def _run_load(opt, method, args, kwargs):
    if args:
        state, args = args[0], args[1:]
    else:
        state = kwargs.pop("state_dict")
    state = dict(state) if isinstance(state, dict) else state  # the hooks edit a copy
    for hook in _hooks(opt, "_optimizer_load_state_dict_pre_hooks"):
        result = hook(opt, state)
        state = state if result is None else result
    out = method(opt, state, *args, **kwargs)
    for hook in _hooks(opt, "_optimizer_load_state_dict_post_hooks"):
        hook(opt)
    return out


def _hooked_step(self, *args, **kwargs):
    return _run_step(self, type(self).step, args, kwargs)


def _hooked_state_dict(self, *args, **kwargs):
    return _run_state_dict(self, type(self).state_dict, args, kwargs)


def _hooked_load_state_dict(self, *args, **kwargs):
    return _run_load(self, type(self).load_state_dict, args, kwargs)


_HOOKED = {"step": _hooked_step, "state_dict": _hooked_state_dict,
           "load_state_dict": _hooked_load_state_dict}
