"""``nn.utils.rnn`` as in PyTorch: ``pad_sequence``, and packed sequences (``nn.packing``):
``pack_padded_sequence``, ``pad_packed_sequence``, ``pack_sequence`` and ``PackedSequence``, which
``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` run over each sequence's own steps only.

Padding is composed of ``concat`` and ``stack``, so the gradient flows back to each sequence's
own steps (the padding gets none).
"""

from __future__ import annotations

from ...autograd import Tensor
from ...backend import get_array_module
from ...ops.join import concat, stack
from ..packing import PackedSequence, pack_padded_sequence, pad_packed_sequence

__all__ = ["PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence",
           "pad_sequence"]


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of different lengths into one tensor, padding the short ones.

    Args:
        sequences: Tensors of shape (L_i, *) with the same trailing shape and dtype.
        batch_first: give (B, T, *) rather than (T, B, *), T the longest length.
        padding_value: the value of the added steps.
        padding_side: "right" (after each sequence, PyTorch's default) or "left".

    >>> import chainrule as cr
    >>> pad_sequence([cr.tensor([1, 2, 3]), cr.tensor([4])], batch_first=True)
    tensor([[1, 2, 3],
            [4, 0, 0]], dtype=int64)
    """
    seqs = list(sequences)
    if not seqs or not all(isinstance(s, Tensor) for s in seqs):
        raise TypeError(f"pad_sequence: sequences must be a non-empty list of Tensors, got "
                        f"{[type(s).__name__ for s in seqs] or 'nothing'}")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got "
                         f"{padding_side!r}")
    tail = seqs[0].shape[1:]
    for i, s in enumerate(seqs):
        if s.ndim == 0 or s.shape[1:] != tail:
            raise ValueError(f"pad_sequence: every sequence needs the shape (L, *{tail}) of the "
                             f"first, sequence {i} has shape {tuple(s.shape)}")
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        missing = longest - s.shape[0]
        if missing:
            xp = get_array_module(s._data)
            fill = Tensor(xp.full((missing, *tail), padding_value, dtype=s.dtype))
            s = concat([s, fill] if padding_side == "right" else [fill, s], dim=0)
        padded.append(s)
    return stack(padded, dim=0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of Tensors (L_i, *): ``pack_padded_sequence(pad_sequence(sequences), ...)``."""
    sequences = list(sequences)
    lengths = [s.shape[0] if isinstance(s, Tensor) and s.ndim else 0 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
