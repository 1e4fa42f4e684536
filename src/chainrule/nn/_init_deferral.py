"""``nn.init.deferred``: build models without initializing them (the initializers of init.py ask
``_skipped`` first and leave a tensor as it is inside the block)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ..autograd.tensor import Tensor
from ..backend import MetaArray

__all__ = ["deferred"]


class _Deferral:
    """What ``deferred`` counts: the tensors whose initialization it skipped, against a budget."""

    def __init__(self, max_elements, max_tensors):
        self.max_elements, self.max_tensors = max_elements, max_tensors
        self.skipped: list[Tensor] = []
        self._seen: set[int] = set()
        self.elements = 0

    def skip(self, t: Tensor) -> None:
        if id(t) in self._seen:  # a tied weight initialized twice is one tensor
            return
        self._seen.add(id(t))
        self.skipped.append(t)
        self.elements += t.numel()
        if self.max_tensors is not None and len(self.skipped) > self.max_tensors:
            raise ValueError(
                f"the model being built has more than {self.max_tensors} initialized tensors, "
                "more than its weights hold"
            )
        if self.max_elements is not None and self.elements > self.max_elements:
            raise ValueError(
                f"the model being built needs more than {self.max_elements} parameter elements "
                f"(at least {self.elements} so far), more than its weights hold"
            )


# Set only inside ``deferred`` (a ContextVar, restored on exit like the grad mode).
_DEFERRAL: ContextVar[_Deferral | None] = ContextVar("chainrule_init_deferral", default=None)


@contextmanager
def deferred(*, max_elements: int | None = None,
             max_tensors: int | None = None) -> Iterator[list[Tensor]]:
    """Build models without initializing them, e.g. to load weights into them next.

    Inside the block every initializer of this module leaves its tensor as it is (layers allocate
    parameters with ``empty``, whose untouched pages cost no memory) and counts it instead; the
    block yields the list of the tensors skipped, which the caller must overwrite (e.g. with
    ``load_state_dict``). With ``max_elements`` / ``max_tensors``, initializing more elements or
    tensors than that raises ValueError at once: a model rebuilt from a file's config must not
    need more than the file's weights, so an impossible config fails before the next layer is
    allocated.
    """
    token = _DEFERRAL.set(_Deferral(max_elements, max_tensors))
    try:
        yield _DEFERRAL.get().skipped
    finally:
        _DEFERRAL.reset(token)


def _skipped(t: Tensor) -> bool:
    """True (and ``t`` counted) when a ``deferred`` block is active: leave ``t`` uninitialized."""
    if type(t._data) is MetaArray:  # no values to draw: nothing to do, as PyTorch's
        return True
    deferral = _DEFERRAL.get()
    if deferral is None:
        return False
    deferral.skip(t)
    return True
