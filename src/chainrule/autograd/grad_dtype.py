"""``Tensor.grad_dtype``: the dtype a leaf's ``.grad`` is kept in (PyTorch 2.13's attribute).

By default it is the tensor's dtype: backward gives a leaf a gradient of its own dtype, and an
assigned ``.grad`` of another dtype is refused. Set to another dtype, the gradients reaching the
leaf are cast to it before its hooks see them (PyTorch casts them as they arrive), and ``.grad``
and ``autograd.grad`` give that dtype (``x.grad_dtype = float64`` sums a float32 parameter's
gradients in float64). Set to None, an assigned ``.grad`` may have any dtype; backward's
gradients keep the leaf's dtype (chainrule casts every gradient to its input's dtype as it
arrives, where PyTorch would leave one that mixed precision promoted). Only a leaf has it, as in
PyTorch (RuntimeError on a tensor computed by a recorded op); a copy (``detach``, ``clone``,
``deepcopy``) starts again at its dtype, as PyTorch's. Changing it while ``.grad`` holds another
dtype is PyTorch's RuntimeError.

The setting lives in the leaf's hooks (the first of them, ``_Cast``), so backward needs no step of
its own for it: a leaf without hooks runs as before.
"""

from __future__ import annotations

from ..backend import numpy
from .hooks import RemovableHandle
from .tensor import Tensor

__all__ = ["allows_grad_dtype"]


class _Cast:
    """A leaf's first gradient hook: the incoming gradient cast to ``dtype`` (None: as it is)."""

    casts = True  # the one hook that may change the gradient's dtype (post_accumulate.py)

    def __init__(self, dtype):
        self.dtype = dtype

    def __call__(self, g):
        if g is None or self.dtype is None or g._data.dtype == self.dtype:
            return None
        return g.to(self.dtype)


def _setting(t: Tensor):
    for hook in (t._hooks or {}).values():
        if type(hook) is _Cast:
            return hook
    return None


def _leaf(t: Tensor, verb: str) -> None:
    if t._ctx is not None:
        raise RuntimeError(f"grad_dtype can only be {verb} on leaf tensors")


def _get(self: Tensor):
    _leaf(self, "accessed")
    found = _setting(self)
    return self.dtype if found is None else found.dtype


def _set(self: Tensor, dtype) -> None:
    _leaf(self, "set")
    if dtype is not None:
        if not isinstance(dtype, numpy.dtype):  # PyTorch takes a torch.dtype, not its name
            raise RuntimeError(f"grad_dtype must be a chainrule dtype (chainrule.float64...) or "
                               f"None, but got {type(dtype).__name__} {dtype!r}")
        if dtype.kind not in "fc":  # a gradient cast to it would be truncated
            raise RuntimeError(f"grad_dtype must be a floating-point or complex dtype (or None), "
                               f"got {dtype}; PyTorch's backward fails on it")
    g = self._grad
    if g is not None and dtype is not None and getattr(g, "dtype", dtype) != dtype:
        raise RuntimeError(f"Cannot set grad_dtype to {dtype} because there is already a "
                           f"gradient with dtype {g.dtype}. Please clear the gradient (.grad = "
                           "None) before changing grad_dtype, or ensure the new grad_dtype "
                           "matches the existing gradient's dtype.")
    hooks = self._hooks
    if hooks:  # drop an earlier setting, in place (the handles of other hooks hold the dict)
        for key in [k for k, h in hooks.items() if type(h) is _Cast]:
            del hooks[key]
    if dtype is not None and dtype == self._data.dtype:
        return  # the default
    if hooks is None:
        hooks = self._hooks = {}
    others = list(hooks.items())
    hooks.clear()
    hooks[RemovableHandle(hooks).id] = _Cast(dtype)  # first: the hooks see the cast gradient
    hooks.update(others)


def allows_grad_dtype(t: Tensor, dtype) -> bool:
    """Whether ``t.grad`` may be assigned a gradient of ``dtype``: its ``grad_dtype``, any with
    ``grad_dtype = None``."""
    found = _setting(t)
    if found is None:
        return dtype == t._data.dtype
    return found.dtype is None or found.dtype == dtype


Tensor.grad_dtype = property(_get, _set, doc=(
    "The dtype of this leaf's ``.grad`` (default its dtype; None allows any; see "
    "autograd/grad_dtype.py)."))
