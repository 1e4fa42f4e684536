"""Text classification corpora for character-level models: AG News and the SMS Spam Collection."""

from __future__ import annotations

import csv
import re

import numpy as np

from ..download import RemoteFile, fetch

__all__ = ["AG_NEWS_CLASSES", "ag_news", "read_labelled_csv", "sms_spam"]

AG_NEWS_CLASSES = ("World", "Sports", "Business", "Sci/Tech")
_AG_MIRRORS = ("https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/",)
_AG_TEST = RemoteFile("test.csv",
                      "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
                      _AG_MIRRORS)
_INTEGER = re.compile(r"[+-]?[0-9]+")
_SMS = RemoteFile("SMSSpamCollection",
                  "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d")


def read_labelled_csv(path, *, label_column: int = 0, text_columns=(1, 2), delimiter: str = ",",
                      label_map=None, label_offset: int = 0, quoting: int = csv.QUOTE_MINIMAL,
                      columns: int | None = None, num_classes: int | None = None):
    """Read a CSV of labelled texts into ``(texts, labels)`` (a list of str and an int64 array).

    Text columns are joined with a space. ``label_map`` maps label strings to ints (else labels are
    parsed as ints and ``label_offset`` is subtracted, e.g. 1 for AG News's 1-based classes). Use
    ``quoting=csv.QUOTE_NONE`` for tab-separated files whose texts contain stray quote characters.
    ``columns``: every row must have exactly this many fields (else at least enough for the
    columns read), so that a stray delimiter cannot silently drop part of a text.
    ``num_classes``: every label must lie in ``0 .. num_classes - 1``. A UTF-8 byte-order mark
    at the start of the file is skipped.

    Raises:
        ValueError: a row has the wrong number of columns or an unknown or out-of-range label,
            or the file is not UTF-8 or not well-formed CSV (a quoted text cut off by a truncated
            file, which a lenient reader would run on to the end of the file); the message names
            the file and line.
    """
    texts, labels = [], []
    need = max(label_column, *text_columns) + 1
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f, delimiter=delimiter, quoting=quoting, strict=True)
        while True:
            try:
                row = next(rows, None)
            except UnicodeDecodeError:  # read in blocks: rows.line_num may be far before it
                raise ValueError(_not_utf8(path)) from None
            except csv.Error as err:
                raise ValueError(f"{path}: after line {rows.line_num}: not readable as UTF-8 "
                                 f"CSV ({err}); is the file truncated or damaged?") from None
            if row is None:
                break
            line = rows.line_num
            if not row:
                continue
            if columns is not None and len(row) != columns:
                raise ValueError(f"{path}:{line}: expected {columns} columns, got {len(row)}")
            if len(row) < need:
                raise ValueError(f"{path}:{line}: expected at least {need} columns, got {len(row)}")
            raw = row[label_column]
            # int() alone would read "0_1" as 1, and " 1" or a full-width "\uff11" as 1 too
            if label_map is None and not _INTEGER.fullmatch(raw):
                raise ValueError(f"{path}:{line}: unknown label {raw!r}: expected an integer "
                                 "written with the digits 0-9")
            try:
                label = label_map[raw] if label_map is not None else int(raw) - label_offset
            except (KeyError, ValueError):
                raise ValueError(f"{path}:{line}: unknown label {raw!r}") from None
            if num_classes is not None and not 0 <= label < num_classes:
                raise ValueError(f"{path}:{line}: label {raw!r} is out of range: expected "
                                 f"{label_offset} .. {num_classes - 1 + label_offset}")
            labels.append(label)
            texts.append(" ".join(row[c] for c in text_columns))
    return texts, np.asarray(labels, dtype=np.int64)


def _not_utf8(path) -> str:
    """The message for a file that is not UTF-8, naming its first such line."""
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as err:
                return (f"{path}:{number}: not UTF-8 ({err}); is the file in another encoding "
                        "(e.g. Latin-1), truncated or damaged?")
    return f"{path}: not UTF-8; is the file in another encoding, truncated or damaged?"


def ag_news(data_dir=None, *, download: bool = True, splits=("train", "test")):
    """AG News (Zhang, Zhao & LeCun 2015): 4 classes of news, texts are title + description.

    Returns {split: (texts, y)}. Only the splits whose files are present (or downloadable) are
    needed; ask for ``splits=("test",)`` where only test.csv is available. Labels are 0-based
    indices into ``AG_NEWS_CLASSES``.
    """
    out = {}
    for split in (splits,) if isinstance(splits, str) else splits:  # "test": not "t", "e", ...
        if split == "test":
            remote = _AG_TEST
        elif split == "train":
            # The 120,000-row train.csv; its digest is not pinned (no copy was available to hash).
            remote = RemoteFile("train.csv", (), _AG_MIRRORS)
        else:
            raise ValueError(f"ag_news: unknown split {split!r}; expected 'train' or 'test'")
        path = fetch("ag_news", [remote], data_dir, download_missing=download)[remote.name]
        out[split] = read_labelled_csv(path, label_offset=1, columns=3,
                                       num_classes=len(AG_NEWS_CLASSES))
        if not out[split][0]:  # train.csv has no pinned digest: an empty download reads so
            raise ValueError(f"{path}: no rows; is the file empty or cut off? delete it to "
                             "download it again")
    return out


def sms_spam(data_dir=None):
    """The SMS Spam Collection v.1 (Almeida & Gomez Hidalgo 2011) as ``(texts, y)``, y = 1 for spam.

    The corpus has no official split. It is distributed as a zip archive, so it is not downloaded
    automatically: put the file ``SMSSpamCollection`` in ``data_dir/sms_spam`` (or $CHAINRULE_DATA).
    """
    path = fetch("sms_spam", [_SMS], data_dir, download_missing=False)[_SMS.name]
    texts, labels = read_labelled_csv(path, text_columns=(1,), delimiter="\t",
                                      label_map={"ham": 0, "spam": 1}, quoting=csv.QUOTE_NONE,
                                      columns=2)
    return texts, labels
