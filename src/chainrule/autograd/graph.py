"""The backward pass: walk the recorded graph from outputs back to leaves, applying the chain rule.

The walk is iterative (no recursion limit), orders the nodes topologically once, visits each node
once with the sum of all gradients that reached it, and frees saved values behind it unless
``retain_graph`` is set. A leaf's gradient is added to its ``.grad`` here too
(``_accumulate_leaf``); the gradient hooks the walk runs are in post_accumulate.py.
"""

from __future__ import annotations

from ..backend import MetaArray, get_array_module, numpy
from . import anomaly_mode
from .grad_checks import cast_gradient, shape_error
from .mode import _grad_enabled
from .post_accumulate import (
    accumulate_hooked,
    retain_outputs,
    run_hooks,
    run_node_hooks,
    sum_with_sparse,
)
from .reroute import refuse_cut, refuse_stale_reads, reroute
from .tensor import Tensor

__all__ = ["Node", "backward", "disable_saved_tensors_hooks", "increment_version",
           "register_multi_grad_hook", "run_backward", "save_on_cpu", "saved_tensors_hooks"]

# Set by chainrule.profiler while a profile records (None otherwise): called as
# ``observer(node, call, *args)`` in place of ``call(*args)``, a node's backward. Read once a walk.
_node_observer = None

_FREED = ("backward: the graph's saved values were already freed by an earlier backward(); pass "
          "retain_graph=True to the first backward() to go through the same graph twice")


def backward(tensors, grad_tensors=None, *, retain_graph=False, create_graph=False) -> None:
    """Accumulate d(sum of tensors * grad_tensors)/d(leaf) into every leaf's ``.grad``."""
    run_backward(tensors, grad_tensors, retain_graph=retain_graph or create_graph,
                 create_graph=create_graph)


def _topological_order(roots):
    """Nodes reachable from ``roots``, each after every node that feeds it (iterative DFS).

    A node met again while it is still being expanded closes a cycle, which only an in-place
    change can make (``y.atan2_(y + 1)``: the addition read ``y``, whose node is now the one it
    feeds); the walk would drop gradients there, so it is an error."""
    order, visited, done, stack = [], set(), set(), []
    for t in roots:
        if t._ctx is not None:
            stack.append((t._ctx, False))
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            order.append(fn)
            done.add(id(fn))
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        if fn.inputs is None:
            raise RuntimeError(_FREED)
        for t, v in zip(fn.inputs, fn._versions):
            made = getattr(t._ctx, "_out_versions", None)
            if made is not None and made[t._out_idx] != v:  # changed since fn read it
                reroute(fn, _modified)  # back to the values fn read (autograd/reroute.py)
                break
        stack.append((fn, True))
        for t in fn.inputs:
            ctx = t._ctx
            if ctx is None:
                continue
            if id(ctx) not in visited:
                stack.append((ctx, False))
            elif id(ctx) not in done:
                _modified(fn, t, f"after {type(fn).__name__} used it as an input (a value "
                                 "computed from a tensor was written into it in place)")
    return order


def _needed_nodes(order, targets):
    """Ids of the nodes through which some target is reachable (the rest need no backward call)."""
    needed = set()
    for fn in order:  # inputs come before the nodes they feed
        for t in fn.inputs:
            if id(t) in targets or (t._ctx is not None and id(t._ctx) in needed):
                needed.add(id(fn))
                break
    return needed


