"""``torch.func.linearize`` and ``torch.func.functionalize`` on chainrule's eager engine.

``linearize(func, *primals)`` gives ``func(*primals)`` and ``jvp_fn``, the Jacobian-vector
product at ``primals``: each ``jvp_fn(*tangents)`` is ``jvp(func, primals, tangents)``'s second
half. PyTorch traces a linearized graph once and replays it; chainrule runs ``func`` again at
each call (the same values; ``func`` should be a pure function of its inputs).

``functionalize(func)`` is PyTorch's program transform that rewrites in-place ops and views as
out-of-place ones for its compilers. chainrule runs eagerly, and its in-place ops are recorded
(``autograd.inplace_record``) with the gradients of the out-of-place program, so the function
is already what ``functionalize`` would make of it: the wrapper calls ``func`` unchanged.
"""

from __future__ import annotations

import functools

from ..autograd.tensor import Tensor
from ._pytree import flatten, unflatten
from ._transforms import _jvp as jvp

__all__ = ["debug_unwrap", "functionalize", "linearize"]


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)`` where ``jvp_fn(*tangents)`` is ``J(primals) @ tangents``,
    shaped as the output (tangents: one per primal, of its structure, shapes and dtypes; a
    primal may be a Tensor or a tuple/list/dict of them).

    >>> import chainrule as cr
    >>> out, jvp_fn = linearize(lambda x: x * x, cr.tensor([1.0, 3.0]))
    >>> jvp_fn(cr.tensor([1.0, 1.0])).tolist()
    [2.0, 6.0]
    """
    if not callable(func):
        raise TypeError(f"linearize: func must be callable, got {type(func).__name__}")
    flat, spec = flatten(primals)
    if not all(isinstance(p, Tensor) for p in flat):
        raise TypeError(f"linearize: primals must be Tensors (or tuples/lists/dicts of them), got "
                        f"{[type(p).__name__ for p in flat]}")
    flat = [p.detach() for p in flat]
    primals = unflatten(flat, spec)
    output = jvp(func, primals, unflatten([p * 0 for p in flat], spec))[0]

    def jvp_fn(*tangents):
        if len(tangents) != len(primals):
            raise ValueError(f"linearize: jvp_fn takes one tangent per primal ({len(primals)}), "
                             f"got {len(tangents)}")
        given, given_spec = flatten(tangents)
        if given_spec != spec or any(
                not isinstance(t, Tensor) or (t.shape, t.dtype) != (p.shape, p.dtype)
                for t, p in zip(given, flat)):
            raise ValueError(f"linearize: jvp_fn's tangents must have the structure and shapes "
                             f"(and dtypes) of the primals {_described(flat)}, got "
                             f"{_described(given)}")
        return jvp(func, primals, tangents)[1]

    return output, jvp_fn


def functionalize(func, *, remove: str = "mutations"):
    """``func`` wrapped unchanged: chainrule's recorded in-place ops already give the values and
    gradients of the functional program (see the module docstring). ``remove``: PyTorch's
    "mutations" or "mutations_and_views"."""
    if not callable(func):
        raise TypeError(f"functionalize: func must be callable, got {type(func).__name__}")
    if remove not in ("mutations", "mutations_and_views"):
        raise ValueError(f"functionalize: remove must be 'mutations' or 'mutations_and_views', "
                         f"got {remove!r}")

    @functools.wraps(func)
    def functionalized(*args, **kwargs):
        return func(*args, **kwargs)

    return functionalized


def debug_unwrap(tensor, *, recurse: bool = True):
    """PyTorch's unwrapping of a transform's tensor (a BatchedTensor inside ``vmap``, a
    gradient-tracking one inside ``grad``) to the tensor under it, for printing in a debugger.
    chainrule's transforms run the function on plain tensors (a slice per call in ``vmap``), so
    ``tensor`` is returned as it is; ``recurse`` is accepted."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"debug_unwrap: tensor must be a Tensor, got {type(tensor).__name__}")
    return tensor


def _described(flat):
    return [(tuple(t.shape), str(t.dtype)) if isinstance(t, Tensor) else type(t).__name__
            for t in flat]
