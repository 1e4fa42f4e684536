"""Multi-head attention with PyTorch's parameter names and layout (``in_proj_weight``...).

The query, key and value projections are the three row blocks of ``in_proj_weight`` (3E, E), or
``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` when keys or values have other widths
(``kdim``/``vdim``); the heads are slices of the projected features, and ``out_proj`` merges them:
a state dict moves between this module and ``torch.nn.MultiheadAttention`` unchanged.
"""

from __future__ import annotations

import math

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops._broadcast import broadcast_to
from ..ops.attention import attention_mask_bias, attention_weights
from ..ops.dropout import dropout
from ..ops.join import concat
from ..ops.linalg import linear, matmul
from ..ops.shape import permute, reshape, squeeze, transpose, unsqueeze
from ..ops.softmax import softmax
from . import init
from ._checks import float_dtype, positive_int, probability, resolve_rng
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Attention of ``num_heads`` heads of ``embed_dim // num_heads`` features each.

    Args:
        embed_dim: features of the query (and of the output).
        num_heads: heads; must divide ``embed_dim``.
        dropout: dropout probability of the attention weights (training mode only).
        bias: learn the projections' biases.
        add_bias_kv: learn one more key and value (``bias_k``, ``bias_v``, each (1, 1, E)),
            appended to the projected keys and values of every sequence.
        add_zero_attn: append a zero key and value (after the projection, per head), so that
            every query can attend to "nothing".
        kdim, vdim: features of the key and value inputs (None: ``embed_dim``). When either
            differs from ``embed_dim`` the projections are three matrices, ``q_proj_weight``
            (E, E), ``k_proj_weight`` (E, kdim) and ``v_proj_weight`` (E, vdim), as in PyTorch.
        batch_first: inputs are (N, L, E) rather than (L, N, E).
        rng: numpy Generator for initialization and dropout (None: the default generator).
        dtype: dtype of the parameters (None: the default dtype).

    Shape:
        query (L, N, E), key (S, N, kdim) and value (S, N, vdim) -> output (L, N, E) and, with
        ``need_weights``, the weights (N, L, S') averaged over the heads (or (N, H, L, S')),
        where S' counts the added key of ``add_bias_kv`` and of ``add_zero_attn``. Unbatched
        inputs (L, E), (S, kdim), (S, vdim) give (L, E) and (L, S') or (H, L, S').
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, *, rng=None, dtype=None):
        super().__init__()
        who = "MultiheadAttention"
        self.embed_dim = positive_int(who, "embed_dim", embed_dim)
        self.num_heads = positive_int(who, "num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(f"{who}: embed_dim {embed_dim} is not divisible by num_heads "
                             f"{num_heads}")
        self.kdim = embed_dim if kdim is None else positive_int(who, "kdim", kdim)
        self.vdim = embed_dim if vdim is None else positive_int(who, "vdim", vdim)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout = probability(who, dropout)
        self.batch_first = bool(batch_first)
        self.add_zero_attn = bool(add_zero_attn)
        self.head_dim = embed_dim // num_heads
        dt = float_dtype(dtype, who)
        xp = get_array_module()
        rng = resolve_rng(rng, who)
        self._rng = rng
        E = embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(xp.empty((3 * E, E), dtype=dt))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(xp.empty((E, E), dtype=dt))
            self.k_proj_weight = Parameter(xp.empty((E, self.kdim), dtype=dt))
            self.v_proj_weight = Parameter(xp.empty((E, self.vdim), dtype=dt))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(xp.zeros(3 * E, dtype=dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, rng=rng, dtype=dt)
        if add_bias_kv:
            self.bias_k = Parameter(xp.empty((1, 1, E), dtype=dt))
            self.bias_v = Parameter(xp.empty((1, 1, E), dtype=dt))
        else:
            self.bias_k = self.bias_v = None
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight, rng=rng)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w, rng=rng)
        if bias:
            init.zeros_(self.out_proj.bias)
        if add_bias_kv:
            init.xavier_normal_(self.bias_k, rng=rng)
            init.xavier_normal_(self.bias_v, rng=rng)

    def _heads(self, x, n):
        """(N, T, E) -> (N, H, T, D)."""
        return permute(reshape(x, n, x.shape[1], self.num_heads, self.head_dim), 0, 2, 1, 3)

    def _projections(self):
        """The query, key and value weights and biases."""
        E, b = self.embed_dim, self.in_proj_bias
        biases = [None if b is None else b[i * E:(i + 1) * E] for i in range(3)]
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            weights = [w[i * E:(i + 1) * E] for i in range(3)]
        else:
            weights = [self.q_proj_weight, self.k_proj_weight, self.v_proj_weight]
        return list(zip(weights, biases, strict=True))

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        """Attend from ``query`` to ``key``/``value``; returns ``(output, weights or None)``.

        ``attn_mask`` (L, S) or (N*H, L, S): boolean True = may NOT attend (PyTorch's reading
        here), or float added to the scores. ``key_padding_mask`` (N, S): True = padding (or a
        float mask added to the scores).
        """
        who = "MultiheadAttention"
        if query.ndim not in (2, 3):
            raise ValueError(f"{who}: expected 3-D inputs "
                             f"({'N, L, E' if self.batch_first else 'L, N, E'}) or 2-D unbatched "
                             f"ones (L, E), got shape {tuple(query.shape)}")
        batched = query.ndim == 3
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{who}: query, key and value must have the same number of "
                             f"dimensions, got shapes {tuple(query.shape)}, {tuple(key.shape)}, "
                             f"{tuple(value.shape)}")
        for name, t, width in (("query", query, self.embed_dim), ("key", key, self.kdim),
                               ("value", value, self.vdim)):
            if t.shape[-1] != width:
                raise ValueError(f"{who}: {name} must have {width} features (the last axis), "
                                 f"got shape {tuple(t.shape)}")
        if not batched:  # (T, E) -> (1, T, E)
            query, key, value = (unsqueeze(t, 0) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = _as_mask(key_padding_mask)
                if key_padding_mask.shape != key.shape[1:2]:
                    raise ValueError(f"{who}: key_padding_mask of unbatched inputs must have "
                                     f"shape (S,) = {key.shape[1:2]}, got "
                                     f"{tuple(key_padding_mask.shape)}")
                key_padding_mask = unsqueeze(key_padding_mask, 0)
        elif not self.batch_first:
            query, key, value = (transpose(t, 0, 1) for t in (query, key, value))
        n, L, E = query.shape
        self._check_shapes(key, value, key_padding_mask, attn_mask, n, L)
        (wq, bq), (wk, bk), (wv, bv) = self._projections()
        q, k, v = linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)
        if self.bias_k is not None:
            k = concat([k, broadcast_to(self.bias_k, (n, 1, E))], dim=1)
            v = concat([v, broadcast_to(self.bias_v, (n, 1, E))], dim=1)
            attn_mask, key_padding_mask = _pad(attn_mask), _pad(key_padding_mask)
        q, k, v = (self._heads(t, n) for t in (q, k, v))
        if self.add_zero_attn:
            xp = get_array_module(k._data)
            zero = Tensor(xp.zeros((n, self.num_heads, 1, self.head_dim), dtype=k.dtype))
            k, v = concat([k, zero], dim=2), concat([v, zero], dim=2)
            attn_mask, key_padding_mask = _pad(attn_mask), _pad(key_padding_mask)
        S = k.shape[2]
        scores = matmul(q, transpose(k, -2, -1)) * (1.0 / math.sqrt(self.head_dim))
        scores = self._masked(scores, attn_mask, key_padding_mask, is_causal, n, L, S)
        # PyTorch computes the weights it returns with a plain softmax (nan for a query that may
        # attend to no key) and, when it returns none, attends with scaled_dot_product_attention
        # (weights 0 and output 0 for such a query, so nan never spreads through a model).
        weights = softmax(scores, dim=-1) if need_weights else attention_weights(scores)
        if self.training and self.dropout > 0:
            weights = dropout(weights, self.dropout, True, rng=self._rng)
        out = reshape(permute(matmul(weights, v), 0, 2, 1, 3), n, L, E)
        out = self.out_proj(out)
        if not batched:
            out = squeeze(out, 0)
        elif not self.batch_first:
            out = transpose(out, 0, 1)
        if not need_weights:
            return out, None
        weights = weights.mean(dim=1) if average_attn_weights else weights
        return out, (squeeze(weights, 0) if not batched else weights)

    def _check_shapes(self, key, value, key_padding_mask, attn_mask, n, L):
        """Clear errors, naming the argument, for what would otherwise fail deep in an op."""
        who, S = "MultiheadAttention", key.shape[1]
        if key.shape[0] != n or value.shape[0] != n or value.shape[1] != S:
            raise ValueError(f"{who}: key and value must have the query's batch size {n} and "
                             f"one length S, got key of {S} steps x {key.shape[0]} and value of "
                             f"{value.shape[1]} steps x {value.shape[0]}")
        nh = n * self.num_heads
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

    def _masked(self, scores, attn_mask, key_padding_mask, is_causal, n, L, S):
        # Masks stay Tensors: a float mask that requires grad (a learned position bias) gets
        # its gradient, as in PyTorch.
        if attn_mask is not None:
            mask = _as_mask(attn_mask)
            if mask.ndim == 3:  # (N*H, L, S)
                mask = reshape(mask, n, self.num_heads, L, S)
            scores = attention_mask_bias(scores, mask, False, allowed_when_true=False)
        elif is_causal:
            scores = attention_mask_bias(scores, None, True)
        if key_padding_mask is not None:
            pad = reshape(_as_mask(key_padding_mask), n, 1, 1, S)
            scores = attention_mask_bias(scores, pad, False, allowed_when_true=False)
        return scores

    def extra_repr(self) -> str:
        extra = "" if self._qkv_same_embed_dim else f", kdim={self.kdim}, vdim={self.vdim}"
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}{extra}")


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
