"""PyTorch's ``torch.sparse.check_sparse_tensor_invariants``: the switch of its sparse
constructors' index checks, which PyTorch's own warning ("Sparse invariant checks are
implicitly disabled") tells programs to set. chainrule's constructors always check (an index
out of range, negative or of the wrong shape is an error), so the switch only records its
state, for ``is_enabled()``."""

from __future__ import annotations

import contextlib

__all__ = ["check_sparse_tensor_invariants"]

_state = {"enabled": False}  # PyTorch's default: off


class check_sparse_tensor_invariants(contextlib.ContextDecorator):  # noqa: N801 - its name
    """``with check_sparse_tensor_invariants(enable=True):`` (or as a decorator) turns the
    switch on for the block and restores it after; ``enable()``/``disable()`` set it."""

    def __init__(self, enable: bool = True):
        self.state = bool(enable)
        self._saved = []

    def __enter__(self):
        self._saved.append(_state["enabled"])
        _state["enabled"] = self.state
        return self

    def __exit__(self, *exc):
        _state["enabled"] = self._saved.pop()
        return False

    @staticmethod
    def is_enabled() -> bool:
        return _state["enabled"]

    @staticmethod
    def enable() -> None:
        _state["enabled"] = True

    @staticmethod
    def disable() -> None:
        _state["enabled"] = False
