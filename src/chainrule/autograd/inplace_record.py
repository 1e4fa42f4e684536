"""Recorded in-place changes: ``y.relu_()``, ``y.mul_(w)``, ``y[mask] = v`` on tensors in a graph.

PyTorch records an in-place op on a tensor computed by an op (or on a fresh buffer, with a value
that requires grad), and so does chainrule, this way:

* The new values are computed out of place, with chainrule ops, from a *stand-in* for the old
  values, then written into the target's own memory (aliases and views see them, as in PyTorch),
  the change is counted (``_version``), and the new op's node becomes the target's ``_ctx``.
* The stand-in holds a **copy** of the old values with a count of its own, and takes the target's
  place as the output of the node that made it (``_stand_in``): that node's backward may read its
  output (``exp``, ``sigmoid``, ``tanh``), and the new op's may read its input (``y.mul_(w)``
  needs the old ``y`` for ``w``'s gradient). One copy per recorded in-place op is the price.
  (A write onto an earlier write's node shares the memory instead: neither reads values.)
* Writes by index (``t[i] = v``, ``copy_``) become a ``write.WriteInto`` node chained onto the
  earlier node: the gradient reaches the earlier values where nothing was written, ``v`` where
  something was.
* A target that is a view of another tensor in the graph (``y[:2]``, ``y.t()``, ``y[0]``) is
  written through its *root* (the tensor whose memory it shows): the root gets a ``WriteInto``
  at the view's positions, and the view becomes ``TakeAt`` of the new root. So ``y[:2] += 1``
  and ``v = y[:2]; v.mul_(2)`` change ``y`` and give PyTorch's gradients.

A node that read the target *before* the change keeps the old tensor object as its input. One
that does not read its inputs' values (indexing: ``y[0] = y[0] * 2``, VoxelMorph's
``new_locs[:, i] = 2 * (new_locs[:, i] / (n - 1) - 0.5)``) is rerouted at backward to the
stand-in of the version it read (``Tensor._earlier``, ``graph._reroute``), as PyTorch's graph
would connect it (``autograd/reroute.py``). Stricter than PyTorch: a node that reads values
refuses with the "modified by an inplace operation" error, even where PyTorch's would not have
read them (``z = y * 2; y.add_(1); z.sum().backward()``). Refused outright: a leaf that requires
grad or a view of one (as in PyTorch); a tensor that does not require grad but shares its memory
with a view (one a view was made of) when the value requires grad: the other tensor would see
the values without the gradient. A view made outside the graph of a constant (``dC[ix] += v``)
is written through that constant (``views.owner_of``), which then carries the gradient. A
``detach()`` or ``.data`` alias is written and recorded as its own tensor, as in PyTorch: the
original sees the values only.
"""

from __future__ import annotations

import weakref

from ..backend import get_array_module
from .anomaly_mode import _enabled as _anomaly_enabled
from .anomaly_mode import remember_forward
from .function import Function
from .mode import _grad_enabled, _trace_recorder, no_grad
from .opaque_views import refuse_opaque_view
from .promotion import check_in_place
from .tensor import Tensor
from .view_replay import _addresses, _pointer, keep_earlier, other_views, rebuild, rebuild_copies
from .views import owner_of, shares_memory_as_view
from .write import TakeAt, WriteInto, put, take

__all__ = ["change", "needs_record", "record_write", "refuse_trace", "reshape_in_place"]


def needs_record(t: Tensor, values) -> bool:
    """Whether changing ``t`` with ``values`` is recorded: gradients are recorded and ``t`` or a
    value requires grad."""
    if not _grad_enabled.get():
        return False
    return t.requires_grad or any(isinstance(v, Tensor) and v.requires_grad for v in values)


def _refuse(who, t, reason):
    raise RuntimeError(
        f"{who}: the tensor of shape {t.shape} cannot be modified in place while gradients are "
        f"recorded: {reason}")


def _root_of(t: Tensor, who: str):
    """``(root, positions)``: the tensor whose memory ``t`` shows, found through the view ops of
    the graph (a view shares its input's count of changes), and ``t``'s flat positions in it
    (None when ``t`` is its own root)."""
    if t._ctx is None:
        if t.requires_grad:  # a leaf that requires grad: refused, as in PyTorch
            from .inplace import writable_array  # a sibling module that imports this one

            writable_array(t, who)
        root = owner_of(t)  # a view made outside the graph, of a constant (views.owner_of)
        return (t, None) if root is None else (root, _positions(t._data, root._data, who, t))
    cur = t
    while cur._ctx is not None and cur._ctx.inputs is not None:
        base = next((x for x in cur._ctx.inputs if x._counter is cur._counter), None)
        if base is None:
            break
        refuse_opaque_view(who, t, cur._ctx)
        cur = base
    if cur is t:
        return t, None
    if cur._ctx is None and cur.requires_grad:
        _refuse(who, t, "it is a view of a leaf that requires grad; change the leaf under "
                        "`with cr.no_grad():`, or compute a new tensor out of place")
    if not cur.requires_grad or cur._data.dtype != t._data.dtype:
        _refuse(who, t, f"it is a view of a tensor of shape {cur.shape} that the gradient could "
                        "not follow into; compute the result out of place (y = y.relu())")
    return cur, _positions(t._data, cur._data, who, t)


