"""Bags of word n-grams: tokens, a vocabulary, n-gram counts, TF-IDF weights, sparse batches.

The pipeline of Zhang, Zhao & LeCun's (2015) strongest small-data baseline, done on the host:

1. ``tokenize``: lower-case the text, then take the runs matched by ``TOKEN_PATTERN``
   (``\\w+(?:'\\w+)*``: letters, digits and underscores, keeping inner apostrophes as in "don't").
2. ``ngrams``: the word 1-grams .. n-grams of the tokens, each n-gram its words joined by a space.
3. ``Vocabulary``: n-grams seen at least ``min_count`` times in the training texts, the
   ``max_size`` most frequent of them (ties in alphabetical order), numbered from 1; id 0 is the
   unknown token ``<unk>``.
4. ``TfidfFeatures``: per text, the count ``tf`` of each known n-gram times
   ``idf = ln((1 + n) / (1 + df)) + 1`` (``n`` training texts, ``df`` of them containing the n-gram:
   scikit-learn's ``smooth_idf=True``), the text's vector then divided by its Euclidean norm
   (``norm="l2"``). This is what ``sklearn.feature_extraction.text.TfidfVectorizer`` computes with
   ``smooth_idf=True, norm="l2"`` over the same tokens, ``max_df`` (n-grams in more than that
   share, or that number, of the training texts are left out before ``max_size`` picks the most
   frequent) and ``sublinear_tf`` (``1 + ln(tf)`` for ``tf``) included.
5. ``Bags``: the result as ``nn.EmbeddingBag`` reads it: flat feature ids, the offset of each
   text's first id, and a weight per id (a CSR matrix's ``indices``, ``indptr[:-1]`` and ``data``).

Fitted features save to JSON (``to_json``/``from_json``), so a trained model can read new texts
exactly as it read its training texts.

>>> f = TfidfFeatures(ngram_range=2).fit(["the cat sat", "the dog sat down"])
>>> bags = f.transform(["The cat!"])
>>> [f.vocabulary.tokens[i] for i in bags.indices], len(bags)
(['the', 'cat', 'the cat'], 1)
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..backend.files import write_atomically

__all__ = ["TOKEN_PATTERN", "UNKNOWN", "Bags", "TfidfFeatures", "Vocabulary", "ngrams",
           "tokenize"]

TOKEN_PATTERN = r"\w+(?:'\w+)*"
UNKNOWN = "<unk>"
WEIGHTINGS = ("tfidf", "mean")
_TOKEN = re.compile(TOKEN_PATTERN)


def tokenize(text: str) -> list[str]:
    """The lower-cased words of ``text`` (runs of ``TOKEN_PATTERN``).

    >>> tokenize("Don't PANIC: 42 towels!")
    ["don't", 'panic', '42', 'towels']
    """
    if not isinstance(text, str):
        raise TypeError(f"tokenize: text must be a str, got {type(text).__name__}")
    return _TOKEN.findall(text.lower())


def ngrams(tokens: Sequence[str], n: int = 2) -> list[str]:
    """All word 1-grams .. ``n``-grams of ``tokens``, shorter first, each joined by a space.

    >>> ngrams(["a", "b", "c"], 2)
    ['a', 'b', 'c', 'a b', 'b c']
    """
    n = _positive("ngrams", "n", n)
    _not_a_text("ngrams", "tokens", tokens)
    out = list(tokens)
    for k in range(2, min(n, len(tokens)) + 1):  # no longer n-grams than tokens (n may be huge)
        out.extend(" ".join(tokens[i:i + k]) for i in range(len(tokens) - k + 1))
    return out


class Vocabulary:
    """Strings numbered 0 .. len - 1, id 0 the unknown token ``<unk>``.

    Args:
        tokens: the known strings in id order, without ``<unk>`` (it is put first).
    """

    def __init__(self, tokens: Iterable[str] = ()):
        self.tokens = [UNKNOWN] + [t for t in tokens]
        bad = next((t for t in self.tokens if not isinstance(t, str)), UNKNOWN)
        if bad is not UNKNOWN:  # JSON would write 1 and ("a", "b") as what load refuses
            raise TypeError(f"Vocabulary: tokens must be str, got {bad!r} "
                            f"({type(bad).__name__})")
        self.tokens = [str(t) for t in self.tokens]  # np.str_ too: plain strings, as JSON reads
        self.index = {t: i for i, t in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            dup = next(t for t, c in Counter(self.tokens).items() if c > 1)
            raise ValueError(f"Vocabulary: token {dup!r} is given twice (or is {UNKNOWN!r})")

    @classmethod
    def build(cls, documents: Iterable[Sequence[str]], *, min_count: int = 1,
              max_size: int | None = None) -> Vocabulary:
        """The tokens of ``documents`` (each a list of strings) seen at least ``min_count`` times,
        the ``max_size`` most frequent (ties alphabetical), most frequent first."""
        min_count = _positive("Vocabulary.build", "min_count", min_count)
        if max_size is not None:
            max_size = _positive("Vocabulary.build", "max_size", max_size)
        counts: Counter = Counter()
        for n, doc in enumerate(documents):
            _not_a_text("Vocabulary.build", f"documents[{n}]", doc)
            counts.update(doc)
        kept = sorted((t for t, c in counts.items() if c >= min_count),
                      key=lambda t: (-counts[t], t))
        return cls(kept[:max_size])

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token) -> bool:
        return token in self.index

    def lookup(self, tokens: Iterable[str], *, drop_unknown: bool = False) -> np.ndarray:
        """The ids of ``tokens`` (int64); unknown ones are 0, or left out with ``drop_unknown``."""
        _not_a_text("Vocabulary.lookup", "tokens", tokens)
        get = self.index.get
        ids = [get(t, 0) for t in tokens]
        return np.asarray([i for i in ids if i] if drop_unknown else ids, dtype=np.int64)

    def to_dict(self) -> dict:
        return {"unknown": UNKNOWN, "tokens": self.tokens[1:]}

    @classmethod
    def from_dict(cls, d: dict) -> Vocabulary:
        if (not isinstance(d, dict) or not isinstance(d.get("tokens"), list)
                or not all(isinstance(t, str) for t in d["tokens"])):
            raise ValueError("Vocabulary.from_dict: expected {'tokens': [str, ...]}, got "
                             f"{str(d)[:80]}")
        return cls(d["tokens"])

    def save(self, path) -> None:
        """Write the vocabulary as JSON (atomically)."""
        write_atomically(str(path), _json_bytes(self.to_dict()), make_folder=True)

    @classmethod
    def load(cls, path) -> Vocabulary:
        """Read a vocabulary saved by ``save``; a damaged file is a ValueError naming it."""
        try:
            with open(path, encoding="utf-8") as f:
                return cls.from_dict(json.load(f))
        except ValueError as err:  # json's and the decoder's errors are ValueErrors too
            raise ValueError(f"{path}: {err}") from None


@dataclass
class Bags:
    """Variable-size bags of weighted feature ids, one per text: ``nn.EmbeddingBag``'s input.

    ``indices`` (L,) int64 feature ids, ``offsets`` (B,) int64 where each bag starts,
    ``weights`` (L,) float32 (TF-IDF values, or ones).
    """

    indices: np.ndarray
    offsets: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets)

    def ends(self) -> np.ndarray:
        return np.append(self.offsets[1:], len(self.indices))

    def take(self, rows) -> Bags:
        """The bags ``rows`` (a 1-D index array, in that order, or a boolean mask of len(self))."""
        rows = np.asarray(rows)
        if rows.dtype == bool and rows.shape == (len(self),):
            rows = np.flatnonzero(rows)  # not indices 0 and 1
        elif rows.ndim != 1 or (rows.size and rows.dtype.kind not in "iu"):
            raise TypeError(f"Bags.take: rows must be a 1-D array of ints or a boolean mask of "
                            f"the {len(self)} bags, got {rows.dtype} of shape {rows.shape}")
        rows = rows.astype(np.int64)
        starts, stops = self.offsets[rows], self.ends()[rows]
        lengths = stops - starts
        pos = np.arange(lengths.sum(), dtype=np.int64) + np.repeat(
            starts - (np.cumsum(lengths) - lengths), lengths)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        return Bags(self.indices[pos], offsets[:len(rows)], self.weights[pos])

    def to_dense(self, n_features: int) -> np.ndarray:
        """The (B, n_features) matrix (for tests and small problems)."""
        out = np.zeros((len(self), n_features), dtype=self.weights.dtype)
        rows = np.repeat(np.arange(len(self)), self.ends() - self.offsets)
        np.add.at(out, (rows, self.indices), self.weights)
        return out


class TfidfFeatures:
    """TF-IDF weighted word n-grams (scikit-learn's smooth idf and l2 norm; see the module).

    Args:
        ngram_range: the longest n-gram (1: words only; Zhang et al. use up to 5-grams).
        min_count: an n-gram must occur this often in the training texts.
        max_size: keep at most this many n-grams, the most frequent (Zhang et al.: 500,000).
        weighting: ``"tfidf"`` (the module's formula) or ``"mean"``: each known n-gram's count
            over the text's count of known n-grams, so that an ``EmbeddingBag(mode="sum")`` gives
            the average of the text's n-gram vectors, repeats included (fastText's input).
        max_df: leave out n-grams found in more than this share (a float in [0, 1]) or this
            number (an int >= 1) of the training texts, as scikit-learn's (corpus stop words).
        sublinear_tf: weigh by ``1 + ln(tf)`` instead of the count ``tf`` (``"tfidf"`` only).
    """

    def __init__(self, ngram_range: int = 2, *, min_count: int = 1,
                 max_size: int | None = None, weighting: str = "tfidf", max_df=1.0,
                 sublinear_tf: bool = False):
        self.ngram_range = _positive("TfidfFeatures", "ngram_range", ngram_range)
        # checked (and made plain ints, which JSON can write) here, not first at fit
        self.min_count = _positive("TfidfFeatures", "min_count", min_count)
        self.max_size = None if max_size is None else _positive("TfidfFeatures", "max_size",
                                                                max_size)
        if weighting not in WEIGHTINGS:
            raise ValueError(f"TfidfFeatures: weighting must be one of {WEIGHTINGS}, got "
                             f"{weighting!r}")
        self.weighting = weighting
        self.max_df = _max_df(max_df)
        if not isinstance(sublinear_tf, bool) or (sublinear_tf and weighting != "tfidf"):
            raise ValueError(f"TfidfFeatures: sublinear_tf must be True or False, and True only "
                             f"with weighting='tfidf'; got {sublinear_tf!r} with {weighting!r}")
        self.sublinear_tf = sublinear_tf
        self.vocabulary: Vocabulary | None = None
        self.idf: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        """The number of feature ids (the vocabulary's size, ``<unk>`` included)."""
        self._check_fitted()
        return len(self.vocabulary)

    def grams(self, text: str) -> list[str]:
        return ngrams(tokenize(text), self.ngram_range)

    def fit(self, texts: Sequence[str]) -> TfidfFeatures:
        """Learn the vocabulary and the idf of ``texts``."""
        docs = [self.grams(t) for t in _texts("TfidfFeatures.fit", texts)]
        limit = self.max_df if isinstance(self.max_df, int) else self.max_df * len(docs)
        kept = docs
        if limit < len(docs):  # scikit-learn's order: the df limit first, then max_size
            dfs = Counter(g for doc in docs for g in set(doc))
            common = {g for g, c in dfs.items() if c > limit}
            kept = [[g for g in doc if g not in common] for doc in docs]
        self.vocabulary = Vocabulary.build(kept, min_count=self.min_count, max_size=self.max_size)
        if kept is not docs and len(self.vocabulary) == 1 and any(docs):
            raise ValueError(f"TfidfFeatures.fit: no n-grams remain after max_df={self.max_df!r} "
                             f"left out those in more than {limit:g} of the {len(docs)} texts; "
                             "raise max_df (scikit-learn's error too)")
        df = np.zeros(len(self.vocabulary), dtype=np.int64)
        for doc in docs:
            df[self.vocabulary.lookup(set(doc), drop_unknown=True)] += 1
        self.idf = np.log((1 + len(docs)) / (1 + df)) + 1.0
        self.idf[0] = 0.0  # <unk> is never a feature
        return self

    def transform(self, texts: Sequence[str]) -> Bags:
        """The bags of ``texts``: known n-gram ids (each once per text) with their weights."""
        self._check_fitted()
        indices, weights, offsets = [], [], []
        total = 0
        for text in _texts("TfidfFeatures.transform", texts):
            counts = Counter(self.vocabulary.lookup(self.grams(text), drop_unknown=True).tolist())
            ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            w = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            if len(ids) and self.weighting == "tfidf":
                if self.sublinear_tf:
                    w = 1.0 + np.log(w)
                w = w * self.idf[ids]
                w /= math.sqrt(float(w @ w))
            elif len(ids):
                w /= w.sum()
            offsets.append(total)
            total += len(ids)
            indices.append(ids)
            weights.append(w)
        return Bags(_concat(indices, np.int64), np.asarray(offsets, dtype=np.int64),
                    _concat(weights, np.float32))

    def fit_transform(self, texts: Sequence[str]) -> Bags:
        return self.fit(texts).transform(texts)

    def to_dict(self) -> dict:
        self._check_fitted()
        return {"kind": "tfidf_ngrams", "token_pattern": TOKEN_PATTERN,
                "ngram_range": self.ngram_range, "min_count": self.min_count,
                "max_size": self.max_size, "weighting": self.weighting, "max_df": self.max_df,
                "sublinear_tf": self.sublinear_tf,
                "vocabulary": self.vocabulary.to_dict(), "idf": self.idf.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> TfidfFeatures:
        """Fitted features from ``to_dict``'s output (e.g. read from a run's JSON)."""
        if not isinstance(d, dict) or d.get("kind") != "tfidf_ngrams":
            raise ValueError("TfidfFeatures.from_dict: not a saved TfidfFeatures (expected "
                             f"kind 'tfidf_ngrams', got {str(d)[:80]})")
        if d.get("token_pattern") != TOKEN_PATTERN:
            raise ValueError(f"TfidfFeatures.from_dict: saved with token pattern "
                             f"{d.get('token_pattern')!r}, this version uses {TOKEN_PATTERN!r}")
        try:
            f = cls(d["ngram_range"], min_count=d["min_count"], max_size=d["max_size"],
                    weighting=d["weighting"], max_df=d.get("max_df", 1.0),
                    sublinear_tf=d.get("sublinear_tf", False))  # older files: the defaults
            f.vocabulary = Vocabulary.from_dict(d["vocabulary"])
            f.idf = np.asarray(d["idf"], dtype=np.float64)
        except (KeyError, TypeError) as err:
            raise ValueError(f"TfidfFeatures.from_dict: a saved entry is missing or of the wrong "
                             f"type ({type(err).__name__}: {err})") from None
        if f.idf.shape != (len(f.vocabulary),) or not np.isfinite(f.idf).all():
            raise ValueError(f"TfidfFeatures.from_dict: idf must be {len(f.vocabulary)} finite "
                             f"numbers (one per vocabulary entry), got shape {f.idf.shape}")
        return f

    def save(self, path) -> None:
        """Write the fitted features (settings, vocabulary, idf) as JSON, atomically."""
        write_atomically(str(path), _json_bytes(self.to_dict()), make_folder=True)

    @classmethod
    def load(cls, path) -> TfidfFeatures:
        """Read fitted features saved by ``save``; a damaged file is a ValueError naming it."""
        try:
            with open(path, encoding="utf-8") as f:
                return cls.from_dict(json.load(f))
        except ValueError as err:  # json's errors are ValueErrors too
            raise ValueError(f"{path}: {err}") from None

    def _check_fitted(self) -> None:
        if self.vocabulary is None:
            raise ValueError("TfidfFeatures: not fitted; call fit(texts) first")


def _json_bytes(d: dict) -> bytes:
    """``d`` as UTF-8 JSON; ASCII escapes where a string holds a lone surrogate (from
    text decoded with ``errors="surrogateescape"``), which UTF-8 cannot encode."""
    try:
        return json.dumps(d, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(d).encode()


def _concat(parts, dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


def _not_a_text(who: str, name: str, tokens) -> None:
    """A str where tokens are expected would be read one character per token."""
    if isinstance(tokens, str):
        raise TypeError(f"{who}: {name} must be a sequence of tokens, got the str "
                        f"{tokens[:40]!r}, which would be read one character per token; "
                        "pass tokenize(text) or wrap a single token in a list")


def _texts(who: str, texts) -> list[str]:
    if isinstance(texts, str):
        raise TypeError(f"{who}: texts must be a sequence of strings, got a single str; wrap it "
                        "in a list")
    texts = list(texts)  # an iterator would be used up by the check below
    for n, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"{who}: texts[{n}] must be a str, got {type(t).__name__}")
    return texts


def _max_df(value):
    """scikit-learn's ``max_df``: a share of the texts (a float in [0, 1]) or a count (an int)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1:
        return int(value)
    if isinstance(value, (float, np.floating)) and 0.0 <= value <= 1.0:
        return float(value)
    raise ValueError(f"TfidfFeatures: max_df must be a float in [0, 1] (a share of the texts) or "
                     f"an int >= 1 (a number of texts), got {value!r}")


def _positive(who: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{who}: {name} must be a positive int, got {value!r}")
    return int(value)
