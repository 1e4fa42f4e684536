"""``nn.utils.rnn`` as in PyTorch: ``pad_sequence`` and ``unpad_sequence``, packed sequences
(``nn.packing``): ``pack_padded_sequence``, ``pad_packed_sequence``, ``pack_sequence``,
``unpack_sequence`` and ``PackedSequence``, which ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` run over
each sequence's own steps only, and ``invert_permutation``.

Padding is composed of ``concat`` and ``stack``, unpadding of slices, so the gradient flows back
to each sequence's own steps (the padding gets none).
"""

from __future__ import annotations

from ...autograd import Tensor
from ...autograd.trace_guard import guard_value
from ...backend import asnumpy, get_array_module
from ...ops.join import concat, stack
from ..packing import PackedSequence, _fill_value, pack_padded_sequence, pad_packed_sequence

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pack_sequence",
           "pad_packed_sequence", "pad_sequence", "unpack_sequence", "unpad_sequence"]


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of different lengths into one tensor, padding the short ones.

    Args:
        sequences: Tensors of shape (L_i, *) with the same trailing shape; the result has the
            first one's dtype, as in PyTorch.
        batch_first: give (B, T, *) rather than (T, B, *), T the longest length.
        padding_value: the value of the added steps.
        padding_side: "right" (after each sequence, PyTorch's default) or "left".

    >>> import chainrule as cr
    >>> pad_sequence([cr.tensor([1, 2, 3]), cr.tensor([4])], batch_first=True)
    tensor([[1, 2, 3],
            [4, 0, 0]])
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
    _fill_value("pad_sequence", padding_value, seqs[0].dtype)
    padded = []
    for s in seqs:
        if s.dtype != seqs[0].dtype:  # PyTorch's result has the first sequence's dtype
            s = s.to(seqs[0].dtype)
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


def unpad_sequence(padded_sequences, lengths, batch_first: bool = False) -> list:
    """The sequences of a padded batch, each cut to its length: ``pad_sequence``'s inverse.

    Args:
        padded_sequences: Tensor (T, B, *), or (B, T, *) with ``batch_first``.
        lengths: B ints (a list or an integer Tensor), each at most T.
        batch_first: whether the batch is the first dimension.

    Returns:
        a list of B Tensors of shapes (lengths[i], *), slices of the batch (differentiable).
    """
    if not isinstance(padded_sequences, Tensor) or padded_sequences.ndim < 2:
        raise TypeError(f"unpad_sequence: padded_sequences must be a Tensor of at least 2 "
                        f"dimensions, got {type(padded_sequences).__name__}"
                        + (f" of shape {tuple(padded_sequences.shape)}"
                           if isinstance(padded_sequences, Tensor) else ""))
    guard_value(lengths, "unpad_sequence", "lengths")  # the cuts a trace replays
    sizes = asnumpy(lengths._data) if isinstance(lengths, Tensor) else lengths
    sizes = [int(n) for n in list(sizes)]
    batch, steps = (padded_sequences.shape[:2] if batch_first
                    else padded_sequences.shape[1::-1])
    if len(sizes) != batch or any(n < 0 or n > steps for n in sizes):
        raise ValueError(f"unpad_sequence: lengths must hold {batch} ints in [0, {steps}] for "
                         f"padded_sequences of shape {tuple(padded_sequences.shape)} "
                         f"(batch_first={batch_first}), got {sizes}")
    if batch_first:
        return [padded_sequences[i, :n] for i, n in enumerate(sizes)]
    return [padded_sequences[:n, i] for i, n in enumerate(sizes)]


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The sequences of a PackedSequence, as a list in the original batch order:
    ``pack_sequence``'s inverse."""
    if not isinstance(packed_sequences, PackedSequence):
        raise TypeError(f"unpack_sequence: packed_sequences must be a PackedSequence, got "
                        f"{type(packed_sequences).__name__}")
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def invert_permutation(permutation):
    """The inverse of ``permutation`` (an int64 Tensor holding 0..n-1 once each): ``inv`` with
    ``inv[permutation[i]] = i``; None gives None, as PyTorch's."""
    if permutation is None:
        return None
    if not isinstance(permutation, Tensor) or permutation.ndim != 1 or (
            permutation.dtype.kind not in "iu"):
        raise TypeError(f"invert_permutation: permutation must be a 1-D integer Tensor or None, "
                        f"got {permutation!r}")
    p = permutation._data
    xp = get_array_module(p)
    if not bool((xp.sort(p) == xp.arange(p.shape[0])).all()):
        raise ValueError(f"invert_permutation: permutation must hold each of 0..{p.shape[0] - 1} "
                         f"once, got {asnumpy(p).tolist()}")
    out = xp.empty_like(p)
    out[p] = xp.arange(p.shape[0], dtype=p.dtype)
    return Tensor(out)
