"""The handle that removes a registered hook (tensor gradient hooks and module hooks alike)."""

from __future__ import annotations

import itertools

__all__ = ["RemovableHandle"]


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
