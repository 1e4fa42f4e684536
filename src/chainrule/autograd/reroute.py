"""Which values a node read, for the engine's in-place checks (``graph.run_backward``).

A ``Function`` says what its backward reads with ``reads_inputs``: True (every input's values),
False (none: it routes the gradient by position or shape, as indexing and reshape do), or a
function of the node giving the indices of the inputs it reads (``Mul`` reads ``b`` for ``a``'s
gradient and ``a`` for ``b``'s, so ``y[0] * 2`` never reads ``y[0]``).

A node whose input was changed in place (a recorded change: the input has a new node) after the
node read it is pointed back at the stand-in that took the input's place at the version it read
(``inplace_record._stand_in`` keeps them in ``Tensor._earlier``): ``y[0] = y[0] * 2``,
VoxelMorph's ``new_locs[:, i] = 2 * (new_locs[:, i] / (n - 1) - 0.5)``, ``z = y * 2;
y.add_(1)``, as PyTorch's graph connects them. Where that cannot give the right gradient it is
refused: an input read at a version its node did not make (a view made before a change of its
base and used after it), or a stand-in that shares the changed memory under a node that reads
its values. An input changed outside the graph whose node took the change as its own
(``inplace.mark_changed``: a matmul's or a clone's output) stays that node's output for a node
that does not read it (``u = x.clone(); y = u.exp(); with no_grad(): u.add_(1)``).
"""

from __future__ import annotations

import weakref

__all__ = ["refuse_cut", "refuse_stale_reads", "reroute"]


def _reads(fn, i) -> bool:
    reads = fn.reads_inputs
    return reads if isinstance(reads, bool) else i in reads(fn)


def refuse_stale_reads(fn, refuse) -> None:
    """``refuse(fn, t, when)`` for the first input ``t`` of ``fn`` changed in place since ``fn``
    read it whose values its backward reads (the walk calls this once it sees a change)."""
    for i, (t, v) in enumerate(zip(fn.inputs, fn._versions)):
        if t._counter[0] != v and _reads(fn, i):
            refuse(fn, t, f"after {type(fn).__name__} used it as an input")


def reroute(fn, refuse) -> None:
    """Point ``fn``'s inputs changed in place since it read them at their stand-ins;
    ``refuse(fn, t, when)`` where no stand-in gives the right gradient."""
    inputs, changed = fn.inputs, None
    for i, (t, v) in enumerate(zip(inputs, fn._versions)):
        node = t._ctx
        if node is None:
            continue
        made = getattr(node, "_out_versions", None)
        if made is None or made[t._out_idx] == v:
            continue  # read as its node made it
        earlier = getattr(t, "_earlier", None)
        standin = earlier.get(v) if earlier else None
        if type(standin) is tuple:  # changed unrecorded, its node took the change (mark_changed)
            node, k = standin
            outs = getattr(node, "_outputs", None)  # its output now: t, or a later stand-in
            standin = outs[k]() if outs else None
            if standin is None or _reads(fn, i):
                refuse(fn, t, f"after {type(fn).__name__} used it as an input")
            changed = changed or list(inputs)
            changed[i] = standin
            continue
        if standin is None:  # changed outside the graph, or a view of a changed base
            refuse(fn, t, f"after {type(node).__name__} computed it")
        if isinstance(standin, weakref.ref):  # a copy of the values at v
            standin = standin()
            if standin is None:
                refuse(fn, t, f"after {type(fn).__name__} used it as an input")
        elif _reads(fn, i):  # one memory with the changed values
            refuse(fn, t, f"after {type(fn).__name__} used it as an input")
        changed = changed or list(inputs)
        changed[i] = standin
    if changed:
        fn.inputs = tuple(changed)


def refuse_cut(t) -> None:
    """A gradient reached ``t``, a tensor that does not require grad: dropped (as PyTorch drops a
    leaf's), unless ``Tensor.detach_`` cut ``t`` from a graph that had not run backward. Then an
    op that read ``t`` before the cut sends it a gradient that PyTorch would pass on to the ops
    that computed ``t``; chainrule's graph reaches them through ``t`` itself, so it refuses."""
    if getattr(t, "_cut", False):
        raise RuntimeError(
            f"backward: a gradient reached a tensor (shape {t.shape}) that detach_() cut from "
            "its graph after an op had read it; the gradient cannot go on to the ops that "
            "computed it (PyTorch's graph keeps them). Call detach_() after backward(), or use "
            "t = t.detach()")
