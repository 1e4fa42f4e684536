"""Text as recurrent nets read it: character ids in reading order, padded batches with lengths,
and the streams of a character language model.

A classifier's texts become ids over Zhang et al.'s alphabet (``data.text.ALPHABET``), read
forward: 0 is the padding, 1 a character outside the alphabet, ``2 + k`` the alphabet's entry k
(text lower-cased). A batch is padded to its own longest text, and each text's length is the
count of its ids before the padding, so the padding can be skipped (``nn.utils.rnn``).

A language model's text keeps every character: ``CharVocabulary`` numbers the distinct characters
of a corpus, and ``bptt_chunks`` cuts the corpus into parallel streams read in consecutive chunks
for truncated backpropagation through time.

>>> ids = encode_characters(["Hi!", "a"])
>>> [i.tolist() for i in ids]
[[9, 10, 42], [2]]
>>> batch, lengths, order = pad_batch(ids)
>>> batch.tolist(), lengths.tolist()
([[9, 10, 42], [2, 0, 0]], [3, 1])
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

import numpy as np

from .text import ALPHABET, character_indices

__all__ = ["CHARACTER_VOCABULARY_SIZE", "PAD", "UNKNOWN", "CharVocabulary", "bptt_chunks",
           "encode_characters", "lengths_of", "one_hot_frames", "pad_batch", "padded_characters",
           "trim_padding", "zhang_positions"]

PAD, UNKNOWN = 0, 1
_IDS: dict[str, int] = {}
for _k, _c in enumerate(ALPHABET):
    _IDS.setdefault(_c, 2 + _k)
CHARACTER_VOCABULARY_SIZE = 2 + len(ALPHABET)


def _positive_int(who, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{who}: {name} must be a positive int, got {value!r}")
    return int(value)


def encode_characters(texts: Sequence[str], *, max_length: int | None = None) -> list[np.ndarray]:
    """The character ids of each text in reading order (first ``max_length`` characters).

    Args:
        texts: a sequence of str.
        max_length: characters kept from the start of each text; None keeps all.

    Returns:
        A list of int64 arrays, one per text, with ids in [1, CHARACTER_VOCABULARY_SIZE).
    """
    if isinstance(texts, str):
        raise TypeError("encode_characters: texts must be a sequence of strings, got a single "
                        "str; wrap it in a list")
    if max_length is not None:
        max_length = _positive_int("encode_characters", "max_length", max_length)
    out = []
    for n, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"encode_characters: texts[{n}] must be a str, got "
                            f"{type(text).__name__}")
        head = text[:max_length].lower()[:max_length]  # "İ".lower() is 2 characters
        out.append(np.fromiter((_IDS.get(c, UNKNOWN) for c in head), dtype=np.int64,
                               count=len(head)))
    return out


def pad_batch(sequences: Sequence, *, padding_value: int = PAD, length: int | None = None,
              sort: bool = False, dtype=np.int64):
    """Pad 1-D sequences into one (N, T) array: ``(batch, lengths, order)``.

    Args:
        sequences: 1-D arrays (or lists) of ids.
        padding_value: the value after each sequence's end.
        length: T; None pads to the longest sequence of the batch. Longer sequences are cut.
        sort: order the batch by decreasing length (as ``pack_padded_sequence`` with
            ``enforce_sorted=True`` wants); ``order`` gives the original index of each row.
        dtype: the batch's dtype.

    Returns:
        ``batch`` (N, T), ``lengths`` (N,) int64 (after cutting) and ``order`` (N,) int64.
    """
    arrays = [np.asarray(s) for s in sequences]
    for n, a in enumerate(arrays):
        if a.ndim != 1:
            raise ValueError(f"pad_batch: sequences[{n}] must be 1-D, got shape {a.shape}")
        _check_exact(n, a, dtype)
    _check_exact(None, np.asarray(padding_value), dtype)
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    steps = int(lengths.max(initial=0)) if length is None else _positive_int("pad_batch",
                                                                             "length", length)
    lengths = np.minimum(lengths, steps)
    order = (np.argsort(-lengths, kind="stable") if sort else np.arange(len(arrays))).astype(
        np.int64)
    batch = np.full((len(arrays), steps), padding_value, dtype=dtype)
    for row, n in enumerate(order):
        batch[row, :lengths[n]] = arrays[n][:lengths[n]]
    return batch, lengths[order], order


def _check_exact(n, a, dtype):
    """Refuse ``sequences[n]`` (or, n None, the padding value) when the cast to ``dtype`` would
    change it beyond rounding: truncate a fraction (0.5 -> 0), wrap an integer (300 -> 44 in
    int8), turn NaN into an integer or overflow a finite value to infinity."""
    kind = np.dtype(dtype).kind
    if a.dtype.kind == "c" and kind != "c" and a.imag.any():
        exact = False
    else:
        with np.errstate(invalid="ignore", over="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            cast = a.astype(dtype)
        if kind in "fc":  # rounding is fine, overflow is not
            exact = a.size == 0 or bool((np.isfinite(cast) | ~np.isfinite(a)).all())
        else:
            exact = a.size == 0 or np.array_equal(cast, a)
    if not exact:
        what = "padding_value" if n is None else f"sequences[{n}] ({a.dtype})"
        raise ValueError(f"pad_batch: {what} holds values that dtype {np.dtype(dtype)} would "
                         f"change ({a.ravel()[:4].tolist()}); pass a dtype that holds them (e.g. "
                         "dtype=np.float32 for real values)")


def lengths_of(batch, padding_value: int = PAD) -> np.ndarray:
    """Each row's length in a batch padded at the end: the count of entries before the padding."""
    batch = np.asarray(batch)
    if batch.ndim != 2:
        raise ValueError(f"lengths_of: batch must be 2-D (N, T), got shape {batch.shape}")
    real = batch != padding_value
    if real.shape[1] == 0:  # no columns (a batch of empty sequences): argmax has nothing to take
        return np.zeros(len(real), np.int64)
    # The last real position + 1 (a row of padding only has length 0).
    last = batch.shape[1] - np.argmax(real[:, ::-1], axis=1)
    return np.where(real.any(axis=1), last, 0).astype(np.int64)


