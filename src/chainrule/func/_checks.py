"""What the transforms refuse, as PyTorch's ``torch.func`` does: an auxiliary output that is not
made of Tensors, a function with no outputs to differentiate, ``jvp`` primals and tangents that
are not tuples of one structure holding at least one Tensor, and a random draw in ``jacfwd``'s
function with ``randomness='error'``.
"""

from __future__ import annotations

from contextlib import contextmanager

from ..autograd import Tensor
from ..backend.random import watch_draws
from ._pytree import describe, flatten

__all__ = ["check_jvp_inputs", "check_outputs", "draws_refused", "split_aux"]


@contextmanager
def draws_refused(who, refuse):
    """Inside the block, with ``refuse``, a random draw through chainrule's generators raises."""
    if not refuse:
        yield
        return

    def refuse_draw(gen) -> None:
        raise RuntimeError(f"{who}: the function called a random operation while "
                           "randomness='error'; pass randomness='same' or 'different' (the "
                           "function is called once, so every column of the Jacobian is that "
                           "of the same random draw), or draw outside the transform")

    with watch_draws(refuse_draw):
        yield


def split_aux(who, out, has_aux):
    """``(output, aux)`` of a ``has_aux`` function's result (``(out, None)`` without it); the aux
    must be Tensors or tuples/lists/dicts of them (an empty container too), as PyTorch's."""
    if not has_aux:
        return out, None
    if not isinstance(out, tuple) or len(out) != 2:
        raise ValueError(f"{who}: with has_aux=True the function must return a tuple "
                         f"(output, aux), got {type(out).__name__}")
    for leaf in flatten(out[1])[0]:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(f"{who}: with has_aux=True the aux (the second of the function's "
                               f"two outputs) must be Tensors or tuples/lists/dicts of them, got "
                               f"one of type {type(leaf).__name__}")
    return out


def check_outputs(who, outs) -> None:
    """Refuse a function that returned no Tensor to differentiate (``()``, ``[]``, ``{}``)."""
    if not outs:
        raise RuntimeError(f"{who}: the function must return at least one Tensor, got an empty "
                           "output; there is nothing to differentiate")


def check_jvp_inputs(primals, tangents) -> None:
    """``jvp``'s ``primals`` and ``tangents``: tuples (a list is refused, as PyTorch's) of one
    structure, with at least one Tensor in ``primals``."""
    for name, value in (("primals", primals), ("tangents", tangents)):
        if not isinstance(value, tuple):
            raise TypeError(f"jvp: {name} must be a tuple (the function is called as "
                            f"f(*primals)), got {type(value).__name__}")
    flat, spec = flatten(primals)
    if not flat:
        raise ValueError(f"jvp: primals must contain at least one Tensor, got {primals!r}")
    tan_spec = flatten(tangents)[1]
    if tan_spec != spec:
        raise ValueError(f"jvp: tangents must have the structure of primals, {describe(spec)}, "
                         f"got {describe(tan_spec)}")
