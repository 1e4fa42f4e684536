"""Transformer encoder and decoder layers and stacks, with PyTorch's names and layouts.

``TransformerEncoderLayer`` is self-attention then a two-layer feed-forward net, each a residual
branch with dropout and layer normalization (after the branch, or before it with
``norm_first``); the decoder layer adds attention to the encoder's output between the two. The
children are named as in PyTorch (``self_attn``, ``linear1``, ``norm1``...), so state dicts load
strictly both ways.
"""

from __future__ import annotations

import copy

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..backend.random import default_generator
from ..ops import activation as A  # noqa: N812 - short alias for the op family
from ..ops.creation import full, triu
from . import init
from ._checks import resolve_rng
from .activation import GELU, ReLU
from .attention import MultiheadAttention
from .containers import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerEncoderLayer"]

_ACTIVATIONS = {"relu": A.relu, "gelu": A.gelu}


def _activation(who, activation):
    if callable(activation):
        return activation
    if activation not in _ACTIVATIONS:
        raise ValueError(f"{who}: activation must be 'relu', 'gelu' or a function, "
                         f"got {activation!r}")
    return _ACTIVATIONS[activation]


class _Layer(Module):
    def _common(self, who, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                batch_first, norm_first, bias, rng, dtype, norms):
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias,
                                            batch_first=batch_first, rng=rng, dtype=dtype)
        if norms == 3:  # the decoder's attention to memory, second as in PyTorch's order
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout, bias,
                                                     batch_first=batch_first, rng=rng, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias, rng=rng, dtype=dtype)
        self.dropout = Dropout(dropout, rng=rng)
        self.linear2 = Linear(dim_feedforward, d_model, bias, rng=rng, dtype=dtype)
        for i in range(1, norms + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype))
        for i in range(1, norms + 1):
            setattr(self, f"dropout{i}", Dropout(dropout, rng=rng))
        self.norm_first = bool(norm_first)
        self.activation = _activation(who, activation)
        if norms == 2:  # PyTorch's flag of the encoder layer: 1 for ReLU, 2 for GELU, else 0
            act = self.activation
            self.activation_relu_or_gelu = (1 if act is A.relu or isinstance(act, ReLU) else
                                            2 if act is A.gelu or isinstance(act, GELU) else 0)

    # The blocks have PyTorch's signatures: subclasses call and override them by these names.
    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        drop = getattr(self, self._FF_DROPOUT)  # the encoder's dropout2, the decoder's dropout3
        return drop(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(_Layer):
    """Self-attention and feed-forward, each a residual branch (Vaswani et al., 2017).

    Args:
        d_model: features per position.
        nhead: attention heads.
        dim_feedforward: hidden width of the feed-forward net.
        dropout: dropout probability (attention weights and both branches).
        activation: "relu", "gelu" or a function.
        layer_norm_eps: the layer norms' eps.
        batch_first: inputs are (N, S, E) rather than (S, N, E).
        norm_first: normalize before each branch (pre-LN) rather than after the residual sum.
        bias: learn the biases of the linear maps and layer norms.
        rng: numpy Generator for initialization and dropout (None: the default generator).
    """

    _FF_DROPOUT = "dropout2"

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation="relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, *,
                 rng=None, dtype=None):
        super().__init__()
        self._common("TransformerEncoderLayer", d_model, nhead, dim_feedforward, dropout,
                     activation, layer_norm_eps, batch_first, norm_first, bias, rng, dtype, 2)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask,
                                   is_causal=is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask,
                                          is_causal=is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerDecoderLayer(_Layer):
    """Self-attention, attention to the encoder's output (``memory``) and feed-forward.

    Arguments as ``TransformerEncoderLayer``; the cross-attention is ``multihead_attn``.
    """

    _FF_DROPOUT = "dropout3"

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation="relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, *,
                 rng=None, dtype=None):
        super().__init__()
        self._common("TransformerDecoderLayer", d_model, nhead, dim_feedforward, dropout,
                     activation, layer_norm_eps, batch_first, norm_first, bias, rng, dtype, 3)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, need_weights=False,
                                is_causal=is_causal)[0]
        return self.dropout2(x)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask,
                                   is_causal=tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                                    is_causal=memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask,
                                          is_causal=tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                           is_causal=memory_is_causal))
        return self.norm3(x + self._ff_block(x))


def _get_activation_fn(activation):
    """PyTorch's helper: the function of the activation named "relu" or "gelu"."""
    if activation not in _ACTIVATIONS:
        raise ValueError(f"_get_activation_fn: activation must be 'relu' or 'gelu', got "
                         f"{activation!r}")
    return _ACTIVATIONS[activation]


def _get_clones(module, N):  # noqa: N803 - PyTorch's name
    """PyTorch's helper: a ModuleList of ``N`` independent copies of ``module``."""
    return _clones(module, N)


def _clones(layer, n):
    # The copies share the layer's generators (its dropouts' and attention's, or the default
    # one) rather than each getting a frozen copy: copies of one generator would draw the same
    # dropout masks in every layer, and manual_seed would no longer govern the default one.
    shared = {id(g): g for g in _generators(layer)}
    shared[id(default_generator())] = default_generator()
    return ModuleList([copy.deepcopy(layer, dict(shared)) for _ in range(n)])


