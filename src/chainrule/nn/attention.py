"""Multi-head attention with PyTorch's parameter names and layout (``in_proj_weight``...).

The query, key and value projections are the three row blocks of ``in_proj_weight`` (3E, E), or
``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` when keys or values have other widths
(``kdim``/``vdim``); the heads are slices of the projected features, and ``out_proj`` merges them:
a state dict moves between this module and ``torch.nn.MultiheadAttention`` unchanged.
"""

from __future__ import annotations

import sys

from ..backend import get_array_module
from ..ops import attention_bias as bias
from ..ops import flex_attention
from . import init
from ._attention_core import attend
from ._checks import float_dtype, positive_int, probability, resolve_rng
from .linear import Linear
from .module import Module
from .parameter import Parameter
from .sdpa_backend import SDPBackend, sdpa_kernel

__all__ = ["MultiheadAttention", "NonDynamicallyQuantizableLinear", "SDPBackend", "bias",
           "flex_attention", "sdpa_kernel"]

# PyTorch's submodule paths (``from torch.nn.attention.bias import causal_lower_right``) name
# these two ops modules here, so ported imports work as written.
sys.modules[__name__ + ".bias"] = bias
sys.modules[__name__ + ".flex_attention"] = flex_attention


class NonDynamicallyQuantizableLinear(Linear):
    """PyTorch's class of ``MultiheadAttention.out_proj``: a ``Linear`` (chainrule quantizes
    nothing); the name is what ``print(model)`` shows for it, as PyTorch's."""


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
        self.out_proj = NonDynamicallyQuantizableLinear(E, E, bias=bias, rng=rng, dtype=dt)
        if add_bias_kv:
            self.bias_k = Parameter(xp.empty((1, 1, E), dtype=dt))
            self.bias_v = Parameter(xp.empty((1, 1, E), dtype=dt))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self):
        """PyTorch's initialization (its name too): Xavier-uniform projections, zero biases,
        Xavier-normal ``bias_k``/``bias_v``; ``out_proj.weight`` keeps ``Linear``'s."""
        rng = self._rng
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight, rng=rng)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w, rng=rng)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k, rng=rng)
            init.xavier_normal_(self.bias_v, rng=rng)

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
        float mask added to the scores). ``is_causal``: a hint that ``attn_mask`` is the causal
        mask (which it needs, as PyTorch does); the mask given is applied.
        """
        # out_proj's weight and bias, not the module: as PyTorch's, its forward (and any hook
        # on it) is never called
        out_proj = (self.out_proj.weight, self.out_proj.bias)
        return attend("MultiheadAttention", query, key, value, self.num_heads,
                      self._projections(), out_proj, bias_k=self.bias_k,
                      bias_v=self.bias_v, add_zero_attn=self.add_zero_attn,
                      dropout_p=self.dropout, training=self.training, rng=self._rng,
                      key_padding_mask=key_padding_mask, need_weights=need_weights,
                      attn_mask=attn_mask, average_attn_weights=average_attn_weights,
                      is_causal=is_causal, batch_first=self.batch_first)

    def merge_masks(self, attn_mask, key_padding_mask, query):
        """PyTorch's helper of its fast path: ``(mask, mask_type)``. Only ``key_padding_mask``
        (N, S): itself, type 1; an ``attn_mask`` (L, L) or (N*H, L, L): it as (N, H, L, L), type
        2, plus (for bools: or) the padding mask as (N, 1, 1, L) where one is given; neither:
        ``(None, None)``. ``query`` is (N, L, E), batch first, as PyTorch's reads it."""
        merged, mask_type = None, None
        if key_padding_mask is not None:
            merged, mask_type = key_padding_mask, 1
        if attn_mask is not None:
            batch, length, _ = query.shape
            if attn_mask.ndim == 3:
                merged = attn_mask.view(batch, -1, length, length)
            else:
                merged = attn_mask.view(1, 1, length, length).expand(
                    batch, self.num_heads, -1, -1)
            if key_padding_mask is not None:
                merged = merged + key_padding_mask.view(batch, 1, 1, length).expand(
                    -1, self.num_heads, -1, -1)
            mask_type = 2
        return merged, mask_type
