"""``copy.deepcopy`` of a Tensor: a leaf is copied with its values and options, as PyTorch's.

``copy.deepcopy(t)`` of a tensor an op made (one with a ``grad_fn``) is refused, as PyTorch
refuses it: it would copy the whole graph, leaves included, so a backward from the copy would fill
the copies' ``.grad`` and leave the originals' ``None``, a training step that trains nothing.
Inside a larger object (a module whose pruned or weight-normed ``weight`` is made from its
parameters) the graph is copied with the rest, in the same memo, so it joins the copied
parameters: ``copy.deepcopy(model)`` works where PyTorch refuses it.
"""

from __future__ import annotations

import copy

__all__ = ["deepcopy_tensor"]

NOT_A_LEAF = (
    "deepcopy: only leaf tensors (made by the program, not by an op autograd recorded) can be "
    "deep-copied, as in PyTorch; copying this one would copy its graph, and a backward from the "
    "copy would not reach the original leaves. Copy the values with t.detach().clone() (then "
    ".requires_grad_() for a new leaf)")


def deepcopy_tensor(t, memo):
    """The copy ``copy.deepcopy`` makes by default (``__getstate__``/``__setstate__``); an empty
    ``memo`` means ``t`` is what the program asked to copy."""
    if t._ctx is not None and not memo:
        raise RuntimeError(NOT_A_LEAF)
    new = type(t).__new__(type(t))
    memo[id(t)] = new
    state = t.__getstate__()  # a pickle's: no graph
    if t._ctx is not None:  # the graph, copied in the memo that copies its leaves
        state.update(_ctx=t._ctx, _out_idx=t._out_idx, _retains_grad=t._retains_grad)
    new.__setstate__(copy.deepcopy(state, memo))
    return new
