"""The computation of multi-head attention from its weights, shared by ``nn.MultiheadAttention``
and PyTorch's functional form ``F.multi_head_attention_forward``: project, split into heads,
optionally append a learned key/value and a zero one, mask, softmax, merge, project out."""

from __future__ import annotations

import math

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.attention import attention_mask_bias, attention_weights
from ..ops.dropout import dropout
from ..ops.join import concat
from ..ops.linalg import linear, matmul
from ..ops.shape import broadcast_to, permute, reshape, squeeze, transpose, unsqueeze
from ..ops.softmax import softmax

__all__ = ["attend"]


def attend(who, query, key, value, num_heads, projections, out_proj, *, bias_k=None,
           bias_v=None, add_zero_attn=False, dropout_p=0.0, training=False, rng=None,
           key_padding_mask=None, need_weights=True, attn_mask=None, average_attn_weights=True,
           is_causal=False, batch_first=False, static_k=None, static_v=None):
    """Multi-head attention of ``query`` to ``key``/``value``: ``(output, weights or None)``.

    ``projections`` holds the (weight, bias) pairs of the query, key and value projections;
    ``out_proj`` is the output projection's (weight, bias). ``who`` names the caller in error
    messages. ``static_k``/``static_v`` (N*H, S, D) replace the projected keys/values. Shapes and
    masks as ``nn.MultiheadAttention.forward``.
    """
    (wq, bq), (wk, bk), (wv, bv) = projections
    if is_causal and attn_mask is None:
        # PyTorch reads is_causal as a hint about attn_mask, never as a mask of its own
        raise ValueError(f"{who}: is_causal=True needs attn_mask, the causal mask it describes "
                         "(e.g. Transformer.generate_square_subsequent_mask(L)), got None")
    E, kdim, vdim = wq.shape[0], wk.shape[1], wv.shape[1]
    if query.ndim not in (2, 3):
        raise ValueError(f"{who}: expected 3-D inputs ({'N, L, E' if batch_first else 'L, N, E'}) "
                         f"or 2-D unbatched ones (L, E), got shape {tuple(query.shape)}")
    batched = query.ndim == 3
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"{who}: query, key and value must have the same number of dimensions, "
                         f"got shapes {tuple(query.shape)}, {tuple(key.shape)}, "
                         f"{tuple(value.shape)}")
    for name, t, width in (("query", query, E), ("key", key, kdim), ("value", value, vdim)):
        if t.shape[-1] != width:
            raise ValueError(f"{who}: {name} must have {width} features (the last axis), got "
                             f"shape {tuple(t.shape)}")
    if not batched:  # (T, E) -> (1, T, E)
        query, key, value = (unsqueeze(t, 0) for t in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = _as_mask(key_padding_mask)
            if key_padding_mask.shape != key.shape[1:2]:
                raise ValueError(f"{who}: key_padding_mask of unbatched inputs must have shape "
                                 f"(S,) = {key.shape[1:2]}, got {tuple(key_padding_mask.shape)}")
            key_padding_mask = unsqueeze(key_padding_mask, 0)
    elif not batch_first:
        query, key, value = (transpose(t, 0, 1) for t in (query, key, value))
    n, L, _ = query.shape
    head_dim = E // num_heads
    if not (is_causal and not need_weights and key_padding_mask is None):
        _check_mask_dtypes(who, query.dtype, attn_mask, key_padding_mask, need_weights)
    S = _check_shapes(who, key, value, key_padding_mask, attn_mask, n, L, num_heads, head_dim,
                      static_k, static_v, bias_k)
    q = _heads(linear(query, wq, bq), n, num_heads, head_dim)
    k, v = linear(key, wk, bk), linear(value, wv, bv)
    if bias_k is not None:
        k = concat([k, broadcast_to(bias_k, (n, 1, E))], dim=1)
        v = concat([v, broadcast_to(bias_v, (n, 1, E))], dim=1)
        attn_mask, key_padding_mask = _pad(attn_mask), _pad(key_padding_mask)
    k, v = _heads(k, n, num_heads, head_dim), _heads(v, n, num_heads, head_dim)
    if static_k is not None:
        k = reshape(static_k, n, num_heads, S, head_dim)
    if static_v is not None:
        v = reshape(static_v, n, num_heads, S, head_dim)
    if add_zero_attn:
        xp = get_array_module(k._data)
        zero = Tensor(xp.zeros((n, num_heads, 1, head_dim), dtype=k.dtype))
        k, v = concat([k, zero], dim=2), concat([v, zero], dim=2)
        attn_mask, key_padding_mask = _pad(attn_mask), _pad(key_padding_mask)
    S = k.shape[2]
    scores = matmul(q, transpose(k, -2, -1)) * (1.0 / math.sqrt(head_dim))
    scores = _masked(scores, attn_mask, key_padding_mask, n, L, S, num_heads)
    # PyTorch computes the weights it returns with a plain softmax (nan for a query that may
    # attend to no key) and, when it returns none, attends with scaled_dot_product_attention
    # (weights 0 and output 0 for such a query, so nan never spreads through a model).
    weights = softmax(scores, dim=-1) if need_weights else attention_weights(scores)
    if training and dropout_p > 0:
        weights = dropout(weights, dropout_p, True, rng=rng)
    out = reshape(permute(matmul(weights, v), 0, 2, 1, 3), n, L, E)
    out = linear(out, *out_proj)
    if not batched:
        out = squeeze(out, 0)
    elif not batch_first:
        out = transpose(out, 0, 1)
    if not need_weights:
        return out, None
    weights = weights.mean(dim=1) if average_attn_weights else weights
    return out, (squeeze(weights, 0) if not batched else weights)


def _heads(x, n, num_heads, head_dim):
    """(N, T, E) -> (N, H, T, D)."""
    return permute(reshape(x, n, x.shape[1], num_heads, head_dim), 0, 2, 1, 3)


def _check_shapes(who, key, value, key_padding_mask, attn_mask, n, L, num_heads, head_dim,
                  static_k, static_v, bias_k):
    """Clear errors, naming the argument, for what would otherwise fail deep in an op; returns
    the number of keys S (that of ``static_k`` when given)."""
    S = key.shape[1]
    if key.shape[0] != n or value.shape[0] != n or value.shape[1] != S:
        raise ValueError(f"{who}: key and value must have the query's batch size {n} and one "
                         f"length S, got key of {S} steps x {key.shape[0]} and value of "
                         f"{value.shape[1]} steps x {value.shape[0]}")
    nh = n * num_heads
    statics = [(name, s) for name, s in (("static_k", static_k), ("static_v", static_v))
               if s is not None]
    if statics and bias_k is not None:
        raise ValueError(f"{who}: static_k/static_v cannot be combined with bias_k/bias_v")
    for name, s in statics:
        if s.ndim != 3 or s.shape[0] != nh or s.shape[2] != head_dim:
            raise ValueError(f"{who}: {name} must have shape (N*num_heads, S, head_dim) = "
                             f"({nh}, S, {head_dim}), got {tuple(s.shape)}")
    if statics:
        S = statics[0][1].shape[1]
        if len(statics) == 2 and static_v.shape[1] != S:
            raise ValueError(f"{who}: static_k and static_v must have one length S, got shapes "
                             f"{tuple(static_k.shape)} and {tuple(static_v.shape)}")
    for name, mask, shapes in (
            ("key_padding_mask", key_padding_mask, {(n, S): "(N, S)"}),
            ("attn_mask", attn_mask, {(L, S): "(L, S)", (nh, L, S): "(N*num_heads, L, S)"})):
        if mask is None:
            continue
        m = _as_mask(mask)
        if m.dtype.kind not in "bf":
            raise TypeError(f"{who}: {name} must be boolean or floating-point, got {m.dtype}")
        if tuple(m.shape) not in shapes:
            wanted = " or ".join(f"{k} = {v}" for v, k in shapes.items())
            raise ValueError(f"{who}: {name} must have shape {wanted}, got {tuple(m.shape)}")
    return S


def _check_mask_dtypes(who, dtype, attn_mask, key_padding_mask, need_weights):
    """PyTorch's rule for float masks: the masks (a boolean one taken in the query's dtype) are
    summed; with ``need_weights`` the sum must have the query's dtype (it is added to the scores
    in place), without it float32 or the query's dtype (``scaled_dot_product_attention``'s)."""
    masks = {name: _as_mask(m).dtype for name, m in (("attn_mask", attn_mask),
                                                      ("key_padding_mask", key_padding_mask))
             if m is not None}
    floats = [d for d in masks.values() if d.kind == "f"]
    if not floats:
        return
    xp = get_array_module()
    bools = [dtype] if any(d.kind == "b" for d in masks.values()) else []
    merged = xp.result_type(*floats, *bools)
    allowed = [dtype] if need_weights else [dtype, xp.dtype("float32")]
    if merged not in allowed:
        got = ", ".join(f"{name} {d}" for name, d in masks.items())
        also = "" if len(set(allowed)) == 1 else " or float32"  # not "float32 or float32"
        raise TypeError(f"{who}: float masks must have the query's dtype {dtype}{also} "
                        f"(need_weights={need_weights}), got {got}")


def _masked(scores, attn_mask, key_padding_mask, n, L, S, num_heads):
    # Masks stay Tensors: a float mask that requires grad (a learned position bias) gets its
    # gradient, as in PyTorch.
    if attn_mask is not None:
        mask = _as_mask(attn_mask)
        if mask.ndim == 3:  # (N*H, L, S)
            mask = reshape(mask, n, num_heads, L, S)
        scores = attention_mask_bias(scores, mask, False, allowed_when_true=False)
    if key_padding_mask is not None:
        pad = reshape(_as_mask(key_padding_mask), n, 1, 1, S)
        scores = attention_mask_bias(scores, pad, False, allowed_when_true=False)
    return scores


def _as_mask(mask):
    """A mask as a Tensor: itself when it is one, else made from an array or a nested list."""
    if isinstance(mask, Tensor):
        return mask
    return Tensor(get_array_module(mask).asarray(mask))


def _pad(mask):
    """``mask`` with one more key column at the end, open to attention (False, or 0.0)."""
    if mask is None:
        return None
    m = _as_mask(mask)
    xp = get_array_module(m._data)
    return concat([m, Tensor(xp.zeros(m.shape[:-1] + (1,), dtype=m.dtype))], dim=-1)
