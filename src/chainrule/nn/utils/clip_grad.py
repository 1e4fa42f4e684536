"""Gradient clipping: rescale (by the total norm) or clamp (elementwise) gradients before a step,
and the two halves of ``clip_grad_norm_`` (``get_total_norm``, ``clip_grads_with_norm_``).

As PyTorch's, they change the gradients in place: each ``p.grad`` stays the same Tensor object
(a reference taken before, ``g = p.grad``, sees the clipped values) and counts a change, once per
time its parameter is listed (a parameter given twice is scaled twice, as in PyTorch). The
Tensor is given a new array rather than written into, because one array may be shared by
several gradients.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

from ...autograd import Tensor
from ...backend import ensure_array, get_array_module, quiet

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    r"""Scale all gradients together so that their joint norm is at most ``max_norm``.

    ``total = ||(||g_1||, ..., ||g_k||)||_p`` (the norm of all gradients as one vector) and each
    ``g <- g * min(1, max_norm / (total + 1e-6))``, as in ``torch.nn.utils.clip_grad_norm_``.

    Args:
        parameters: a Tensor or an iterable of Tensors (e.g. ``model.parameters()``); those
            without a gradient are ignored.
        max_norm: the largest allowed total norm.
        norm_type: the order p of the norm (any real number or ``inf``, as in
            ``torch.linalg.vector_norm``: ``inf`` the largest magnitude, 0 the count of nonzeros).
        error_if_nonfinite: raise RuntimeError when the total norm is nan or inf (otherwise the
            gradients are scaled by the resulting nan or 0, as PyTorch does).
        foreach: accepted for PyTorch's signature; chainrule has one implementation.

    Returns:
        The total norm of the gradients before clipping, as a 0-d Tensor.

    >>> import chainrule as cr
    >>> p = cr.tensor([0.0, 0.0], requires_grad=True)
    >>> p.grad = cr.tensor([3.0, 4.0])
    >>> clip_grad_norm_([p], max_norm=1.0).item()
    5.0
    >>> [round(v, 4) for v in p.grad.tolist()]
    [0.6, 0.8]
    """
    who = "clip_grad_norm_"
    params = _with_grads(who, parameters)
    max_norm = _check_limit(who, "max_norm", max_norm)
    p_norm = _norm_order(who, norm_type)
    _check_foreach(who, foreach)
    if not params:
        return Tensor(get_array_module().zeros((), dtype="float32"))
    total = _total_norm([p.grad._data for p in params], p_norm)
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(
            f"{who}: the total norm of order {norm_type} of the gradients is {float(total)}, so "
            "they cannot be clipped; pass error_if_nonfinite=False to scale them anyway"
        )
    _scale(params, max_norm, total)
    return Tensor(total)


def clip_grad_value_(parameters, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient entry into ``[-clip_value, clip_value]``.

    Args:
        parameters: a Tensor or an iterable of Tensors; those without a gradient are ignored.
        clip_value: the largest allowed magnitude (>= 0).
        foreach: accepted for PyTorch's signature; chainrule has one implementation.

    >>> import chainrule as cr
    >>> p = cr.tensor([0.0, 0.0, 0.0], requires_grad=True)
    >>> p.grad = cr.tensor([-3.0, 0.5, 2.0])
    >>> clip_grad_value_([p], 1.0)
    >>> p.grad.tolist()
    [-1.0, 0.5, 1.0]
    """
    who = "clip_grad_value_"
    params = _with_grads(who, parameters)
    clip_value = _check_limit(who, "clip_value", clip_value)
    _check_foreach(who, foreach)
    for p in params:
        if p.grad._data.dtype.kind == "c":  # PyTorch's clamp refuses complex values too
            raise TypeError(f"{who}: a parameter of shape {tuple(p.shape)} has a complex "
                            f"gradient ({p.grad._data.dtype}), which has no order to clamp by; use "
                            "clip_grad_norm_ (it measures the modulus)")
    for p in params:
        g = p.grad._data
        p.grad.data = get_array_module(g).clip(g, -clip_value, clip_value)


