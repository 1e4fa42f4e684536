"""Which tensors share memory with which: the bookkeeping behind the refusal of a recorded write
(``autograd.inplace_record``) into memory another live tensor reads without the write's gradient.

A view an op makes (``x[i]``, ``x.T``, a split piece) is marked ``_viewed`` for good: it
shares its owner's memory for as long as it lives. The owner instead keeps weak references to
its views (``_views``, one list that the views of its views join too), so that it is free
again once they are gone: ``x[t].unsqueeze_(0).clone()`` in one step of a loop does not
forbid a later ``x[t, mask, 0] = y`` that carries a gradient (the DeepAR port writes both).
``Function.apply`` marks them where an op makes a view (``_share_count`` in function.py).
``detach()`` and ``.data`` make aliases instead (``_base``, a weak reference to the original):
PyTorch links an alias to its original by neither values' gradient nor view, so a recorded
write into one (``delta.data[:n] = clamp(delta[:n], lo, hi)``) is no concern of the other.
"""

from __future__ import annotations

import weakref
from typing import NamedTuple

from .mode import _grad_enabled


class ViewRefs(list):
    """Weak references to the live views of one memory, pruned as it grows."""

    limit = 16  # prune once longer than this; doubling it keeps the pruning linear overall

    owner = None  # a weak reference to the tensor whose memory it is (owner_of), set by makers

    def prune(self) -> None:
        self[:] = [r for r in self if r() is not None]
        self.limit = max(16, 2 * len(self))

    def alive(self) -> bool:
        return any(r() is not None for r in self)


def shares_memory(t) -> bool:
    """Whether another live tensor sees ``t``'s memory: ``t`` is a view or ``.data`` of one, a
    detached alias of a live tensor, or a view of ``t`` is alive."""
    if getattr(t, "_viewed", False):
        return True
    refs = getattr(t, "_views", None)
    if refs is not None and refs.alive():
        return True
    base = getattr(t, "_base", None)
    return base is not None and base() is not None


def shares_memory_as_view(t) -> bool:
    """Whether ``t`` is an op's view of another tensor or one of its views is alive: the
    tensors that PyTorch's graph would link to a write into ``t`` (``shares_memory`` less the
    ``detach()``/``.data`` aliases, which it does not link)."""
    if getattr(t, "_viewed", False):
        return True
    refs = getattr(t, "_views", None)
    return refs is not None and refs.alive()


def owner_of(t):
    """The constant tensor whose memory ``t``, a view made outside the graph, shows (``dC[ix]``
    of ``dC = zeros_like(C)`` written with a value that requires grad, as makemore's
    ``dC[ix] += demb[k, j]``), through which ``inplace_record`` then records the write, as
    PyTorch's graph does; None where ``t`` is no view, or the owner is gone, in the graph or of
    another dtype. The list of a memory's views names the tensor that owns it."""
    refs = getattr(t, "_views", None) if getattr(t, "_viewed", False) else None
    owner = None if refs is None or refs.owner is None else refs.owner()
    if owner is None or owner is t or owner.requires_grad or owner._data.dtype != t._data.dtype:
        return None
    return owner


def link_view(out, t) -> None:
    """Make ``out`` a view of ``t`` where the array cannot say so itself (a strided array made by
    NumPy's stride tricks has no ``base`` of ``t``'s): the same bookkeeping as ``Function.apply``
    does for an op's view (``_share_count`` in function.py)."""
    out._counter = t._counter
    refs = getattr(t, "_views", None)
    if refs is None:
        refs = t._views = ViewRefs()
        refs.owner = weakref.ref(t)
    refs.append(weakref.ref(out))
    if len(refs) > refs.limit:
        refs.prune()
    out._views = refs
    out._viewed = True


class _RefusingCount(list):
    """The count of in-place changes of a tensor that is a copy where PyTorch gives a view:
    counting a change (what every in-place change does, after writing) raises, since the change
    did not reach the tensor the copy was taken from."""

    def __init__(self, why: str):
        super().__init__([0])
        self.why = why

    def __setitem__(self, i, value):
        raise RuntimeError(f"an in-place change of a copy that PyTorch would give as a view: "
                           f"{self.why}")


def refuse_in_place(copy, why: str) -> None:
    """Make ``copy`` (and its views and ``detach()`` aliases, which share its count) refuse
    in-place changes, saying ``why``."""
    copy._counter = _RefusingCount(why)


