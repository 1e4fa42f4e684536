"""``x.detach()`` (and ``x.data``) inside a traced model: read as ``x`` by the replay.

A detached tensor is not an op's output, so ``chainrule.trace``'s recorder would not know where
its values come from. When it is an alias of a tensor the recorder knows (the same memory, the
same shape, dtype and strides), the replay reads that tensor's slot: an identity, which is what
``detach`` computes (a trace records nothing for backpropagation, and eager calls keep their
stop-gradient). ``chainrule.onnx.export`` records with the same recorder, so a detached branch
(a straight-through estimator ``z + (q - z).detach()``) is exported as the values it reads.
"""

from __future__ import annotations

from ..backend import get_array_module

__all__ = ["alias_slot", "same_memory"]


def alias_slot(rec, t):
    """The recorder ``rec``'s slot for ``t`` if ``t`` aliases a tensor it can read, else None.

    A base that no op made and that shares no memory with the recorded computation (a
    parameter's ``detach()``) becomes a live tensor, read at every call as parameters are.
    """
    ref = getattr(t, "_base", None)
    base = ref() if ref is not None else None
    if base is None or t._ctx is not None or not same_memory(t._data, base._data):
        return None
    n = rec.slot.get(id(base))
    if n is None:
        if any(_may_share(base._data, a) for a in rec._outputs_so_far()):
            return None  # e.g. a .data of a view made outside any op: refused by the caller
        n = rec._new_slot(base)
        rec.live.append((n, base))
    rec.seen.append(t)  # kept alive, so that its id is not reused
    rec.slot[id(t)] = n
    return n


def same_memory(a, b) -> bool:
    """Whether two arrays are the same values in the same memory (an alias, not another view)."""
    if a is b:
        return True
    if type(a) is not type(b) or a.shape != b.shape or a.dtype != b.dtype:
        return False
    ia = getattr(a, "__array_interface__", None) or getattr(a, "__cuda_array_interface__", None)
    ib = getattr(b, "__array_interface__", None) or getattr(b, "__cuda_array_interface__", None)
    return (ia is not None and ib is not None and ia["data"][0] == ib["data"][0]
            and ia.get("strides") == ib.get("strides"))


def _may_share(a, b) -> bool:
    xp = get_array_module(a)
    return xp is get_array_module(b) and bool(xp.may_share_memory(a, b))
