"""Scaled dot-product attention, composed of ops (its gradient is theirs; no backward of its own).

``softmax(q @ k^T * scale + mask) @ v``: each query position takes a weighted average of the
values, weighted by how well its query matches each key (Vaswani et al., 2017).
"""

from __future__ import annotations

import math
import numbers

from ..autograd.function import nondiff
from ..autograd.mode import _trace_recorder
from ..autograd.tensor import Tensor
from ..backend import MetaArray, get_array_module
from ._loss_args import plain_number
from .attention_bias import CausalBias, CausalVariant
from .cast import cast
from .dropout import dropout
from .elementwise import add, where
from .linalg import matmul
from .repeat import index_select
from .shape import transpose
from .softmax import softmax

__all__ = ["scaled_dot_product_attention"]


def attention_mask_bias(scores, attn_mask, is_causal, allowed_when_true=True):
    """``scores`` with a mask applied: -inf where a query may not attend, or a float mask added.

    Args:
        scores: (..., L, S) Tensor.
        attn_mask: None, a boolean mask broadcastable to scores (True = may attend when
            ``allowed_when_true``, else True = masked out, as ``nn.MultiheadAttention`` reads it),
            or a float mask added to the scores.
        is_causal: mask out keys after each query (the upper triangle).
    """
    xp = get_array_module(scores._data)
    L, S = scores.shape[-2], scores.shape[-1]
    if is_causal:
        causal = Tensor(xp.tril(xp.ones((L, S), dtype=bool)))
        scores = where(causal, scores, Tensor(xp.asarray(-math.inf, dtype=scores.dtype)))
    if attn_mask is None:
        return scores
    mask = attn_mask if isinstance(attn_mask, Tensor) else Tensor(xp.asarray(attn_mask))
    if mask.dtype.kind == "b":
        # an op, not ~mask._data: a trace (chainrule.trace) must invert each call's mask again
        allowed = mask if allowed_when_true else nondiff(_invert, mask)
        return where(allowed, scores, Tensor(xp.asarray(-math.inf, dtype=scores.dtype)))
    if mask.dtype.kind != "f":
        raise TypeError(f"attention: attn_mask must be boolean or floating-point, got {mask.dtype}")
    # in the scores' dtype, as PyTorch adds a float32 mask to float64 or float16 scores
    return add(scores, cast(mask, scores.dtype))


def attention_weights(scores):
    """``softmax(scores)`` over the keys, but 0 for a query that may attend to no key.

    Such a query (every score -inf) gets the weights 0, so its output is 0, as PyTorch's
    scaled_dot_product_attention gives, rather than the nan of a softmax over only -inf.
    """
    xp = get_array_module(scores._data)
    if _trace_recorder.get() is None:
        dead = _dead_queries(scores._data)
        if type(dead) is MetaArray or not dead.any():  # a meta tensor has no dead queries
            return softmax(scores, dim=-1)
        dead = Tensor(dead)
    else:  # a trace replays other masks too: the dead queries are found again at each call
        dead = nondiff(_dead_queries, scores)
    zero = Tensor(xp.zeros((), dtype=scores.dtype))
    return where(dead, zero, softmax(where(dead, zero, scores), dim=-1))


def _dead_queries(scores):
    return get_array_module(scores).all(scores == -math.inf, axis=-1, keepdims=True)


def _invert(mask):
    return ~mask


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale=None, enable_gqa: bool = False,
                                 *, rng=None) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value``, as ``torch.nn.functional`` computes it.

    Args:
        query: (..., L, E) Tensor.
        key: (..., S, E) Tensor.
        value: (..., S, Ev) Tensor.
        attn_mask: boolean (True: may attend) or float (added to the scores), broadcastable to
            (..., L, S), or a ``CausalBias`` (``nn.attention.bias.causal_lower_right(L, S)``).
        dropout_p: dropout probability of the attention weights.
        is_causal: each query attends only to keys at or before its position; not together with
            ``attn_mask``. A query that may attend to no key gets the output 0 (as in PyTorch).
        scale: the factor of the scores (default ``1 / sqrt(E)``).
        enable_gqa: grouped-query attention: key and value have fewer heads (axis -3) than the
            query, a divisor of its heads; each serves a group of consecutive query heads.
        rng: numpy Generator for the dropout (None: the default generator).

    Returns:
        (..., L, Ev) Tensor.
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor) or t.ndim < 2:
            raise ValueError(f"scaled_dot_product_attention: {name} must be a Tensor of at least "
                             f"2 dimensions, got {getattr(t, 'shape', type(t).__name__)}")
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
    if isinstance(attn_mask, CausalBias):  # PyTorch's dispatch: its own causal mask if it can
        if attn_mask.variant == CausalVariant.UPPER_LEFT or \
                attn_mask.seq_len_q == attn_mask.seq_len_kv:
            attn_mask, is_causal = None, True
        else:
            attn_mask = attn_mask._materialize(query.device)
    mask_dtype = getattr(attn_mask, "dtype", None)
    if mask_dtype is not None and mask_dtype.kind == "f" and mask_dtype not in (
            query.dtype, get_array_module(query._data).dtype("float32")):
        raise TypeError(f"scaled_dot_product_attention: a float attn_mask must be float32 or "
                        f"have the query's dtype {query.dtype}, got {mask_dtype}")
    # PyTorch reads a 0-d tensor (a buffer d ** -0.5) that needs no gradient as its number
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else plain_number(scale)
    if not isinstance(scale, numbers.Real):
        raise TypeError(f"scaled_dot_product_attention: scale must be a number or a 0-d Tensor "
                        f"that does not require grad, got {scale!r}")
    if enable_gqa:
        key, value = _repeat_heads(query, key), _repeat_heads(query, value)
    scores = matmul(query, transpose(key, -2, -1)) * float(scale)
    _check_mask_shape(getattr(attn_mask, "shape", None), tuple(scores.shape))
    weights = attention_weights(attention_mask_bias(scores, attn_mask, is_causal))
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True, rng=rng)
    return matmul(weights, value)


def _check_mask_shape(mask, scores):
    """A mask must broadcast to the scores (..., L, S), not widen them (a (N, 1, 1, S) padding
    mask of 3-D inputs would otherwise give an (N, N, L, Ev) output), as PyTorch refuses it."""
    if mask is None:
        return
    if len(mask) > len(scores) or any(m not in (1, s) for m, s in zip(mask[::-1], scores[::-1])):
        raise ValueError(f"scaled_dot_product_attention: attn_mask of shape {tuple(mask)} does "
                         f"not broadcast to the attention scores' shape {scores} (..., L, S)")


def _repeat_heads(query, kv):
    """``kv`` with each of its heads (axis -3) repeated for its group of query heads."""
    if query.ndim < 3 or kv.ndim < 3 or query.shape[-3] % kv.shape[-3]:
        raise ValueError("scaled_dot_product_attention: enable_gqa needs heads on axis -3, the "
                         "query's a multiple of the key's and value's, got shapes "
                         f"{tuple(query.shape)} and {tuple(kv.shape)}")
    group = query.shape[-3] // kv.shape[-3]
    if group == 1:
        return kv
    xp = get_array_module(kv._data)
    return index_select(kv, kv.ndim - 3, xp.arange(query.shape[-3]) // group)
