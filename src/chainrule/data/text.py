"""Text as the character-level CNN reads it: Zhang, Zhao & LeCun's (2015) quantization.

Each character is one-hot encoded against an alphabet of 70 entries: the 26 lower-case letters,
the 10 digits, 33 other characters and the new line (the paper's list names "-" twice, so one of
the 70 rows is never set; a character maps to its first position). Text is lower-cased first, a
character outside the alphabet is an all-zero column, and only the first ``length`` (1,014 in the
paper) characters are read. The order is backward, as the paper's: the last character read comes
first, "so that the latest reading on characters is always placed near the beginning of the
output"; a shorter text is padded with zero columns at the end. The authors' Torch code (Crepe)
differs from this description: 69 rows without the new line, the last ``length`` bytes of a
longer text read, UTF-8 bytes rather than characters, description before title (docs/text.md).

>>> x = quantize(["Ab"], length=4)
>>> x.shape, [int(i) for i in x[0].argmax(axis=0)], [bool(v) for v in x[0].any(axis=0)]
((1, 70, 4), [1, 0, 0, 0], [True, True, False, False])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .split import holdout_split

__all__ = ["ALPHABET", "PAPER_LENGTH", "SPLIT", "TEXT_DATASETS", "character_indices",
           "load_text_corpus", "load_text_splits", "quantize", "split_indices", "split_texts",
           "training_subset"]

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/\\|_@#$%^&*~`+-=<>()[]{}\n"
PAPER_LENGTH = 1014
_INDEX = {}
for _i, _c in enumerate(ALPHABET):
    _INDEX.setdefault(_c, _i)


def character_indices(text: str, length: int = PAPER_LENGTH) -> np.ndarray:
    """The alphabet positions of ``text``'s first ``length`` characters, last first; -1 for a
    character outside the alphabet and for the padding after a short text. Shape (length,).

    Raises:
        TypeError: ``text`` is not a str. ValueError: ``length`` is not a positive int.
    """
    if not isinstance(text, str):
        raise TypeError(f"character_indices: text must be a str, got {type(text).__name__}")
    length = _length("character_indices", length)
    out = np.full(length, -1, dtype=np.int64)
    head = text[:length].lower()[:length]  # "İ".lower() is 2 characters
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
    length, texts = _length("quantize", length), list(texts)  # an iterator has no len()
    out = np.zeros((len(texts), len(ALPHABET), length), dtype=dtype)
    for n, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"quantize: texts[{n}] must be a str, got {type(text).__name__}")
        idx = character_indices(text, length)
        pos = np.flatnonzero(idx >= 0)
        out[n, idx[pos], pos] = 1
    return out


def _length(who: str, length) -> int:
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"{who}: length must be a positive int, got {length!r}")
    return int(length)


# The fixed split of the local text corpora (AG News's 7,600 official test articles, the 5,574 SMS
# messages): 70 % train, 10 % validation, 20 % test, the same share of every class, seed 0.
SPLIT = {"train": 0.7, "val": 0.1, "test": 0.2, "seed": 0}
TEXT_DATASETS = {
    "ag_news": "AG News, 4 classes of news; here only its official 7,600-article test split, "
               "divided 70/10/20 (train/val/test, stratified, seed 0)",
    "sms_spam": "SMS Spam Collection, 5,574 messages (13.4 % spam), divided 70/10/20 "
                "(train/val/test, stratified, seed 0)",
}


def split_indices(labels, *, val: float = SPLIT["val"], test: float = SPLIT["test"],
                  seed: int = SPLIT["seed"]) -> dict:
    """Indices ``{"train", "val", "test"}`` of a stratified, seeded three-way split of ``labels``.

    The test part (``test`` of every class) is drawn first, then the validation part (``val`` of
    the whole, from what is left), each by ``data.split.holdout_split`` with a stream of ``seed``.
    """
    labels = _labels("split_indices", labels)
    if not (0 < test < 1 and 0 <= val < 1 and val + test < 1):
        raise ValueError(f"split_indices: need 0 < test < 1, 0 <= val and val + test < 1, got "
                         f"val={val!r}, test={test!r}")
    test_rng, val_rng = np.random.default_rng(seed).spawn(2)
    rest, test_idx = holdout_split(labels, test, test_rng)
    fit, val_idx = holdout_split(labels[rest], val / (1 - test), val_rng)
    return {"train": rest[fit], "val": rest[val_idx], "test": test_idx}


def training_subset(labels, fraction: float, *, seed: int = 0):
    """Sorted indices of ``fraction`` of every class (at least one each): a learning curve's subset.

    Each class's samples are put in one seeded order and the first ``round(fraction * count)``
    are taken, so the subsets of one ``seed`` are nested (the 10 % subset holds the 5 % one) and
    every model of a learning curve sees the same texts.
    """
    if isinstance(fraction, bool) or not 0 < fraction <= 1:
        raise ValueError(f"training_subset: fraction must be in (0, 1], got {fraction!r}")
    labels = _labels("training_subset", labels)
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        keep.append(members[:max(1, round(fraction * len(members)))])
    return np.sort(np.concatenate(keep))


def _labels(who: str, labels) -> np.ndarray:
    """``labels`` as a non-empty 1-D array (a 2-D one was flattened: indices past the samples)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not len(labels):
        raise ValueError(f"{who}: labels must be a non-empty 1-D sequence (one class per "
                         f"sample), got shape {labels.shape}")
    return labels


def load_text_corpus(name: str, data_dir=None, *, download: bool = True) -> tuple:
    """A local text corpus of ``TEXT_DATASETS`` whole: ``(texts, y, class_names)``.

    ``download``: fetch AG News's test.csv (checksum-verified) when it is missing; the SMS
    collection is never downloaded (see ``datasets.sms_spam``).
    """
    from .datasets import AG_NEWS_CLASSES, ag_news, sms_spam

    if name == "ag_news":
        texts, y = ag_news(data_dir, download=download, splits=("test",))["test"]
        return texts, y, tuple(AG_NEWS_CLASSES)
    if name == "sms_spam":
        texts, y = sms_spam(data_dir)
        return texts, y, ("ham", "spam")
    raise ValueError(f"unknown text dataset {name!r}; known: {', '.join(TEXT_DATASETS)}")


def split_texts(texts, y) -> dict:
    """``{"train": (texts, y), "val": ..., "test": ...}``: ``texts`` and ``y`` in the fixed split
    (``SPLIT``, ``split_indices``), the one every text model of chainrule is scored on."""
    y = np.asarray(y)
    return {k: ([texts[i] for i in idx], y[idx]) for k, idx in split_indices(y).items()}


def load_text_splits(name: str, data_dir=None, *, download: bool = True) -> tuple[dict, tuple]:
    """A local text corpus (``TEXT_DATASETS``) in its fixed split (``SPLIT``).

    ``download``: as ``load_text_corpus``'s.

    Returns:
        ``({"train": (texts, y), "val": ..., "test": ...}, class_names)``.
    """
    texts, y, classes = load_text_corpus(name, data_dir, download=download)
    return split_texts(texts, y), classes