def _with_grads(who: str, parameters) -> list[Tensor]:
    """The Tensors of ``parameters`` that have a gradient."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    elif not isinstance(parameters, Iterable):
        raise TypeError(
            f"{who}: parameters must be a Tensor or an iterable of Tensors (e.g. "
            f"model.parameters()), got {type(parameters).__name__}"
        )
    out = []
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: parameters[{i}] must be a Tensor, got {type(p).__name__}")
        if p.grad is not None and not isinstance(p.grad, Tensor):  # chainrule.sparse
            raise NotImplementedError(
                f"{who}: parameters[{i}] has a sparse gradient (Embedding(sparse=True)), which "
                "cannot be clipped (PyTorch has no sparse kernel for it either); use sparse=False")
        if p.grad is not None:
            out.append(p)
    return out


def _check_limit(who: str, name: str, value) -> float:
    """A bound must be a number >= 0 (inf allowed: clip_grad_norm_(ps, inf) only measures), or a
    one-element real Tensor holding one, as PyTorch takes; returned as a float."""
    if isinstance(value, Tensor) and value.numel() == 1 and value.dtype.kind in "iuf":
        value = value.item()
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{who}: {name} must be a number >= 0, got {value!r}")
    if not value >= 0:
        raise ValueError(f"{who}: {name} must be a number >= 0, got {value!r}")
    return float(value)  # a NumPy float64 kept made clip_grad_value_'s gradients float64


def _norm_order(who: str, norm_type) -> float:
    """Any real order, as ``torch.linalg.vector_norm``: 0 counts the nonzero entries, a negative
    p (``-inf`` included) is dominated by the smallest magnitudes."""
    if isinstance(norm_type, str) and norm_type.lower() in ("inf", "-inf"):
        return -math.inf if norm_type.startswith("-") else math.inf
    if not isinstance(norm_type, numbers.Real) or isinstance(norm_type, bool):
        raise TypeError(f"{who}: norm_type must be a number or 'inf', got {norm_type!r}")
    return float(norm_type)


def _vector_norm(a, p: float):
    """The p-norm of the 1-D array ``a``, in a's real dtype; like PyTorch, an empty ``a`` has the
    norm 0 for p >= 0 but no ``inf`` or negative-order norm (their reductions have no identity)."""
    xp = get_array_module(a)
    if a.dtype == xp.float16 and a.size:  # in float32, rounded once, as PyTorch's: a float16
        with quiet(xp):  # sum of squares passes 65504 (gradients of 3 in a 300 x 300 weight)
            return _vector_norm(a.astype(xp.float32), p).astype(xp.float16)
    if a.size == 0:
        if p == math.inf or p < 0:
            raise RuntimeError(f"cannot compute the {p} norm of an empty gradient or tensor: the "
                               "reduction has no identity (PyTorch refuses it too)")
        return xp.zeros((), dtype=a.real.dtype)
    if p == math.inf:
        return xp.max(xp.abs(a))
    if p == -math.inf:
        return xp.min(xp.abs(a))
    if p == 0:
        return xp.asarray(xp.count_nonzero(a), dtype=a.real.dtype)
    if p == 2:
        return xp.linalg.norm(a)
    if p == 1:
        return xp.sum(xp.abs(a))
    with quiet(xp):  # 0 ** p is inf for p < 0, as in PyTorch
        return xp.sum(xp.abs(a) ** p) ** (1.0 / p)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    r"""The norm of ``tensors`` taken together as one vector, as ``torch.nn.utils.get_total_norm``.

    ``||(||t_1||_p, ..., ||t_k||_p)||_p``; pass the gradients (``[p.grad for p in ps]``).

    Args:
        tensors: a Tensor or an iterable of Tensors.
        norm_type: the order p (any real number or ``inf``, as in ``clip_grad_norm_``).
        error_if_nonfinite: raise RuntimeError when the norm is nan or inf.
        foreach: accepted for PyTorch's signature; chainrule has one implementation.

    Returns:
        The norm as a 0-d Tensor of the tensors' dtype (0.0 for no tensors).
    """
    who = "get_total_norm"
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    elif not isinstance(tensors, Iterable):
        raise TypeError(f"{who}: tensors must be a Tensor or an iterable of Tensors, got "
                        f"{type(tensors).__name__}")
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: tensors[{i}] must be a Tensor, got {type(t).__name__}")
    p_norm = _norm_order(who, norm_type)
    _check_foreach(who, foreach)
    if not tensors:
        return Tensor(get_array_module().zeros((), dtype="float32"))
    total = _total_norm([t._data for t in tensors], p_norm)
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(
            f"{who}: the total norm of order {norm_type} is {float(total)}; pass "
            "error_if_nonfinite=False to get it anyway"
        )
    return Tensor(total)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm,
                          foreach: bool | None = None) -> None:
    """Scale the gradients by ``min(1, max_norm / (total_norm + 1e-6))``, as PyTorch's.

    ``clip_grad_norm_`` is ``get_total_norm`` of the gradients then this; split, the norm can be
    computed elsewhere (e.g. over all the shards of a model).

    Args:
        parameters: a Tensor or an iterable of Tensors; those without a gradient are ignored.
        max_norm: the largest allowed total norm.
        total_norm: the gradients' total norm (a 0-d Tensor or a number).
        foreach: accepted for PyTorch's signature; chainrule has one implementation.
    """
    who = "clip_grads_with_norm_"
    params = _with_grads(who, parameters)
    max_norm = _check_limit(who, "max_norm", max_norm)
    _check_foreach(who, foreach)
    if isinstance(total_norm, Tensor):
        if total_norm.numel() != 1:
            raise ValueError(f"{who}: total_norm must be one number, got a Tensor of shape "
                             f"{tuple(total_norm.shape)}")
        total = total_norm._data.reshape(())
    elif isinstance(total_norm, numbers.Real) and not isinstance(total_norm, bool):
        total = float(total_norm)
    else:
        raise TypeError(f"{who}: total_norm must be a Tensor or a number, got "
                        f"{type(total_norm).__name__}")
    _scale(params, max_norm, total)


def _check_foreach(who: str, foreach) -> None:
    if foreach is not None and not isinstance(foreach, bool):
        raise TypeError(f"{who}: foreach must be None, True or False, got {foreach!r}")


def _total_norm(arrays: list, p: float):
    """The p-norm of the p-norms of ``arrays`` (each flattened), a 0-d array."""
    norms = [_vector_norm(a.reshape(-1), p) for a in arrays]
    xp = get_array_module(norms[0])
    return ensure_array(_vector_norm(xp.stack(norms), p))


def _scale(params: list, max_norm: float, total) -> None:
    """Scale each gradient (in place) by ``coef = max_norm / (total + 1e-6)`` unless
    ``coef >= 1`` (no change). A max_norm past float32's range makes a float32 coef inf, as in
    PyTorch, without numpy's overflow warning (`chainrule train char_lm --clip 1e308`)."""
    if isinstance(total, float):  # clip_grads_with_norm_'s total_norm given as a number
        coef = max_norm / (total + 1e-6)
    else:  # PyTorch's max_norm / t is t.reciprocal() * max_norm, each op rounded to t's dtype
        xp, kind = get_array_module(total), total.dtype.type
        wide = xp.float32 if kind == xp.float16 else kind  # and computed in its opmath type
        with quiet(xp):
            t = (total.astype(wide) + wide(1e-6)).astype(kind)
            coef = (xp.asarray(1 / t.astype(wide)).astype(kind).astype(wide) * wide(max_norm))
            coef = coef.astype(kind)
    if not coef >= 1:  # also true for nan, which PyTorch propagates into the gradients
        for p in params:
            g = p.grad._data
            c = coef.astype(g.dtype) if hasattr(coef, "astype") else g.dtype.type(coef)
            with quiet(get_array_module(g)):  # an inf entry times 0 is nan, silently (PyTorch)
                p.grad.data = g * c