def trim_padding(batch, padding_value: int = PAD):
    """``batch`` (N, T) cut to its longest row (its columns of padding only dropped)."""
    batch = np.asarray(batch)
    return batch[:, :max(int(lengths_of(batch, padding_value).max(initial=0)), 1)]


class CharVocabulary:
    """The distinct characters of a corpus, numbered in sorted order.

    Args:
        characters: the characters, a str without repeats (e.g. ``CharVocabulary.of(text)``).

    >>> v = CharVocabulary.of("hello")
    >>> v.characters, v.encode("hole").tolist(), v.decode([3, 1])
    ('ehlo', [1, 3, 2, 0], 'oh')
    """

    def __init__(self, characters: str):
        if not isinstance(characters, str) or not characters:
            raise ValueError(f"CharVocabulary: characters must be a non-empty str, got "
                             f"{characters!r}")
        if len(set(characters)) != len(characters):
            raise ValueError("CharVocabulary: characters must not repeat, got "
                             f"{characters[:40]!r}")
        self.characters = characters
        self._ids = {c: i for i, c in enumerate(characters)}

    @classmethod
    def of(cls, text: str) -> CharVocabulary:
        """The vocabulary of every character that occurs in ``text``."""
        if not isinstance(text, str) or not text:
            raise ValueError("CharVocabulary.of: text must be a non-empty str")
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.characters)

    def encode(self, text: str) -> np.ndarray:
        """The ids of ``text``'s characters (int64).

        Raises:
            ValueError: a character outside the vocabulary (it is named).
        """
        try:
            return np.fromiter((self._ids[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as err:
            raise ValueError(f"CharVocabulary: character {err.args[0]!r} is not in the "
                             f"vocabulary of {len(self)} characters") from None

    def decode(self, ids) -> str:
        """The text of a sequence of ids.

        Raises:
            ValueError: an id that is not an integer in [0, len(self)) (a negative one would
                otherwise read from the end).
        """
        ids = np.asarray(ids)
        if ids.ndim != 1 or (ids.size and (ids.dtype.kind not in "iu" or ids.min() < 0
                                           or ids.max() >= len(self))):
            raise ValueError(f"CharVocabulary.decode: ids must be a 1-D sequence of ints in "
                             f"[0, {len(self)}), got {ids.tolist()!r:.80}")
        return "".join(self.characters[i] for i in ids.tolist())


def bptt_chunks(ids, batch_size: int, bptt: int):
    """Cut a corpus of ids into ``batch_size`` parallel streams read ``bptt`` steps at a time.

    The corpus is divided into ``batch_size`` equal consecutive parts (the remainder dropped),
    one row each; chunk k holds columns [k * bptt, (k + 1) * bptt) of the rows, with the targets
    the same columns shifted by one. A model that carries its state from chunk k to chunk k + 1
    thus continues every row where it stopped.

    Returns:
        A list of ``(inputs, targets)`` pairs of int64 arrays (batch_size, <= bptt).

    Raises:
        ValueError: fewer than 2 ids per stream.
    """
    batch_size = _positive_int("bptt_chunks", "batch_size", batch_size)
    bptt = _positive_int("bptt_chunks", "bptt", bptt)
    ids = np.asarray(ids)
    if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
        raise ValueError(f"bptt_chunks: ids must be a 1-D sequence of ints (the corpus), got "
                         f"{ids.dtype} of shape {ids.shape}")
    ids = ids.astype(np.int64)
    per = len(ids) // batch_size
    if per < 2:
        raise ValueError(f"bptt_chunks: {len(ids)} ids make streams of {per} for batch_size "
                         f"{batch_size}; each stream needs at least 2")
    streams = ids[:per * batch_size].reshape(batch_size, per)
    return [(streams[:, k:min(k + bptt, per - 1)], streams[:, k + 1:min(k + bptt, per - 1) + 1])
            for k in range(0, per - 1, bptt)]


def padded_characters(texts: Sequence[str], max_length: int) -> np.ndarray:
    """Character ids (``encode_characters``) of the first ``max_length`` characters of each
    text, padded with 0 to the longest: an int8 array (N, <= max_length) (compact storage)."""
    batch, _, _ = pad_batch(encode_characters(texts, max_length=max_length), dtype=np.int8)
    return batch


def zhang_positions(texts: Sequence[str], length: int) -> np.ndarray:
    """``data.text.character_indices`` of every text as one int8 array (N, length): Zhang et
    al.'s alphabet positions, last character first, -1 for none. 70 times smaller than the
    one-hot frames it stands for (``one_hot_frames``)."""
    if isinstance(texts, str):
        raise TypeError("zhang_positions: texts must be a sequence of strings, got a single str; "
                        "wrap it in a list")
    length = _positive_int("zhang_positions", "length", length)  # also for no texts
    rows = [character_indices(t, length) for t in texts]
    return np.stack(rows).astype(np.int8) if rows else np.zeros((0, length), np.int8)


def one_hot_frames(positions) -> np.ndarray:
    """The one-hot frames (N, 70, L) float32 of ``zhang_positions``, as ``data.text.quantize``
    makes them from the texts."""
    positions = np.asarray(positions)
    if positions.ndim != 2 or positions.dtype.kind not in "iu":
        raise ValueError(f"one_hot_frames: positions must be a 2-D int array (N, L), as "
                         f"zhang_positions gives, got {positions.dtype} of shape {positions.shape}")
    alphabet = np.arange(len(ALPHABET), dtype=positions.dtype)
    return (positions[:, None, :] == alphabet[None, :, None]).astype(np.float32)
