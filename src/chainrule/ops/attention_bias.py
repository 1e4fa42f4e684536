"""Causal attention biases for ``scaled_dot_product_attention`` (PyTorch's
``torch.nn.attention.bias``): a description of a triangular mask, passed as ``attn_mask``.

``causal_upper_left(L, S)`` lets query i attend to keys 0..i (``is_causal=True``);
``causal_lower_right(L, S)`` aligns the triangle to the last key, so that the last query sees
every key: the mask of decoding L new tokens after S - L cached ones.
"""

from __future__ import annotations

import warnings
from enum import IntEnum

from ..autograd.tensor import Tensor
from ..backend import get_array_module, to_device

__all__ = ["CausalBias", "CausalVariant", "causal_lower_right", "causal_upper_left"]


class CausalVariant(IntEnum):
    """Where the causal triangle is anchored: ``UPPER_LEFT`` (query i sees keys up to i) or
    ``LOWER_RIGHT`` (query i sees keys up to i + S - L). The two agree when L == S."""

    UPPER_LEFT = 1
    LOWER_RIGHT = 2


class CausalBias:
    """A causal mask of ``seq_len_q`` queries and ``seq_len_kv`` keys, given to
    ``scaled_dot_product_attention`` as ``attn_mask``; build it with ``causal_upper_left`` or
    ``causal_lower_right``."""

    def __init__(self, variant: CausalVariant, seq_len_q: int, seq_len_kv: int) -> None:
        if not isinstance(variant, CausalVariant):
            raise TypeError(f"CausalBias: variant must be a CausalVariant, got "
                            f"{type(variant).__name__}")
        for name, n in (("seq_len_q", seq_len_q), ("seq_len_kv", seq_len_kv)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise ValueError(f"CausalBias: {name} must be a non-negative int, got {n!r}")
        self.variant, self.seq_len_q, self.seq_len_kv = variant, seq_len_q, seq_len_kv
        if seq_len_q > seq_len_kv and variant == CausalVariant.LOWER_RIGHT:
            # PyTorch's warning; its CPU kernel (and chainrule) give such queries the output 0
            warnings.warn("Lower right causal bias will produce NaNs in the output when "
                          "seq_len_q > seq_len_kv!", stacklevel=2)

    def _materialize(self, device=None) -> Tensor:
        """The boolean (seq_len_q, seq_len_kv) mask, True where a query may attend, on
        ``device`` (default the CPU)."""
        xp = get_array_module()
        offset = self.seq_len_kv - self.seq_len_q if self.variant == CausalVariant.LOWER_RIGHT \
            else 0
        mask = xp.tril(xp.ones((self.seq_len_q, self.seq_len_kv), dtype=bool), offset)
        return Tensor(mask if device is None else to_device(mask, str(device)))

    def __repr__(self) -> str:
        return repr(self._materialize())


def _size(who, size):
    if len(size) != 2:
        raise ValueError(f"{who}: give the two sizes (seq_len_q, seq_len_kv), got {size!r}")
    return size


def causal_upper_left(*size) -> CausalBias:
    """The causal bias of ``is_causal=True``: query i attends to keys 0..i."""
    return CausalBias(CausalVariant.UPPER_LEFT, *_size("causal_upper_left", size))


def causal_lower_right(*size) -> CausalBias:
    """The causal bias aligned to the last key: query i attends to keys 0..i + S - L."""
    return CausalBias(CausalVariant.LOWER_RIGHT, *_size("causal_lower_right", size))
