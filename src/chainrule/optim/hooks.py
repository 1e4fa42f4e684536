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
"""

from __future__ import annotations

import types

from ..autograd.hooks import RemovableHandle

__all__ = ["OptimizerHooks"]

_METHOD = {"_optimizer_step_pre_hooks": "step", "_optimizer_step_post_hooks": "step",
           "_optimizer_state_dict_pre_hooks": "state_dict",
           "_optimizer_state_dict_post_hooks": "state_dict",
           "_optimizer_load_state_dict_pre_hooks": "load_state_dict",
           "_optimizer_load_state_dict_post_hooks": "load_state_dict"}


class OptimizerHooks:
    """The hook registrations of ``Optimizer`` (a base class of it)."""

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


def _hooks(opt, store: str):
    return tuple(opt.__dict__.get(store, {}).values())


def _run_step(opt, method, args, kwargs):
    args = (opt, *args)  # PyTorch's hooks see the optimizer first in args, too
    for hook in _hooks(opt, "_optimizer_step_pre_hooks"):
        result = hook(opt, args, kwargs)
        if result is not None:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise RuntimeError("an optimizer step pre-hook must return None or (args, "
                                   f"kwargs), got {type(result).__name__}")
            args, kwargs = result
    out = method(*args, **kwargs)
    for hook in _hooks(opt, "_optimizer_step_post_hooks"):
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
