"""The handle that removes a registered hook (tensor gradient hooks and module hooks alike), and
the watchers of in-place changes (``watch_writes``)."""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["RemovableHandle", "watch_writes"]

# Callbacks that ``Tensor._mark_changed`` calls with each tensor changed in place (after the
# change), innermost last; empty outside any ``watch_writes`` block. ``chainrule.func.vmap``
# uses it to find a tensor that every slice of its loop changes.
write_watchers: ContextVar[tuple] = ContextVar("chainrule_write_watchers", default=())


@contextmanager
def watch_writes(callback):
    """Inside the block, in this thread, call ``callback(tensor)`` after each counted in-place
    change of a tensor's values (``add_``, ``t[i] = v``, ``copy_``, a BatchNorm's running
    statistics...)."""
    token = write_watchers.set(write_watchers.get() + (callback,))
    try:
        yield
    finally:
        write_watchers.reset(token)


class RemovableHandle:
    """Returned by ``register_hook`` and ``register_forward_hook``: ``remove()`` (or leaving a
    ``with`` block) unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: dict, module=None):
        self._hooks = hooks
        self._module = module
        self.id = next(self._ids)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
