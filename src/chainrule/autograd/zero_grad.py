"""``zero_grad(set_to_none=False)`` for modules and optimizers, as PyTorch's: the gradient
tensor a parameter holds is zeroed in place, so a reference held elsewhere sees the zeros."""

from __future__ import annotations

from .mode import no_grad
from .tensor import Tensor

__all__ = ["zero_grad_in_place"]


def zero_grad_in_place(p) -> None:
    """Zero ``p.grad`` where it is (nothing if it is None). A gradient that ``create_graph``
    made is detached first, as PyTorch's; a sparse gradient keeps no entries."""
    g = p.grad
    if g is None:
        return
    if not isinstance(g, Tensor):  # sparse: no entries, as PyTorch's
        p.grad = g.detach().zero_()
        return
    with no_grad():
        if g.grad_fn is not None:
            p.grad = g = g.detach()
        g.zero_()
