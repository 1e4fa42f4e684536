"""The other views of a tensor written in place under recording, rebuilt on its new values.

PyTorch gives a view of a tensor that was changed in place (through itself or another view) a
new node when it is next used: the view of the tensor's new version, so that ``a = y[:, :2];
y.mul_(2); a.sum().backward()`` reaches the write. ``inplace_record`` does the same, at the
write, for every live view of the written memory that the graph can follow: the view's earlier
node keeps a stand-in (for the nodes that read it before, as the written view's does), and the
view becomes a ``TakeAt`` of the root's new version at its positions. Views it cannot follow are
left as they were (their next use in backward refuses, as before): those of another dtype
(``real``, ``view_as_real``), those naming one element twice (``expand``), those made outside
the graph.
"""

from __future__ import annotations

from ..backend import get_array_module
from .views import copies_of, refresh
from .write import TakeAt


def _pointer(a) -> int:
    face = getattr(a, "__array_interface__", None)
    return face["data"][0] if face is not None else a.data.ptr


def _addresses(a):
    """The byte address of each element of ``a`` (an int64 array of ``a``'s shape)."""
    xp = get_array_module(a)
    out = xp.full(a.shape, _pointer(a), dtype="int64")
    for k, (n, step) in enumerate(zip(a.shape, a.strides)):
        shape = [1] * a.ndim
        shape[k] = n
        out = out + (xp.arange(n, dtype="int64") * step).reshape(shape)
    return out


def other_views(root, skip) -> list:
    """``[(view, positions)]``: the live views of ``root``'s memory, other than ``root`` and
    ``skip``, that can be rebuilt from ``root``, with their flat positions in it."""
    refs = getattr(root, "_views", None)
    views = [] if refs is None else [r() for r in refs]
    views = [v for v in views if v is not None and v is not root and v is not skip
             and v._ctx is not None and v._counter is root._counter
             and v._data.dtype == root._data.dtype]
    found, locate = [], None
    for v in views:
        node = v._ctx
        if type(node) is TakeAt and (getattr(node, "inputs", None) or (None,))[0] is root:
            found.append((v, node.positions))  # rebuilt before: the same places, one array
            continue
        if locate is None:
            locate = _locator(root._data)
        positions = locate(_addresses(v._data))
        xp = get_array_module(root._data)
        if positions is not None and xp.unique(positions).size == positions.size:
            found.append((v, positions))
    return found


def _locator(arr):
    """A function from element addresses to flat positions in ``arr`` (None: not all in it)."""
    xp = get_array_module(arr)
    if arr.flags.c_contiguous:  # the usual buffer: arithmetic, no search
        start, size, item = _pointer(arr), arr.size, arr.itemsize

        def locate(wanted):
            offsets = wanted - start
            if offsets.size and (bool((offsets % item).any()) or int(offsets.min()) < 0
                                 or int(offsets.max()) >= size * item):
                return None
            return offsets // item

        return locate
    flat = _addresses(arr).reshape(-1)
    order = xp.argsort(flat, kind="stable")
    ranked = flat[order]

    def search(wanted):
        at = xp.minimum(xp.searchsorted(ranked, wanted), max(ranked.size - 1, 0))
        if ranked.size == 0 or not bool((ranked[at] == wanted).all()):
            return None
        return order[at]

    return search


def keep_earlier(views) -> None:
    """Before the write is counted: each view's earlier node keeps a stand-in of it."""
    from .inplace_record import _stand_in

    for v, _ in views:
        _stand_in(v, copy=False)


def rebuild(root, views) -> None:
    """After the write is counted: each view a ``TakeAt`` of ``root``'s new version."""
    from .inplace_record import _attach, _new

    for v, positions in views:
        _attach(_new(TakeAt, positions=positions), (root,), v)


def rebuild_copies(root) -> None:
    """After a recorded write into ``root``'s memory is counted: each copy tracked for it (a
    ``view`` NumPy could not make) takes the new values and becomes a ``TakeAt`` of ``root`` at
    its source's positions, reshaped as the copy; one whose source is not found in ``root``
    keeps its node, whose use then refuses (its count moved on)."""
    from .inplace_record import _attach, _new, _stand_in

    pairs = copies_of(root)
    locate = _locator(root._data) if pairs else None
    for c in pairs:
        copy, at = c.tensor(), None  # a conjugate is no TakeAt: its node refuses, count moved
        if copy is not None and c.source.dtype == root._data.dtype and not c.conj:
            at = locate(_addresses(c.source))
        if copy is not None and copy._ctx is not None and at is not None:
            _stand_in(copy, copy=False)
        refresh(c)
        if at is not None:
            _attach(_new(TakeAt, positions=at.reshape(c.data.shape)), (root,), copy)
