"""PyTorch's unbatched inputs to convolutions and pools: (C, *spatial) runs as a batch of one.

``batch_optional(nd)`` wraps an op whose input is (N, C, *nd spatial axes) so that it also takes
(C, *spatial): the input gets a batch axis of 1 (``unsqueeze``), the op runs, and the axis comes
off its output (or each of its outputs, as a max pool's indices) again. Both are recorded shape
ops, so gradients flow through unchanged. The convolutions do the same without the wrapper, in
their shared helpers (``ops/conv.py``, ``_convolve``), with ``add_batch`` and ``drop_batch``:
a batched input, the usual one, then steps straight into the op.
"""

from __future__ import annotations

import functools
import inspect

from ..autograd.tensor import Tensor
from .shape import squeeze, unsqueeze

__all__ = ["add_batch", "batch_optional", "drop_batch", "either_layout", "input_shape"]

_UNBATCHED = {1: "(C, L)", 2: "(C, H, W)", 3: "(C, D, H, W)"}
_BATCHED = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def either_layout(nd: int) -> str:
    """The two accepted layouts in words, e.g. ``3-D (C, H, W) or 4-D (N, C, H, W)``."""
    return f"{nd + 1}-D {_UNBATCHED[nd]} or {nd + 2}-D {_BATCHED[nd]}"


def _shape(x):
    return x._data.shape if isinstance(x, Tensor) else getattr(x, "shape", None)


def input_shape(op: str, x):
    """The shape of ``x``, a Tensor (or an array); anything else is PyTorch's TypeError, naming
    the op and what it got (not an AttributeError from inside)."""
    if isinstance(x, Tensor):
        return x._data.shape
    shape = getattr(x, "shape", None)
    if shape is None:
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    return shape


def drop_batch(out):
    """``out`` (or each of its outputs) without the batch axis of 1 that ``add_batch`` added."""
    if isinstance(out, tuple):
        return tuple(squeeze(o, 0) for o in out)
    return squeeze(out, 0)


def batch_optional(nd: int, *, paired: str | None = None):
    """Let the wrapped op take its input without the batch axis, as PyTorch's does.

    Args:
        nd: the op's number of spatial axes.
        paired: the name of a second argument of the input's shape that gains and loses the
            batch axis with it (``indices`` of a max unpool).
    """
    def wrap(op):
        names = list(inspect.signature(op).parameters)
        first, second = names[0], (names.index(paired) if paired else None)

        @functools.wraps(op)
        def run(*args, **kwargs):
            x = args[0] if args else kwargs.get(first)
            shape = input_shape(op.__name__, x)
            if len(shape) == nd + 2:  # batched: the op decides
                return op(*args, **kwargs)
            if len(shape) != nd + 1:
                raise ValueError(f"{op.__name__}: input must be {either_layout(nd)}, got shape "
                                 f"{tuple(shape)}")
            args, kwargs = list(args), dict(kwargs)
            for pos, name in ((0, first), (second, paired)):
                if name is None:
                    continue
                where, key = (args, pos) if pos < len(args) else (kwargs, name)
                if isinstance(where, dict) and key not in where:
                    continue
                got = _shape(where[key])
                if pos and got is not None and tuple(got) != tuple(shape):  # before it gains N
                    raise ValueError(f"{op.__name__}: {name} must have the input's shape "
                                     f"{tuple(shape)}, got {tuple(got)}")
                where[key] = add_batch(where[key])
            return drop_batch(op(*args, **kwargs))

        return run

    return wrap


def add_batch(x):
    """``x`` (a Tensor or an array) with a batch axis of 1 in front."""
    return unsqueeze(x, 0) if isinstance(x, Tensor) else x[None]