def _positions(view, root, who, t):
    """The flat (C-order) positions in ``root`` of the elements of ``view``, from their addresses;
    RuntimeError where they are not distinct elements of ``root``."""
    xp = get_array_module(root)
    flat = _addresses(root).reshape(-1)
    order = xp.argsort(flat, kind="stable")
    ranked = flat[order]
    wanted = _addresses(view)
    at = xp.minimum(xp.searchsorted(ranked, wanted), max(ranked.size - 1, 0))
    if ranked.size == 0 or bool((xp.diff(ranked) == 0).any()) or not bool(
            (ranked[at] == wanted).all()):
        _refuse(who, t, "its memory is not a set of distinct elements of the tensor it is a view "
                        "of; compute the result out of place")
    positions = order[at]
    if xp.unique(positions).size != positions.size:
        _refuse(who, t, "more than one of its elements is one memory location (an expand()); "
                        "clone() it first")
    return positions


def _stand_in(t: Tensor, copy: bool = True) -> Tensor:
    """A stand-in for ``t``'s values before a recorded change: a copy with a count of its own, at
    ``t``'s version, put in ``t``'s place as the output of ``t``'s node (without ``copy``: ``t``'s
    memory, at the version the node made, for a write onto a write). A constant ``t`` gets a
    constant copy."""
    if t._ctx is None:
        return Tensor(t._data.copy())
    node, k = t._ctx, t._out_idx
    made = getattr(node, "_out_versions", None)
    standin = Tensor(t._data.copy() if copy else t._data)
    standin._counter = [t._counter[0] if copy or made is None else made[k]]
    standin.requires_grad = True
    standin._ctx = node
    standin._out_idx = k
    if hasattr(node, "_outputs"):  # not a node a backward already released
        outs = list(node._outputs)
        outs[k] = weakref.ref(standin)
        node._outputs = tuple(outs)
    earlier = getattr(t, "_earlier", None)  # nodes that read t at this version: graph.reroute
    if earlier is None:
        earlier = t._earlier = {}
    # a copy is kept alive by the node of the change, as long as the graph; one that shares the
    # memory costs nothing and may have no other holder (a view's earlier node: _rewrite)
    earlier[t._counter[0]] = weakref.ref(standin) if copy else standin
    return standin


def _undo(t: Tensor, standin):
    """Give ``t`` back its place as its node's output after a change failed."""
    if standin is not None and standin._ctx is not None and hasattr(standin._ctx, "_outputs"):
        outs = list(standin._ctx._outputs)
        outs[t._out_idx] = weakref.ref(t)
        standin._ctx._outputs = tuple(outs)


def _attach(node: Function, inputs, t: Tensor) -> None:
    """Make ``node`` (made without ``apply``) ``t``'s ``_ctx``: ``Function.apply``'s bookkeeping
    for a node with one output whose values are already in ``t``."""
    node.recording = True
    node.inputs = tuple(inputs)
    node.needs_input_grad = tuple(x.requires_grad for x in inputs)
    node._versions = [x._counter[0] for x in inputs]
    node._outputs = (weakref.ref(t),)
    node._out_meta = ((t._data.shape, t._data.dtype),)
    node._out_versions = (t._counter[0],)
    t.requires_grad = True
    t._ctx = node
    t._out_idx = 0
    if _anomaly_enabled.get():
        remember_forward(node)


def _new(cls, **settings):
    node = object.__new__(cls)
    node.__dict__.update(settings)
    return node


def _adopt(t: Tensor, result: Tensor) -> None:
    """Make ``t`` the output of ``result``'s node in its place (its values are in ``t``)."""
    node, k = result._ctx, result._out_idx
    outs, made = list(node._outputs), list(node._out_versions)
    outs[k], made[k] = weakref.ref(t), t._counter[0]
    node._outputs, node._out_versions = tuple(outs), tuple(made)
    t.requires_grad = True
    t._ctx = node
    t._out_idx = k


