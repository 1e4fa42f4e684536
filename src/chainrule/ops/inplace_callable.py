"""PyTorch's element-by-element Python methods: ``t.apply_(f)``, ``t.map_(other, f)`` and
``t.map2_(x, y, f)`` change ``t`` in place to ``f`` of each element (and of the matching elements
of ``other``, or of ``x`` and ``y``, broadcast to ``t``'s shape).

As in PyTorch: ``f`` gets Python numbers (float, int, bool or complex, by the dtype) and its
results are cast to ``t``'s dtype (a float into an integer tensor is truncated, and wraps around
in an unsigned one); the tensors must be on the CPU, ``other``/``x``/``y`` of ``t``'s dtype, and
none of them may require grad, even under ``no_grad`` (``f`` runs outside autograd; call it on
``t.detach()``). Slow by nature (one Python call per element): for anything large, write ``f``
with tensor ops. Unlike PyTorch, the change is counted in ``t._version``, so a graph that read
``t`` before refuses a backward through the old values instead of using the new ones.
"""

from __future__ import annotations

import numbers

from ..autograd.inplace import writable_array
from ..autograd.tensor import Tensor
from ..backend import get_array_module, numpy

__all__: list[str] = []


def _check(who, t, others, fn):
    tensors = (("self", t),) + others
    for name, x in tensors:
        if not isinstance(x, Tensor):
            raise TypeError(f"{who}: {name} must be a Tensor, got {type(x).__name__}")
        if x.device != "cpu":
            raise TypeError(f"{who}: {name} is on {x.device!r}; {who} runs a Python callable on "
                            "each element and works on CPU tensors only, as in PyTorch "
                            "(move it with .cpu() first)")
        if x.requires_grad:
            raise RuntimeError(f"{who}: {name} requires grad, and {who} runs a Python callable "
                               "outside autograd, so no gradient could follow it (PyTorch refuses "
                               f"it too); call it on a detached tensor, e.g. t.detach().{who}(...)")
        if x.dtype != t.dtype:
            raise TypeError(f"{who}: {name} must have self's dtype {t.dtype}, got {x.dtype}")
    if not callable(fn):
        raise TypeError(f"{who}: callable must be callable, got {type(fn).__name__}")
    columns = []
    for name, x in others:
        try:
            columns.append(numpy.broadcast_to(x._data, t.shape).ravel().tolist())
        except ValueError:
            raise ValueError(f"{who}: {name} of shape {x.shape} cannot be broadcast to self's "
                             f"shape {t.shape}") from None
    return columns


def _run(who, t, others, fn):
    """Call ``fn`` on every element (with the matching ones of ``others``) and write the results
    into ``t``."""
    columns = _check(who, t, others, fn)
    arr = writable_array(t, who)
    results = []
    for args in zip(arr.ravel().tolist(), *columns, strict=True):
        value = fn(*args)
        if not isinstance(value, numbers.Number) or (
                isinstance(value, complex) and arr.dtype.kind != "c"):
            kind = "complex" if arr.dtype.kind == "c" else "real"
            raise TypeError(f"{who}: the callable must return a {kind} number for each element "
                            f"of this {arr.dtype} tensor, got {type(value).__name__} for the "
                            f"element(s) {args}")
        results.append(value)
    xp = get_array_module(arr)
    with numpy.errstate(over="ignore"):  # a float too large for float32 becomes inf, as PyTorch
        new = xp.asarray(results).astype(arr.dtype) if results else arr.copy()
    arr[...] = new.reshape(arr.shape)
    t._mark_changed()
    return t


def apply_(self, callable) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Replace each element x with ``callable(x)``, in place (CPU tensors; see the module)."""
    return _run("apply_", self, (), callable)


def map_(self, tensor, callable) -> Tensor:  # noqa: A002 - PyTorch's argument names
    """Replace each element x with ``callable(x, y)``, y the matching element of ``tensor``
    (broadcast to self's shape), in place."""
    return _run("map_", self, (("tensor", tensor),), callable)


def map2_(self, x, y, callable) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Replace each element s with ``callable(s, a, b)``, a and b the matching elements of ``x``
    and ``y`` (broadcast to self's shape), in place."""
    return _run("map2_", self, (("x", x), ("y", y)), callable)


Tensor.apply_ = apply_
Tensor.map_ = map_
Tensor.map2_ = map2_