def run_backward(tensors, grad_tensors, *, retain_graph, create_graph, targets=None,
                 who="backward", hooks=True):
    """Propagate ``grad_tensors`` (None: 1 for a one-element output) from ``tensors`` to the leaves.

    With ``targets`` (a dict id -> Tensor) the gradients reaching those tensors are returned as a
    dict id -> grad and no ``.grad`` is touched; without it they accumulate into the leaves'
    ``.grad``. ``who`` names the caller in error messages. ``hooks=False`` (the walk inside
    one op's ``create_graph`` backward) runs no ``register_hook`` hooks: the outer walk does.

    The walk runs with NumPy's floating-point warnings off (one ``errstate`` a walk, restored
    after it, not one an op): PyTorch's backward gives inf and nan (the gradient of sqrt or log
    at 0, of x / y at y = 0) without a warning.
    """
    # 1. The roots and the gradients they start from: dLoss/dLoss = 1 for a scalar loss.
    roots = list(tensors)
    root_grads = [None] * len(roots) if grad_tensors is None else list(grad_tensors)
    if len(root_grads) != len(roots):
        raise ValueError(f"{who}: got {len(roots)} outputs but {len(root_grads)} grad_outputs")
    # id of each array handed out to a leaf's .grad (or given by the caller, as these) -> whether
    # the leaf took it without a copy this walk (see _accumulate_leaf)
    assigned: dict[int, bool] = {}
    for i, (t, g) in enumerate(zip(roots, root_grads)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: outputs must be Tensors, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(
                f"{who}: output of shape {t._data.shape} does not require grad (no input that "
                "requires grad was used to compute it, or it was computed under no_grad())"
            )
        if g is None:
            if t._data.dtype.kind == "c":
                raise RuntimeError(
                    f"{who}: gradient can be implicitly created only for real scalar outputs, "
                    f"got dtype {t._data.dtype}; backpropagate from a real loss (e.g. z.abs().sum()"
                    " or z.real.sum()) or pass grad")
            if t._data.size != 1:
                raise RuntimeError(
                    f"{who}: gradient can be implicitly created only for a one-element output, "
                    f"got shape {t._data.shape}; pass {'grad_outputs' if who == 'grad' else 'grad'}"
                    " (a tensor of that shape) or reduce it first, e.g. loss.sum()"
                )
            g = get_array_module(t._data).empty(t._data.shape, t._data.dtype)
            g.fill(1)  # ones(): NumPy's fills through a Python-level copyto, this in C
            g = Tensor(g)
        elif not isinstance(g, Tensor):
            g = Tensor(get_array_module(t._data).asarray(g, dtype=t._data.dtype))
        elif (g._data.dtype.kind == "c") != (t._data.dtype.kind == "c"):  # as PyTorch refuses
            raise RuntimeError(f"{who}: grad of dtype {g._data.dtype} for an output of dtype "
                               f"{t._data.dtype}; a complex output needs a complex grad, a real one"
                               " a real grad")
        if type(t._data) is MetaArray and type(g._data) is not MetaArray:  # gradients: meta too
            g = Tensor(MetaArray(g._data.shape, g._data.dtype))
        if g._data.shape != t._data.shape:
            raise ValueError(f"{who}: grad has shape {g._data.shape} but the output has shape "
                             f"{t._data.shape}")
        root_grads[i] = g
        assigned[id(g._data)] = False

    # 2. Every node once, after all the nodes its outputs feed: its gradient is then complete.
    order = _topological_order(roots)
    # id(node) -> (the gradients of its outputs, the output tensors that received them). Holding
    # the tensors keeps them alive: releasing a consumer drops its inputs, but the producer's
    # backward may still need its output (``self.output``).
    pending: dict[int, tuple[list, list]] = {}
    captured: dict[int, Tensor] = {}
    needed = None if targets is None else _needed_nodes(order, targets)
    waiting = {}  # id(leaf) -> (leaf, its gradient so far): leaves whose hooks see the sum
    hooked = set()  # ids of targets whose hooks ran when their node did

    # 3. The walk: deliver the roots' gradients, then run each node's backward (the chain rule)
    # and deliver what it returns to its inputs. The backward pass is recorded (a graph of its
    # own, to differentiate again) only for create_graph; the mode is put back however it ends.
    anomaly = anomaly_mode._enabled.get()  # detect_anomaly: checks and forward stacks
    watched = anomaly or _node_observer is not None  # either: each node through _watched_node
    fn = None
    mode = _grad_enabled.set(create_graph)
    (errors := numpy.errstate(all="ignore")).__enter__()  # no NumPy warnings (see above)
    try:
        arrivals = zip(roots, root_grads)  # (tensor, its gradient) pairs to deliver
        nodes = reversed(order)
        while True:
            for t, g in arrivals:
                if targets is not None and id(t) in targets:
                    c = captured.get(id(t))
                    captured[id(t)] = g if c is None else c + g
                ctx = t._ctx
                if ctx is None:  # a leaf: its .grad (unless grad() asked for gradients instead)
                    if targets is None:
                        if t._hooks and hooks:  # summed first: the hooks see the whole gradient
                            w = waiting.get(id(t))
                            waiting[id(t)] = (t, g if w is None else w[1] + g)
                        else:
                            _accumulate_leaf(t, g, assigned)
                    continue
                entry = pending.get(id(ctx))
                if entry is None:
                    entry = pending[id(ctx)] = ([None] * len(ctx._outputs), [])
                slot, held = entry
                i = t._out_idx
                slot[i] = g if slot[i] is None else slot[i] + g  # a tensor used twice: sum
                held.append(t)
            fn = next(nodes, None)
            if fn is None:
                break
            arrivals = ()
            entry = pending.pop(id(fn), None)
            if entry is None or (needed is not None and id(fn) not in needed):
                continue
            gouts = entry[0]
            reads = fn.reads_inputs
            if reads:  # True, or a function of fn giving the inputs its backward reads
                for t, v in zip(fn.inputs, fn._versions):
                    if t._counter[0] != v:  # changed in place after the node read it
                        refuse_stale_reads(fn, _modified)  # if backward reads it
                        break
            if fn._grad_hooks is not None and hooks:  # register_hook on its outputs
                run_node_hooks(fn, gouts, captured, hooked,
                               (assigned, order, needed, targets, waiting))
            if len(gouts) == 1:  # the usual single-output node, without the helpers' calls
                out = fn._outputs[0]()
                if out is not None:
                    if out._counter[0] != fn._out_versions[0] and (
                            reads is not False if (ro := fn.reads_output) is None else ro):
                        _modified(fn, out, f"after {type(fn).__name__} computed it")
                    if out._retains_grad:
                        retain_outputs(fn, gouts)
            else:
                for t, made in zip(fn.outputs(), fn._out_versions):
                    if t is not None and t._counter[0] != made:
                        _modified(fn, t, f"after {type(fn).__name__} computed it")
                retain_outputs(fn, gouts)
                gouts = _fill_missing(fn, gouts)
            if watched or fn._node_hooks is not None:  # node_hooks.py: grad_fn.register_hook
                grads = _watched_node(fn, gouts, create_graph, targets, needed, anomaly, entry[0])
            elif create_graph and fn.composite is not None:
                grads = _through_composite(fn, gouts)  # its backward works on arrays
            elif needed is None:
                grads = fn.backward(*gouts)  # the chain rule, one node
            else:
                grads = _backward_toward(fn, gouts, targets, needed)
            if type(grads) is not tuple:
                grads = (grads,)
            if len(grads) != len(fn.inputs):  # zip would drop a gradient, or its input's
                raise RuntimeError(
                    f"{type(fn).__name__}.backward returned {len(grads)} gradients for "
                    f"{len(fn.inputs)} inputs (one per input, None where none is needed)")
            arrivals = []
            for inp, need, g in zip(fn.inputs, fn.needs_input_grad, grads):
                if not need or g is None:
                    continue
                try:
                    gd, d = g._data, inp._data
                except AttributeError:
                    if getattr(g, "is_sparse", False):  # chainrule.sparse (Embedding(sparse=True))
                        arrivals.append((inp, g if inp._ctx is None else g.to_dense()))
                        continue
                    raise TypeError(
                        f"{type(fn).__name__}.backward returned a {type(g).__name__} as a "
                        "gradient; return Tensors (or None)") from None
                if gd.shape != d.shape:
                    raise shape_error(fn, gd, d)
                if gd.dtype != d.dtype:  # mixed precision promoted g: it keeps x's dtype
                    g = cast_gradient(fn, g, d)  # unless that loses values (grad_checks.py)
                arrivals.append((inp, g))
            if not retain_graph:  # free what the node saved (fn.release())
                fn.__dict__.clear()
                fn.inputs = None
        for t, g in waiting.values():
            accumulate_hooked(t, g, _accumulate_leaf, (assigned, order, needed, targets, waiting))
        if targets is not None and hooks:  # grad(): the returned gradients pass the hooks too
            for i, g in captured.items():
                t = targets.get(i)
                if t is None or i in hooked:
                    continue
                node = t._ctx
                found = t._hooks if node is None else (node._grad_hooks or {}).get(t._out_idx)
                if found:
                    captured[i] = run_hooks(found, g, (assigned, order, needed, targets, waiting))
    except Exception as err:
        if anomaly and fn is not None:  # where the failing node was made, as a warning
            anomaly_mode.report(fn, err)
        raise
    finally:
        errors.__exit__(None, None, None)
        _grad_enabled.reset(mode)
    if not retain_graph:
        for fn in order:
            if fn.inputs is not None:
                fn.release()
    return captured


def _accumulate_leaf(t, g, assigned):
    """Add ``g`` to the leaf ``t``'s ``.grad``: the first gradient owns its memory, later ones add
    in place, and a sparse gradient (chainrule.sparse, e.g. ``Embedding(sparse=True)``'s) stays
    sparse until a dense one joins it (``assigned``: the walk's record of the arrays it handed
    out, see ``run_backward``)."""
    if not t.requires_grad:
        return refuse_cut(t)  # None, unless detach_() cut t after an op here had read it
    if not isinstance(g, Tensor) or (t.grad is not None and not isinstance(t.grad, Tensor)):
        t._grad = sum_with_sparse(t.grad, g)
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
        t._grad = g
    elif t.grad._data.shape != g._data.shape:  # .data given another shape after .grad was made
        raise RuntimeError(f"backward: .grad has shape {t.grad._data.shape}, the gradient reaching "
                           f"it {g._data.shape}; a .grad must have its tensor's shape")
    elif assigned.get(id(t.grad._data)) and t.grad._ctx is None and not t.grad.requires_grad:
        # The array this walk gave t without a copy: summing into it in place would change a
        # gradient still on its way to other nodes. A new array, which t then owns.
        t._grad = Tensor(t.grad._data + g._data)
        assigned[id(t.grad._data)] = False
    elif (_grad_enabled.get() or t.grad._ctx is not None or t.grad.requires_grad
          or not getattr(t.grad._data.flags, "writeable", True)):
        t._grad = t.grad + g  # recorded (create_graph): the sum is a node of the graph
    else:
        # In place, as PyTorch accumulates .grad: the leaf owns that memory (see above), and a
        # second path into the same weights (a GAN's critic on real and fake batches) then costs
        # one pass instead of a new array.
        data = t.grad._data
        data += g._data
        t.grad._counter[0] += 1  # t.grad._mark_changed(), inline: weights used often come here


def _watched_node(fn, gouts, create_graph, targets, needed, anomaly, received=None):
    """``fn``'s backward under anomaly mode, a profiler's observer, between its node hooks
    (node_hooks.py; ``received``: the gradients before ``_fill_missing``), or several."""
    if received is not None and fn._node_hooks is not None:
        return fn._node_hooks.around(fn, received, _fill_missing, lambda g: _watched_node(
            fn, g, create_graph, targets, needed, anomaly))
    args = (fn, gouts, create_graph, targets, needed)
    observer = _node_observer
    if observer is None:
        return anomaly_mode.run_node(fn, _call_node, *args) if anomaly else _call_node(*args)
    if anomaly:
        return observer(fn, anomaly_mode.run_node, fn, _call_node, *args)
    return observer(fn, _call_node, *args)


def _call_node(fn, gouts, create_graph, targets, needed):
    """The walk's call of ``fn``'s backward (the same three ways), for anomaly mode."""
    if create_graph and fn.composite is not None:
        return _through_composite(fn, gouts)
    if needed is None:
        return fn.backward(*gouts)
    return _backward_toward(fn, gouts, targets, needed)


def _backward_toward(fn, gouts, targets, needed):
    """``fn.backward(*gouts)`` for ``grad(outputs, inputs)``, asking only for the gradients that
    lead to ``inputs``: ``needs_input_grad`` is narrowed for the call, so that, say, a layer's
    weight gradient is not computed when only the input's is returned (an attack, a saliency
    map). It is put back after, for a later backward through the same graph."""
    recorded = fn.needs_input_grad
    fn.needs_input_grad = tuple(
        need and (id(t) in targets or (t._ctx is not None and id(t._ctx) in needed))
        for need, t in zip(recorded, fn.inputs))
    try:
        return fn.backward(*gouts)
    finally:
        fn.needs_input_grad = recorded


def _through_composite(fn, gouts):
    """The input gradients of ``fn`` as recorded functions of its inputs, for ``create_graph``.

    An op whose ``backward`` is array work (a kernel that backpropagates through a whole
    sequence) gives instead, as ``composite``, its forward written with recorded ops. That formula
    is rebuilt from the same inputs and differentiated here, with ``create_graph``, so that the
    gradients can be differentiated again: the op's own backward stays the one first-order rule.
    """
    outs = fn.composite(*fn.inputs)
    if type(outs) is not tuple:
        outs = (outs,)
    used = [(o, g) for o, g in zip(outs, gouts) if g is not None and o.requires_grad]
    wanted, firsts = {}, []
    for t, need in zip(fn.inputs, fn.needs_input_grad):
        first = need and id(t) not in wanted  # an input given twice gets its gradient once
        if first:
            wanted[id(t)] = t
        firsts.append(first)
    captured = run_backward([o for o, _ in used], [g for _, g in used], retain_graph=True,
                            create_graph=True, targets=wanted, who=type(fn).__name__,
                            hooks=False)
    return tuple(captured.get(id(t)) if first else None for t, first in zip(fn.inputs, firsts))


def _modified(fn, t, when):
    kind = type(t).__name__ if t._ctx is None else f"output of {type(t._ctx).__name__}"
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {kind} of shape {t.shape} is at version {t._version}, changed in place "
        f"{when}. Change weights under `with cr.no_grad():` and only between backward() and the "
        "next forward pass (an optimizer step after backward, not before it)"
    )


def _fill_missing(fn, gouts):
    """Zeros for outputs of a multi-output node that received no gradient."""
    if len(gouts) == 1 or not getattr(fn, "materialize_grads", True):  # custom: None arrives
        return gouts
    xp = get_array_module(*[g._data for g in gouts if g is not None])
    return [
        Tensor(xp.zeros(shape, dtype=dtype)) if g is None else g
        for g, (shape, dtype) in zip(gouts, fn._out_meta)
    ]


def increment_version(tensor) -> None:
    """Count one in-place change of ``tensor`` (or of each tensor of an iterable), as a write
    would: a graph that read it before refuses backward (PyTorch's
    ``torch.autograd.graph.increment_version``, for code that changes a tensor's memory behind
    autograd's back)."""
    tensors = [tensor] if isinstance(tensor, Tensor) else list(tensor)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"increment_version: expects a Tensor or an iterable of Tensors, got "
                            f"{type(t).__name__}")
        t._mark_changed()


# torch.autograd.graph's names for hooks (autograd/multi_grad.py, autograd/saved_hooks.py).
from .multi_grad import Node, register_multi_grad_hook  # noqa: E402
from .saved_hooks import disable_saved_tensors_hooks, save_on_cpu, saved_tensors_hooks  # noqa