def _conform(result, t: Tensor, who: str) -> Tensor:
    """``result`` as a Tensor of ``t``'s shape and dtype (a float result is not truncated into an
    integer tensor)."""
    if not isinstance(result, Tensor):
        result = Tensor(get_array_module(t._data).asarray(result))
    if result._data.shape != t._data.shape:
        raise RuntimeError(f"{who}: the result has shape {result.shape}, which does not match the "
                           f"shape {t.shape} of the tensor changed in place (in-place ops do not "
                           "broadcast the tensor itself)")
    got, want = result._data.dtype, t._data.dtype
    if got != want:
        check_in_place(who, t, got)  # PyTorch's RuntimeError: no float into an integer tensor
        result = result.astype(want) if result.requires_grad else Tensor(result._data.astype(want))
    return result


def _memory(t, who):
    from .inplace import _memory as memory  # a sibling module that imports this one

    return memory(t, who)


def change(t: Tensor, who: str, compute, values=(), plain=None) -> Tensor:
    """Change ``t`` in place to ``compute(x)``, a Tensor computed with chainrule ops from ``x``,
    ``t``'s values; ``values`` are the other arguments (recorded when one requires grad).

    Recorded (``needs_record``): computed from a stand-in and written into ``t``'s memory (see the
    module docstring). Otherwise ``plain(array)`` writes in place where given (the fast path of
    ``add_`` and friends), else ``compute(t)`` runs under ``no_grad`` and is copied in.
    """
    if needs_record(t, values):
        _record_change(t, who, compute)
        return t
    from .inplace import mark_changed, writable_array

    arr = writable_array(t, who)
    if plain is not None:
        plain(arr)
    else:
        with no_grad():
            result = _conform(compute(t), t, who)
        arr[...] = result._data
    mark_changed(t)
    return t


def reshape_in_place(t: Tensor, who: str, new, recorded) -> Tensor:
    """``t`` (computed by recorded ops) given the shape of ``new(array)`` in place, as PyTorch
    records ``y.unsqueeze_(0)``: a stand-in copy takes its place under its node, and ``t`` becomes
    ``recorded(stand-in)`` (the view op). A view of another tensor in the graph is first written
    with its own values through its root (a fresh ``TakeAt`` of the root's new version, as after
    any write into a view), whose positions then take the new shape."""
    root, positions = _root_of(t, who)
    if root is not t:
        _change_view(t, root, positions, who, lambda x: x)
        node = t._ctx
        node.positions = new(node.positions)
        t._data = new(t._data)
        node._out_meta = ((t._data.shape, t._data.dtype),)
        return t
    old = _stand_in(t)
    try:
        result = recorded(old)
    except BaseException:
        _undo(t, old)
        raise
    t._data = new(t._data)
    t._mark_changed()  # a node that read it before is pointed at the stand-in, or refuses
    _adopt(t, result)
    return t


def refuse_trace(who):
    """Raise ``TraceError`` while ``chainrule.trace`` records: a write is not an op it replays."""
    if _trace_recorder.get() is not None:
        from .tracing import TraceError  # a sibling module that imports function.py

        raise TraceError(f"trace: {who} changes a tensor in place, which a trace cannot replay "
                         "(it records ops, not writes); compute the result out of place "
                         "(y = y.relu(), cr.where, masked_fill)")


def _shared_constant(t: Tensor, who: str) -> None:
    if t._data.dtype.kind not in "fc":
        _refuse(who, t, f"the value requires grad, but the target has dtype {t._data.dtype}")
    if shares_memory_as_view(t):
        _refuse(who, t, "the value requires grad, but the target shares its memory with another "
                        "tensor (it is a view of one, or a view of it was made) that would see "
                        "the values without their gradient, so it would be lost; compute the "
                        "result out of place (cr.where, cat/stack, scatter, index_add...), "
                        "clone() the target first, or write v.detach() if no gradient should "
                        "reach it")


def _record_change(t: Tensor, who: str, compute) -> None:
    root, positions = _root_of(t, who)
    if root is not t:
        return _change_view(t, root, positions, who, compute)
    if not t.requires_grad:
        _shared_constant(t, who)
    arr = _memory(t, who)
    old = _stand_in(t)
    try:
        result = _conform(compute(old), t, who)
        arr[...] = result._data
    except BaseException:
        _undo(t, old)
        raise
    others = other_views(t, None)
    keep_earlier(others)
    t._mark_changed()
    node = result._ctx
    fresh = (result.requires_grad and node is not None and node is not old._ctx
             and node._outputs[result._out_idx]() is result)
    if fresh:
        _adopt(t, result)
    elif old.requires_grad:  # a constant result (sign_, eq_...): the earlier values get zeros
        _attach(_new(WriteInto, index=Ellipsis, chained=True), (old, result), t)
    elif result.requires_grad:
        _attach(_new(WriteInto, index=Ellipsis, chained=False), (result,), t)
    rebuild(t, others)
    rebuild_copies(t)