def _generators(module):
    """The random generators (``rng``) that ``module`` and its children hold."""
    for m in module.modules():
        for value in vars(m).values():
            if hasattr(value, "bit_generator"):
                yield value


def _get_seq_len(src, batch_first):
    """The number of steps of ``src`` (PyTorch's helper of this name): (S, E) unbatched,
    (S, N, E) or with ``batch_first`` (N, S, E)."""
    return src.shape[1 if src.ndim == 3 and batch_first else 0]


def _detect_is_causal_mask(mask, is_causal=None, size=None):
    """A stack's ``is_causal`` as PyTorch reads it (its helper of this name): a hint given is
    kept; None asks whether ``mask`` is the (size, size) causal mask (``size`` None: the mask's
    own), True above the diagonal or -inf there and 0 elsewhere, as
    ``generate_square_subsequent_mask`` makes it. The layers then let attention drop the mask for
    its causal form, as PyTorch's do, so a causal mask of another float dtype than the input's
    is accepted there (without a key padding mask) as in PyTorch."""
    if is_causal is not None or mask is None:
        return bool(is_causal)
    m = mask._data if isinstance(mask, Tensor) else mask
    xp = get_array_module(m)
    m = xp.asarray(m)
    steps = m.shape[-2] if size is None and m.ndim >= 2 else size
    if m.shape != (steps, steps) or m.dtype.kind not in "bf":
        return False
    above = xp.triu(xp.ones((steps, steps), dtype=bool), 1)
    if m.dtype.kind == "b":
        return bool((m == above).all())
    return bool(((m == -xp.inf) == above).all() and (m[~above] == 0).all())


def _stack_is_causal(mask, is_causal, x, layers):
    batch_first = len(layers) and getattr(layers[0].self_attn, "batch_first", False)
    return _detect_is_causal_mask(mask, is_causal, _get_seq_len(x, batch_first))


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (``layers.0``, ``layers.1``...) and an optional
    final ``norm``.

    ``enable_nested_tensor`` and ``mask_check`` are kept as PyTorch's attributes of those names;
    chainrule has no nested-tensor path (``use_nested_tensor`` is False), so the results are
    those of PyTorch's path without it in every mode (docs/pytorch.md)."""

    def __init__(self, encoder_layer, num_layers: int, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor, self.use_nested_tensor = enable_nested_tensor, False
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        x = src
        is_causal = _stack_is_causal(mask, is_causal, src, self.layers)
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=is_causal)
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` and an optional final ``norm``."""

    def __init__(self, decoder_layer, num_layers: int, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        x = tgt
        tgt_is_causal = _stack_is_causal(tgt_mask, tgt_is_causal, tgt, self.layers)
        for layer in self.layers:
            x = layer(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                      memory_key_padding_mask, tgt_is_causal, memory_is_causal)
        return x if self.norm is None else self.norm(x)


class Transformer(Module):
    """The encoder-decoder Transformer: ``encoder`` and ``decoder`` stacks with final norms."""

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", custom_encoder=None, custom_decoder=None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, *, rng=None, dtype=None):
        super().__init__()
        rng = resolve_rng(rng, "Transformer")
        options = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                       layer_norm_eps=layer_norm_eps, batch_first=batch_first,
                       norm_first=norm_first, bias=bias, rng=rng, dtype=dtype)
        # "is None", not "or": an empty Sequential (an identity encoder) is a falsy module.
        self.encoder = custom_encoder if custom_encoder is not None else TransformerEncoder(
            TransformerEncoderLayer(d_model, nhead, **options), num_encoder_layers,
            LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype))
        self.decoder = custom_decoder if custom_decoder is not None else TransformerDecoder(
            TransformerDecoderLayer(d_model, nhead, **options), num_decoder_layers,
            LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype))
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        self._reset_parameters(rng)

    def _reset_parameters(self, rng=None):
        """PyTorch's initialization (its name too): every matrix, a custom stack's too, from
        Xavier's uniform (``rng``: None draws from the default generator)."""
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p, rng=rng)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        batch = 0 if self.batch_first else 1
        if src.ndim == 3 and tgt.ndim == 3 and src.shape[batch] != tgt.shape[batch]:
            raise ValueError(f"Transformer: src and tgt must have one batch size (axis {batch}), "
                             f"got shapes {tuple(src.shape)} and {tuple(tgt.shape)}")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            # PyTorch's check too: a custom encoder or decoder does not widen what it takes
            raise ValueError(f"Transformer: src and tgt must have d_model={self.d_model} features "
                             f"(the last axis), got shapes {tuple(src.shape)} and "
                             f"{tuple(tgt.shape)}")
        # By keyword, as PyTorch calls them: a custom encoder or decoder may order them otherwise.
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None):
        """A float (sz, sz) mask: 0 on and below the diagonal, -inf above (causal attention)."""
        return _generate_square_subsequent_mask(sz, device, dtype)


def _generate_square_subsequent_mask(sz, device=None, dtype=None):
    """PyTorch's helper behind ``Transformer.generate_square_subsequent_mask``."""
    return triu(full((sz, sz), float("-inf"), dtype=dtype, device=device), 1)