def refuses_in_place(t) -> bool:
    """Whether ``t`` is a copy made by ``refuse_in_place`` (or a view or alias of one)."""
    return isinstance(t._counter, _RefusingCount)


def track_copy(copy, source, conj: bool = False) -> None:
    """Remember ``copy``, ``source``'s values reshaped where PyTorch gives a view (``view``
    that NumPy could not make), with ``source``'s memory, so that an in-place change of that
    memory is carried into the copy (``refresh_copies``) as it would show in PyTorch's view.
    The source's array is kept (not the tensor, often a temporary: ``x.t().view(-1)``), and so
    are the copy's array, count and list of views (its views, ``x.mH.imag``, outlive it);
    ``conj``: the copy is its conjugate (``x.mH``, PyTorch's lazy conjugate view)."""
    refs = getattr(source, "_views", None)
    if refs is None:
        refs = source._views = ViewRefs()
        refs.owner = weakref.ref(source)
    if getattr(refs, "copies", None) is None:
        refs.copies = []
    copies_of(source)  # drop the copies no tensor sees any more
    if getattr(copy, "_views", None) is None:
        copy._views = ViewRefs()  # the views of the copy will join it
        copy._views.owner = weakref.ref(copy)
    refs.copies.append(_Copy(weakref.ref(copy), copy._data, copy._counter, copy._views,
                             source._data, conj))


class _Copy(NamedTuple):
    tensor: object  # a weak reference to the copy
    data: object
    counter: list
    views: ViewRefs
    source: object
    conj: bool


def copies_of(t) -> list:
    """The ``_Copy`` entries still seen by a tensor (the copy or a view of it) tracked for
    ``t``'s memory."""
    refs = getattr(t, "_views", None)
    if refs is None and getattr(t, "_base", None) is not None and t._base() is not None:
        refs = getattr(t._base(), "_views", None)  # a detach() or .data alias of the owner
    pairs = getattr(refs, "copies", None)
    if not pairs:
        return []
    pairs[:] = [c for c in pairs if c.tensor() is not None or c.views.alive()]
    return list(pairs)


def refresh_copies(t) -> None:
    """After an in-place change of ``t``'s memory: each tracked copy takes its source's new
    values, and its count of changes moves on (a node that read it before sees the change)."""
    for c in copies_of(t):
        refresh(c)


def refresh(c) -> None:
    values = c.source.reshape(c.data.shape)
    c.data[...] = values.conj() if c.conj else values
    list.__setitem__(c.counter, 0, c.counter[0] + 1)  # past the refusal


def parameter_view_alias(t, arr, who: str):
    """A writable alias of ``arr``, the read-only array of ``t``, where ``t`` is an op's view of
    a Parameter's values (``p[0]``, ``p.diagonal()``, ``p.reshape(...)``, also of its
    ``detach()``) that counts its changes with the Parameter's: PyTorch changes such a view in
    place under ``no_grad`` (``emb.weight[pad].zero_()``, ``w.diagonal().fill_(0)``). The
    Parameter's array is read-only only so that raw NumPy writes, which nothing counts, fail.
    None where ``t`` is no such view. A view made while nothing was recorded, of a Parameter
    that requires grad, changed while gradients are recorded: PyTorch's RuntimeError."""
    owner = memory_owner(t)
    while owner is not None and owner._writable() is owner._data:  # a detach() of it
        ref = getattr(owner, "_base", None)
        owner = None if ref is None else ref()
    if owner is None or owner._counter is not t._counter:
        return None
    memory = owner._writable()
    if (memory if memory.base is None else memory.base) is not arr.base:
        return None  # not inside the Parameter's memory
    if owner.requires_grad and _grad_enabled.get():
        raise RuntimeError(
            f"{who}: a view of a Parameter (shape {tuple(t.shape)}) made while gradients were "
            "not recorded is being changed in place while they are; make and change the view "
            "both inside `with cr.no_grad():` (the change untracked) or both outside it")
    alias = arr.view()
    alias.flags.writeable = True
    return alias


def memory_owner(t):
    """The live tensor whose memory ``t``, an op's view, shows and whose count of in-place
    changes it shares (the owner its list of views names); None where there is none."""
    refs = getattr(t, "_views", None)
    owner = None if refs is None or refs.owner is None else refs.owner()
    return owner if owner is not None and owner._counter is t._counter else None

