"""A causal self-attention character language model (GPT-style), beside the LSTM ``char_lm``."""

from __future__ import annotations

import numbers

from .. import nn
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..nn._checks import positive_int
from ..ops.creation import arange
from .registry import register
from .textrnn import sample_characters

__all__ = ["CharTransformer"]


@register("char_transformer", summary="causal self-attention character language model "
          "(GPT-style: pre-LN Transformer layers, learned positions)",
          source="Vaswani et al. 2017; Radford et al. 2018 (GPT)")
class CharTransformer(nn.Module):
    """Predict each next character from the ``block`` characters before it, by attention.

    Each character id and each position 0 .. block-1 has a learned vector; their sum passes
    ``num_layers`` pre-LN Transformer encoder layers whose self-attention is causal (position t
    attends to positions <= t only: ``nn.Transformer.generate_square_subsequent_mask``), then a
    final LayerNorm and a linear map to one logit per character. Unlike the LSTM it carries no
    state from one chunk of text to the next: its memory is the window itself, so ``forward``
    accepts and returns ``state`` only to share the LSTM's training loop (it is always None).

    Args:
        vocabulary: the characters (a str), as for ``CharLM``; stored in the checkpoint.
        block: the longest context, in characters (the number of learned positions).
        d_model: features per position.
        num_layers: Transformer layers.
        nhead: attention heads (dividing ``d_model``).
        dropout: dropout in the layers (0: none).
        rng: numpy Generator for the initialization and the dropout masks.

    Shape:
        ids (N, T), T <= block -> logits (N, T, len(vocabulary)), and None.
    """

    def __init__(self, vocabulary: str, block: int = 128, d_model: int = 128,
                 num_layers: int = 4, nhead: int = 4, dropout: float = 0.0, *, rng=None):
        super().__init__()
        who = "CharTransformer"
        if not isinstance(vocabulary, str) or not vocabulary or \
                len(set(vocabulary)) != len(vocabulary):
            shown = vocabulary[:40] if isinstance(vocabulary, str) else vocabulary
            raise ValueError(f"{who}: vocabulary must be a non-empty str of distinct characters, "
                             f"got {shown!r}")
        for name, value in (("block", block), ("d_model", d_model), ("num_layers", num_layers),
                            ("nhead", nhead)):
            positive_int(who, name, value)
        if d_model % nhead:
            raise ValueError(f"{who}: d_model ({d_model}) must be divisible by nhead ({nhead})")
        if (isinstance(dropout, bool) or not isinstance(dropout, numbers.Real)
                or not 0 <= dropout < 1):
            raise ValueError(f"{who}: dropout must be a number in [0, 1), got {dropout!r}")
        self.vocabulary, self.block = vocabulary, block
        self.token = nn.Embedding(len(vocabulary), d_model, rng=rng)
        self.position = nn.Embedding(block, d_model, rng=rng)
        # Each layer initialized on its own (nn.TransformerEncoder would copy one layer's values).
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(d_model, nhead, 4 * d_model, dropout=dropout,
                                       batch_first=True, norm_first=True, rng=rng)
            for _ in range(num_layers)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, len(vocabulary), rng=rng)

    def forward(self, x, state=None):
        t = x.shape[1]
        if t > self.block:
            raise ValueError(f"CharTransformer: {t} characters in a row, more than its block of "
                             f"{self.block} (train with --bptt <= block, or a larger block)")
        h = self.token(x) + self.position(arange(t, device=self.head.weight.device))
        mask = nn.Transformer.generate_square_subsequent_mask(t, dtype=h.dtype,
                                                              device=h.device)
        for layer in self.layers:
            h = layer(h, src_mask=mask, is_causal=True)
        return self.head(self.norm(h)), None

    def sample(self, length: int, *, prime: str = "", temperature: float = 1.0, rng=None,
               top_k: int | None = None) -> str:
        """``length`` characters drawn one at a time after ``prime``, at ``temperature`` (among
        the ``top_k`` likeliest); each step reads the last ``block`` characters (see
        ``CharLM.sample`` for the drawing)."""
        xp = get_array_module(self.head.weight._data)

        def step(ids, new, state):  # attention rereads the whole window every time
            window = Tensor(xp.asarray([ids[-self.block:]], dtype=xp.int64))
            return self(window)[0][0, -1], None

        return sample_characters(self, "CharTransformer.sample", step, length, prime,
                                 temperature, rng, top_k)