def _change_view(t, root, positions, who, compute) -> None:
    """``t`` (a view of ``root``) changed to ``compute(t)``: ``root`` written at ``t``'s
    positions, ``t`` then its new values' ``TakeAt``."""
    arr = _memory(root, who)
    earlier = _stand_in(root)
    try:
        old = TakeAt.apply(earlier, positions=positions)
        result = _conform(compute(old), t, who)
        index = get_array_module(positions).unravel_index(positions, root._data.shape)
        put(arr, index, result._data)
    except BaseException:
        _undo(root, earlier)
        raise
    _rewrite(root, earlier, index, result, t, positions)


def _rewrite(root, earlier, index, value, view, positions) -> None:
    """The bookkeeping after ``root[index] = value`` was written: count it, chain a ``WriteInto``
    onto ``root``'s earlier node, and rebuild ``view`` (None: none) from the new ``root``."""
    if view is not None and view._ctx is not None:
        _stand_in(view, copy=False)  # its earlier node's output, for nodes that read it (reroute)
    others = other_views(root, view)
    keep_earlier(others)
    root._mark_changed()
    if earlier is None:
        _attach(_new(WriteInto, index=index, chained=False), (value,), root)
    else:
        _attach(_new(WriteInto, index=index, chained=True), (earlier, value), root)
    if view is not None:
        _attach(_new(TakeAt, positions=positions), (root,), view)
    rebuild(root, others)
    rebuild_copies(root)


def _same_memory(a, b) -> bool:
    return (a.shape == b.shape and a.dtype == b.dtype and a.strides == b.strides
            and type(a) is type(b) and _pointer(a) == _pointer(b))


def _region(arr, index):
    """``arr[index]`` for a basic index, as a view even where it names one element (NumPy gives
    a copy of it, a scalar, for ints alone; ``t[1] += v`` writes back a 0-d view)."""
    items = index if isinstance(index, tuple) else (index,)
    if not any(i is Ellipsis for i in items):
        items = (*items, Ellipsis)
    return arr[items]


def record_write(t: Tensor, index, value, who: str) -> None:
    """``t[index] = value`` recorded: a ``WriteInto`` node becomes the ``_ctx`` of ``t`` (or of
    the root ``t`` is a view of), through which the gradient reaches ``value`` at the written
    positions and the earlier values elsewhere.

    Refused (RuntimeError): a target that is not a float or complex tensor; a leaf that requires
    grad, or a view of one; a constant target that shares its memory with another tensor; an index
    that is not ints, slices, None, Ellipsis, boolean masks or integer arrays (``index`` holds
    arrays, not lists or Tensors), or that names a position twice (which value is kept is
    undefined).
    """
    def refuse(reason):
        _refuse(who, t, f"{reason}, so the gradient could not be followed")

    if t._data.dtype.kind not in "fc":
        refuse(f"the target has dtype {t._data.dtype}")
    xp = get_array_module(t._data)
    arrays, basic = False, True
    for item in index if isinstance(index, tuple) else (index,):
        kind = getattr(getattr(item, "dtype", None), "kind", None)
        if kind in ("i", "u") and item.ndim > 0:
            arrays, basic = True, False
        elif kind == "b":
            basic = False
        elif not (item is None or item is Ellipsis or isinstance(item, slice)
                  or (hasattr(item, "__index__") and not isinstance(item, bool))):
            refuse(f"the index holds a {type(item).__name__} ({item!r}); ints, slices, None, "
                   "Ellipsis, boolean masks and integer arrays are recorded")
    if (basic and isinstance(value, Tensor) and value.requires_grad
            and _same_memory(_region(t._data, index), value._data)):
        return  # the values are already there: `y[:2] += 1` ends with `y[:2] = (that view)`
    root, positions = _root_of(t, who)
    if root is t:
        if not t.requires_grad:
            _shared_constant(t, who)
        place = index
        if arrays:
            spots = take(xp.arange(t._data.size).reshape(t._data.shape), index)
            if xp.unique(spots).size != spots.size:
                refuse("the integer index names a position more than once (which value would be "
                       "kept is undefined)")
    else:
        spots = take(positions, index)
        if xp.unique(spots).size != spots.size:
            refuse("the integer index names a position more than once (which value would be kept "
                   "is undefined)")
        place = xp.unravel_index(spots, root._data.shape)
    from .inplace import _value

    arr = _memory(root, who)
    if not isinstance(value, Tensor):
        value = Tensor(xp.asarray(_value(arr, value)))  # a constant: 0 gradient where written
    earlier = None
    if root._ctx is not None:
        earlier = _stand_in(root, copy=not isinstance(root._ctx, WriteInto))
    read_at = value._counter[0]  # before the write: a view of root (`z[0] = z[1]`) shares it
    try:
        put(arr, place, _value(arr, value))
    except BaseException:
        _undo(root, earlier)
        raise
    _rewrite(root, earlier, place, value, None if root is t else t, positions)
    root._ctx._versions[-1] = read_at
