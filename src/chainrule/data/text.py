"""Text as the character-level CNN reads it: Zhang, Zhao & LeCun's (2015) quantization.

Each character is one-hot encoded against an alphabet of 70 entries: the 26 lower-case letters,
the 10 digits, 33 other characters and the new line (the paper's list names "-" twice, so one of
the 70 rows is never set; a character maps to its first position). Text is lower-cased first, a
character outside the alphabet is an all-zero column, and only the first ``length`` (1,014 in the
paper) characters are read. The order is backward, as the paper's: the last character read comes
first, "so that the latest reading on characters is always placed near the beginning of the
output"; a shorter text is padded with zero columns at the end.

>>> x = quantize(["Ab"], length=4)
>>> x.shape, [int(i) for i in x[0].argmax(axis=0)], [bool(v) for v in x[0].any(axis=0)]
((1, 70, 4), [1, 0, 0, 0], [True, True, False, False])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ALPHABET", "PAPER_LENGTH", "character_indices", "quantize"]

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/\\|_@#$%^&*~`+-=<>()[]{}\n"
PAPER_LENGTH = 1014
_INDEX = {}
for _i, _c in enumerate(ALPHABET):
    _INDEX.setdefault(_c, _i)


def character_indices(text: str, length: int = PAPER_LENGTH) -> np.ndarray:
    """The alphabet positions of ``text``'s first ``length`` characters, last first; -1 for a
    character outside the alphabet and for the padding after a short text. Shape (length,)."""
    out = np.full(length, -1, dtype=np.int64)
    head = text[:length].lower()
    for pos, ch in enumerate(reversed(head)):
        out[pos] = _INDEX.get(ch, -1)
    return out


def quantize(texts: Sequence[str], *, length: int = PAPER_LENGTH, dtype=np.float32) -> np.ndarray:
    """One-hot character frames of ``texts``: an array (N, len(ALPHABET), length).

    Args:
        texts: strings (a list, tuple or array of str).
        length: characters read per text (the paper's 1,014).
        dtype: the array's float dtype.

    Raises:
        TypeError: an entry of ``texts`` is not a str, or ``texts`` is a single str.
        ValueError: ``length`` is not a positive int.
    """
    if isinstance(texts, str):
        raise TypeError("quantize: texts must be a sequence of strings, got a single str; wrap it "
                        "in a list")
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"quantize: length must be a positive int, got {length!r}")
    out = np.zeros((len(texts), len(ALPHABET), length), dtype=dtype)
    for n, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"quantize: texts[{n}] must be a str, got {type(text).__name__}")
        idx = character_indices(text, length)
        pos = np.flatnonzero(idx >= 0)
        out[n, idx[pos], pos] = 1
    return out
