"""Multi-head attention with PyTorch's parameter names and layout (``in_proj_weight``...).

The query, key and value projections are the three row blocks of ``in_proj_weight`` (3E, E), the
heads are slices of the projected features, and ``out_proj`` merges them: a state dict moves
between this module and ``torch.nn.MultiheadAttention`` unchanged.
"""

from __future__ import annotations

import math

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops import activation as A  # noqa: N812 - short alias for the op family
from ..ops.attention import attention_mask_bias
from ..ops.dropout import dropout
from ..ops.linalg import linear, matmul
from ..ops.shape import permute, reshape, transpose
from . import init
from ._checks import float_dtype, positive_int, probability, resolve_rng
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Attention of ``num_heads`` heads of ``embed_dim // num_heads`` features each.

    Args:
        embed_dim: features of the query, key and value (and of the output).
        num_heads: heads; must divide ``embed_dim``.
        dropout: dropout probability of the attention weights (training mode only).
        bias: learn the projections' biases.
        batch_first: inputs are (N, L, E) rather than (L, N, E).
        rng: numpy Generator for initialization and dropout (None: the default generator).
        dtype: dtype of the parameters.

    ``add_bias_kv``, ``add_zero_attn`` and a ``kdim``/``vdim`` other than ``embed_dim`` are not
    supported (a ValueError says so).

    Shape:
        query (L, N, E), key and value (S, N, E) -> output (L, N, E) and, with ``need_weights``,
        the weights (N, L, S) averaged over the heads (or (N, H, L, S)).
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
        if add_bias_kv or add_zero_attn or kdim not in (None, embed_dim) \
                or vdim not in (None, embed_dim):
            raise ValueError(f"{who}: add_bias_kv, add_zero_attn and kdim/vdim other than "
                             "embed_dim are not supported")
        self.dropout = probability(who, dropout)
        self.batch_first = bool(batch_first)
        self.head_dim = embed_dim // num_heads
        dt = float_dtype(dtype, who)
        xp = get_array_module()
        rng = resolve_rng(rng, who)
        self._rng = rng
        self.in_proj_weight = Parameter(xp.empty((3 * embed_dim, embed_dim), dtype=dt))
        if bias:
            self.in_proj_bias = Parameter(xp.zeros(3 * embed_dim, dtype=dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, rng=rng, dtype=dt)
        init.xavier_uniform_(self.in_proj_weight, rng=rng)
        if bias:
            init.zeros_(self.out_proj.bias)

    def _heads(self, x, n):
        """(N, T, E) -> (N, H, T, D)."""
        return permute(reshape(x, n, x.shape[1], self.num_heads, self.head_dim), 0, 2, 1, 3)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        """Attend from ``query`` to ``key``/``value``; returns ``(output, weights or None)``.

        ``attn_mask`` (L, S) or (N*H, L, S): boolean True = may NOT attend (PyTorch's reading
        here), or float added to the scores. ``key_padding_mask`` (N, S): True = padding.
        """
        if query.ndim != 3:
            raise ValueError(f"MultiheadAttention: expected 3-D inputs "
                             f"({'N, L, E' if self.batch_first else 'L, N, E'}), got shape "
                             f"{query.shape}")
        if not self.batch_first:
            query, key, value = (transpose(t, 0, 1) for t in (query, key, value))
        n, L, E = query.shape
        S = key.shape[1]
        w, b = self.in_proj_weight, self.in_proj_bias
        parts = [(w[i * E:(i + 1) * E], None if b is None else b[i * E:(i + 1) * E])
                 for i in range(3)]
        q, k, v = (self._heads(linear(x, wi, bi), n)
                   for x, (wi, bi) in zip((query, key, value), parts, strict=True))
        scores = matmul(q, transpose(k, -2, -1)) * (1.0 / math.sqrt(self.head_dim))
        scores = self._masked(scores, attn_mask, key_padding_mask, is_causal, n, L, S)
        weights = A.softmax(scores, dim=-1)
        if self.training and self.dropout > 0:
            weights = dropout(weights, self.dropout, True, rng=self._rng)
        out = reshape(permute(matmul(weights, v), 0, 2, 1, 3), n, L, E)
        out = self.out_proj(out)
        if not self.batch_first:
            out = transpose(out, 0, 1)
        if not need_weights:
            return out, None
        return out, (weights.mean(dim=1) if average_attn_weights else weights)

    def _masked(self, scores, attn_mask, key_padding_mask, is_causal, n, L, S):
        xp = get_array_module(scores.data)
        if attn_mask is not None:
            mask = attn_mask.data if isinstance(attn_mask, Tensor) else xp.asarray(attn_mask)
            if mask.ndim == 3:  # (N*H, L, S)
                mask = mask.reshape(n, self.num_heads, L, S)
            scores = attention_mask_bias(scores, Tensor(mask), False, allowed_when_true=False)
        elif is_causal:
            scores = attention_mask_bias(scores, None, True)
        if key_padding_mask is not None:
            pad = key_padding_mask.data if isinstance(key_padding_mask, Tensor) \
                else xp.asarray(key_padding_mask)
            scores = attention_mask_bias(scores, Tensor(pad.reshape(n, 1, 1, S)), False,
                                         allowed_when_true=False)
        return scores

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")
