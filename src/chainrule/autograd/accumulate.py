"""How a leaf's ``.grad`` accumulates during the backward walk (graph.py): the first gradient
owns its memory, later ones add in place, and a sparse gradient (chainrule.sparse, e.g.
``Embedding(sparse=True)``'s) stays sparse until a dense one joins it."""

from __future__ import annotations

from .mode import _grad_enabled
from .tensor import Tensor

__all__ = ["accumulate_leaf"]


def accumulate_leaf(t, g, assigned):
    """Add ``g`` to the leaf ``t``'s ``.grad`` (``assigned``: the backward walk's record of the
    arrays it handed out, see graph.py)."""
    if not t.requires_grad:
        return
    if not isinstance(g, Tensor) or (t.grad is not None and not isinstance(t.grad, Tensor)):
        t.grad = _sum_with_sparse(t.grad, g)
        return
    if t.grad is None:
        # A leaf's .grad must own its memory, so that in-place updates (clipping, optimizers) never
        # change another leaf's gradient or the caller's array: copy an array already handed out
        # (x + y gives both the same one), a view (reshape, broadcast) or the caller's root grad.
        data = g._data
        if id(data) in assigned or data.base is not None or not getattr(data.flags, "writeable", 1):
            g = Tensor(data.copy()) if g._ctx is None else g.clone()  # clone: recorded
            assigned[id(g._data)] = False
        else:  # not copied: a node still waiting to run may hold the same array (a + m, a * m)
            assigned[id(data)] = True
        t.grad = g
    elif assigned.get(id(t.grad._data)) and t.grad._ctx is None and not t.grad.requires_grad:
        # The array this walk gave t without a copy: summing into it in place would change a
        # gradient still on its way to other nodes. A new array, which t then owns.
        t.grad = Tensor(t.grad._data + g._data)
        assigned[id(t.grad._data)] = False
    elif (_grad_enabled.get() or t.grad._ctx is not None or t.grad.requires_grad
          or not getattr(t.grad._data.flags, "writeable", True)):
        t.grad = t.grad + g  # recorded (create_graph): the sum is a node of the graph
    else:
        # In place, as PyTorch accumulates .grad: the leaf owns that memory (see above), and a
        # second path into the same weights (a GAN's critic on real and fake batches) then costs
        # one pass instead of a new array.
        data = t.grad._data
        data += g._data
        t.grad._counter[0] += 1  # t.grad._mark_changed(), inline: weights used often come here


def _sum_with_sparse(old, g):
    """A leaf's ``.grad`` plus ``g`` where one is a sparse tensor (chainrule.sparse): sparse plus
    sparse stays sparse (PyTorch's sparse add, which merges the entry lists), with a dense one
    it is dense."""
    if old is None:
        return g
    if old.is_sparse and g.is_sparse:
        return old + g
    return (g + old.to_dense()) if old.is_sparse else (old + g.to_dense())
