"""The backward of a PyTorch-style custom Function that writes only ``jvp``.

PyTorch runs such a Function's ``jvp`` in forward mode and refuses to backpropagate through it.
chainrule computes forward mode by reverse mode (``forward_ad``, ``func.jvp``), so the
Function's vector-Jacobian product is found from its ``jvp``: ``t -> J t`` is linear, and the
gradient of ``<u, J t>`` with respect to ``t`` is ``J^T u``. The ``jvp`` runs once per node, on
tangents that require grad, and its recorded graph is differentiated for every cotangent (the
tutorials' ``jvp`` frees what it read from ``ctx``, so it cannot run twice). ``jvp`` must be
written with tensor operations (as PyTorch asks of it for higher-order forward mode).
"""

from __future__ import annotations

from .grad import grad
from .mode import enable_grad, is_grad_enabled
from .tensor import Tensor


def backward_by_jvp(node, grads) -> tuple:
    """One gradient per forward input (None for non-Tensors) of ``node``, a custom Function's
    graph node, for the output gradients ``grads``, by transposing the user's ``jvp``."""
    cache = node.__dict__.get("_jvp_graph")
    if cache is None:
        with enable_grad():
            tangents = [Tensor(x._data * 0).requires_grad_(True) for x in node.inputs]
            it = iter(tangents)
            node.ctx._in_jvp = True  # saved_tensors reads what save_for_forward kept
            try:
                outs = node.user.jvp(node.ctx, *(next(it) if is_tensor else None
                                                 for is_tensor in node.positions_all))
            finally:
                node.ctx._in_jvp = False
        outs = outs if isinstance(outs, tuple) else (outs,)
        if len(outs) != len(grads):
            raise RuntimeError(f"{node.user.__name__}.jvp returned {len(outs)} tangents, but "
                               f"forward returned {len(grads)} outputs (one tangent per output)")
        node._jvp_graph = cache = (tangents, outs)
    tangents, outs = cache
    pairs = [(o, g) for o, g in zip(outs, grads)
             if isinstance(o, Tensor) and o.requires_grad and g is not None]
    found = [None] * len(tangents)
    if pairs:
        found = grad([o for o, _ in pairs], tangents, [g for _, g in pairs], retain_graph=True,
                     create_graph=is_grad_enabled(), allow_unused=True)
    it = iter(found)
    return tuple(next(it) if is_tensor else None for is_tensor in node.positions_all)
