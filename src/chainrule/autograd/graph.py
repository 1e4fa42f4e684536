"""The backward pass: walk the recorded graph from outputs back to leaves, applying the chain rule.

The walk is iterative (no recursion limit), orders the nodes topologically once, visits each node
once with the sum of all gradients that reached it, and frees saved values behind it unless
``retain_graph`` is set.
"""

from __future__ import annotations

from ..backend import get_array_module
from .mode import _grad_enabled
from .tensor import Tensor

__all__ = ["backward", "run_backward"]

_FREED = (
    "backward: the graph's saved values were already freed by an earlier backward(); "
    "pass retain_graph=True to the first backward() to go through the same graph twice"
)


def backward(tensors, grad_tensors=None, *, retain_graph=False, create_graph=False) -> None:
    """Accumulate d(sum of tensors * grad_tensors)/d(leaf) into every leaf's ``.grad``."""
    roots, grads = _prepare_roots("backward", tensors, grad_tensors)
    run_backward(roots, grads, retain_graph=retain_graph or create_graph, create_graph=create_graph)


def _prepare_roots(who, tensors, grad_tensors):
    tensors = list(tensors)
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    grad_tensors = list(grad_tensors)
    if len(grad_tensors) != len(tensors):
        raise ValueError(
            f"{who}: got {len(tensors)} outputs but {len(grad_tensors)} grad_outputs"
        )
    roots, grads = [], []
    for t, g in zip(tensors, grad_tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: outputs must be Tensors, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(
                f"{who}: output of shape {t.shape} does not require grad (no input that requires "
                "grad was used to compute it, or it was computed under no_grad())"
            )
        if g is None:
            if t._data.size != 1:
                raise RuntimeError(
                    f"{who}: gradient can be implicitly created only for a one-element output, got "
                    f"shape {t.shape}; pass grad (a tensor of shape {t.shape}) or reduce it first, "
                    "e.g. loss.sum().backward()"
                )
            g = Tensor(get_array_module(t._data).ones_like(t._data))
        elif not isinstance(g, Tensor):
            xp = get_array_module(t._data)
            g = Tensor(xp.asarray(g, dtype=t._data.dtype))
        if g.shape != t.shape:
            raise ValueError(f"{who}: grad has shape {g.shape} but the output has shape {t.shape}")
        roots.append(t)
        grads.append(g)
    return roots, grads


def _topological_order(roots):
    """Nodes reachable from ``roots``, each after every node that feeds it (iterative DFS)."""
    order, visited, stack = [], set(), []
    for t in roots:
        if t._ctx is not None:
            stack.append((t._ctx, False))
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            order.append(fn)
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        if fn.inputs is None:
            raise RuntimeError(_FREED)
        stack.append((fn, True))
        for t in fn.inputs:
            ctx = t._ctx
            if ctx is not None and id(ctx) not in visited:
                stack.append((ctx, False))
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


def run_backward(roots, root_grads, *, retain_graph, create_graph, targets=None):
    """Propagate ``root_grads`` from ``roots`` through the graph.

    With ``targets`` (a dict id -> Tensor) the gradients reaching those tensors are returned as a
    dict id -> grad and no ``.grad`` is touched; without it they accumulate into the leaves'
    ``.grad``.
    """
    order = _topological_order(roots)
    # id(node) -> (the gradients of its outputs, the output tensors that received them). Holding
    # the tensors keeps them alive: releasing a consumer drops its inputs, but the producer's
    # backward may still need its output (``self.output``).
    pending: dict[int, tuple[list, list]] = {}
    captured: dict[int, Tensor] = {}
    needed = None if targets is None else _needed_nodes(order, targets)
    assigned: set[int] = set()  # ids of the arrays handed to a leaf's .grad (see _accumulate_leaf)
    for g in root_grads:
        assigned.add(id(g._data))

    def send(t, g):
        if targets is not None and id(t) in targets:
            c = captured.get(id(t))
            captured[id(t)] = g if c is None else c + g
        ctx = t._ctx
        if ctx is None:
            if targets is None:
                _accumulate_leaf(t, g, assigned)
            return
        entry = pending.get(id(ctx))
        if entry is None:
            entry = pending[id(ctx)] = ([None] * len(ctx._out_meta), [])
        slot, held = entry
        i = t._out_idx
        slot[i] = g if slot[i] is None else slot[i] + g
        held.append(t)

    # The backward pass is recorded (a graph of its own, to differentiate again) only for
    # create_graph; the mode is put back however the pass ends.
    mode = _grad_enabled.set(create_graph)
    try:
        for t, g in zip(roots, root_grads):
            send(t, g)
        for fn in reversed(order):
            entry = pending.pop(id(fn), None)
            if entry is None or (needed is not None and id(fn) not in needed):
                continue
            gouts = entry[0]
            for t, v in zip(fn.inputs, fn._versions):
                if t._counter[0] != v:  # changed in place after the node read it
                    _modified(fn, t, f"after {type(fn).__name__} used it as an input")
            if len(gouts) == 1:  # the usual single-output node, without the helpers' calls
                out = fn._outputs[0]()
                if out is not None:
                    if out._counter[0]:  # outputs are made at version 0
                        _modified(fn, out, f"after {type(fn).__name__} computed it")
                    if out._retains_grad:
                        _retain_outputs(fn, gouts)
            else:
                for t in fn.outputs():
                    if t is not None and t._counter[0]:
                        _modified(fn, t, f"after {type(fn).__name__} computed it")
                _retain_outputs(fn, gouts)
                gouts = _fill_missing(fn, gouts)
            if needed is None:
                grads = fn.backward(*gouts)  # the chain rule, one node
            else:
                grads = _backward_toward(fn, gouts, targets, needed)
            if type(grads) is not tuple:
                grads = (grads,)
            for inp, need, g in zip(fn.inputs, fn.needs_input_grad, grads):
                if not need or g is None:
                    continue
                gd, d = g._data, inp._data
                if gd.shape != d.shape:
                    raise RuntimeError(
                        f"{type(fn).__name__}.backward returned a gradient of shape {g.shape} "
                        f"for an input of shape {inp.shape}"
                    )
                # mixed precision promoted g: the gradient keeps x's dtype
                if gd.dtype != d.dtype:
                    g = g.astype(inp.dtype)
                if targets is None and inp._ctx is None:
                    _accumulate_leaf(inp, g, assigned)  # a leaf: what send would do
                else:
                    send(inp, g)
            if not retain_graph:
                fn.release()
    finally:
        _grad_enabled.reset(mode)
    if not retain_graph:
        for fn in order:
            if fn.inputs is not None:
                fn.release()
    return captured


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
    if len(gouts) == 1:
        return gouts
    xp = get_array_module(*[g._data for g in gouts if g is not None])
    return [
        Tensor(xp.zeros(shape, dtype=dtype)) if g is None else g
        for g, (shape, dtype) in zip(gouts, fn._out_meta)
    ]


def _retain_outputs(fn, gouts):
    for ref, g in zip(fn._outputs, gouts):
        out = ref()
        if out is not None and out._retains_grad and g is not None:
            out.grad = g if out.grad is None else out.grad + g.detach()


def _accumulate_leaf(t, g, assigned):
    if not t.requires_grad:
        return
    if t.grad is None:
        # A leaf's .grad must own its memory, so that in-place updates (clipping, optimizers) never
        # change another leaf's gradient or the caller's array: copy an array already handed out
        # (x + y gives both the same one), a view (reshape, broadcast) or the caller's root grad.
        data = g._data
        if id(data) in assigned or data.base is not None or not getattr(data.flags, "writeable", 1):
            g = Tensor(data.copy()) if g._ctx is None else g
        assigned.add(id(g._data))
        t.grad = g
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
