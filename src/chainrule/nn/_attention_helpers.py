"""PyTorch's private helpers of ``F.multi_head_attention_forward``, which copies of its attention
and Transformer layers call by name (``F._canonical_mask``, ``F._none_or_dtype``,
``F._in_projection_packed``, ``F._in_projection``, ``F._mha_shape_check``): the same results,
composed of chainrule ops."""

from __future__ import annotations

import warnings

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.join import split
from ..ops.linalg import linear

__all__ = ["_canonical_mask", "_in_projection", "_in_projection_packed", "_mha_shape_check",
           "_none_or_dtype"]


def _canonical_mask(mask, mask_name: str, other_type, other_name: str, target_type,
                    check_other: bool = True):
    """A boolean ``mask`` as a float one of ``target_type`` (-inf where True, 0 elsewhere); a float
    one as it is; None as None. Warns, as PyTorch, where ``other_type`` (the other mask's dtype)
    differs from the mask's."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor) or mask.dtype.kind not in "bf":
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise TypeError(f"only bool and floating types of {mask_name} are supported, got {got}")
    xp = get_array_module(mask._data)
    if check_other and other_type is not None and mask.dtype != xp.dtype(other_type):
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use "
                      "same type for both instead.", UserWarning, stacklevel=2)
    if mask.dtype.kind == "f":
        return mask
    target = xp.dtype(target_type)
    return Tensor(xp.where(mask._data, xp.asarray(-xp.inf, dtype=target), xp.zeros((), target)))


def _none_or_dtype(input):  # noqa: A002 - PyTorch's name
    """``input.dtype``, or None for None."""
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _in_projection_packed(q, k, v, w, b=None):
    """The query, key and value projections by the row blocks of ``w`` (3E, E) and ``b`` (3E,)."""
    ws = split(w, w.shape[0] // 3, axis=0)
    bs = (None,) * 3 if b is None else split(b, b.shape[0] // 3, axis=0)
    return tuple(linear(x, wi, bi) for x, wi, bi in zip((q, k, v), ws, bs, strict=True))


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None):
    """The three projections by their own weights: ``w_q`` (Eq, Eq), ``w_k`` (Eq, Ek), ``w_v``
    (Eq, Ev) and biases (Eq,), their shapes checked as PyTorch checks them."""
    eq, ek, ev = q.shape[-1], k.shape[-1], v.shape[-1]
    for name, t, shape in (("query weights", w_q, (eq, eq)), ("key weights", w_k, (eq, ek)),
                           ("value weights", w_v, (eq, ev)), ("query bias", b_q, (eq,)),
                           ("key bias", b_k, (eq,)), ("value bias", b_v, (eq,))):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"expecting {name} shape of {shape}, but got {tuple(t.shape)}")
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads: int) -> bool:
    """Whether the inputs are batched (3-D) rather than unbatched (2-D); a ValueError naming the
    argument where the ranks (or an unbatched 3-D ``attn_mask``'s shape) do not fit."""
    if query.ndim not in (2, 3):
        raise ValueError(f"query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.ndim}-D query tensor")
    batched = query.ndim == 3
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"For {kind} `query`, expected `key` and `value` to be {query.ndim}-D "
                         f"but found {key.ndim}-D and {value.ndim}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise ValueError(f"For {kind} `query`, expected `key_padding_mask` to be `None` or "
                         f"{query.ndim - 1}-D but found {key_padding_mask.ndim}-D tensor instead")
    if attn_mask is not None:
        if attn_mask.ndim not in (2, 3):
            raise ValueError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                             f"but found {attn_mask.ndim}-D tensor instead")
        expected = (num_heads, query.shape[0], key.shape[0])
        if not batched and attn_mask.ndim == 3 and tuple(attn_mask.shape) != expected:
            raise ValueError(f"Expected `attn_mask` shape to be {expected} but got "
                             f"{tuple(attn_mask.shape)}")
    return batched
