"""Wave 19, text data: what a silent cast or a negative index used to turn into a plausible
wrong answer (``data.sequences``), a damaged vocabulary file named (``data.ngrams``), and the
labelled-CSV reader on labels ``int()`` reads too kindly and on files not in UTF-8."""

import re

import numpy as np
import pytest

from chainrule.data.datasets import ag_news
from chainrule.data.ngrams import TfidfFeatures, Vocabulary, ngrams
from chainrule.data.sequences import (
    CharVocabulary,
    bptt_chunks,
    encode_characters,
    lengths_of,
    pad_batch,
    zhang_positions,
)
from chainrule.data.text import character_indices, split_indices, training_subset


@pytest.mark.parametrize(
    "sequences, dtype, padding_value, shown",
    [
        ([np.array([0.5, 1.7]), [3]], np.int64, 0, r"sequences\[0\] \(float64\).*\[0.5, 1.7\]"),
        ([[3], [300, 2]], np.int8, 0, r"sequences\[1\] \(int64\).*int8.*\[300, 2\]"),
        ([[1], [2]], bool, 0, r"sequences\[1\] \(int64\).*bool"),
        ([np.array([1e300])], np.float32, 0, r"sequences\[0\] \(float64\).*float32"),
        ([np.array([1 + 2j])], np.float64, 0, r"sequences\[0\] \(complex128\)"),
        ([[1, 2], [1]], np.int64, np.nan, r"padding_value .*int64.*\[nan\]"),
        ([[1, 2], [1]], np.int64, 0.5, r"padding_value .*int64.*\[0.5\]"),
    ],
)
def test_pad_batch_refuses_a_dtype_that_would_change_the_values(
    sequences, dtype, padding_value, shown
):
    # float ids were truncated (0.5 -> 0), 300 wrapped to 44 in int8, a NaN padding became
    # -2**63, 1e300 became inf: all without a word
    with pytest.raises(ValueError, match="pad_batch: " + shown):
        pad_batch(sequences, dtype=dtype, padding_value=padding_value)


def test_pad_batch_still_rounds_floats_and_takes_whole_floats_as_ids():
    batch, lengths, _ = pad_batch([np.array([0.1, np.nan, np.inf]), [3.0]], dtype=np.float32)
    np.testing.assert_array_equal(batch, np.array([[0.1, np.nan, np.inf], [3, 0, 0]], np.float32))
    assert lengths.tolist() == [3, 1]
    batch, _, _ = pad_batch([np.array([2.0, 5.0]), []])
    assert batch.dtype == np.int64 and batch.tolist() == [[2, 5], [0, 0]]
    ids = encode_characters(["Hello", "a"])
    small, _, _ = pad_batch(ids, dtype=np.int8)
    np.testing.assert_array_equal(small, pad_batch(ids)[0])


def test_char_vocabulary_decode_refuses_ids_outside_it():
    v = CharVocabulary("abc")
    assert v.decode([2, 0]) == v.decode(np.array([2, 0], np.int8)) == "ca"
    assert v.decode([]) == ""
    for bad in ([-1, 0], [3], [1.7], [[0]]):  # -1 read "c", 1.7 read "b"
        with pytest.raises(
            ValueError,
            match=r"decode: ids must be a 1-D sequence of ints in "
            r"\[0, 3\)",
        ):
            v.decode(bad)


def test_bptt_chunks_and_lengths_of_refuse_the_wrong_shape_naming_it():
    with pytest.raises(
        ValueError,
        match=r"bptt_chunks: ids must be a 1-D .*int64 of shape "
        r"\(10, 3\)",
    ):
        bptt_chunks(np.arange(30).reshape(10, 3), 2, 2)
    with pytest.raises(ValueError, match="bptt_chunks: ids must be .*float64"):
        bptt_chunks([0.5, 1, 2, 3], 2, 1)  # 0.5 was read as id 0
    with pytest.raises(
        ValueError,
        match=r"lengths_of: batch must be 2-D \(N, T\), got shape "
        r"\(3,\)",
    ):
        lengths_of(np.zeros(3))


def test_vocabulary_load_names_a_damaged_file(tmp_path):
    path = tmp_path / "vocab.json"
    Vocabulary(["b", "a"]).save(path)
    assert Vocabulary.load(path).tokens == ["<unk>", "b", "a"]
    for damaged in (b"{not json", b'["a"]', b"\xff\xfe"):
        path.write_bytes(damaged)
        with pytest.raises(ValueError, match="vocab.json: "):
            Vocabulary.load(path)


def _ag_train(tmp_path, data: bytes):
    # train.csv has no pinned digest, so a hand-made one goes through ag_news() itself
    (tmp_path / "ag_news").mkdir(exist_ok=True)
    (tmp_path / "ag_news" / "train.csv").write_bytes(data)
    return ag_news(tmp_path, download=False, splits=("train",))["train"]


@pytest.mark.parametrize("label", ["0_1", " 1", "1 ", "\uff12", "\u0661", "1.0", ""])
def test_a_label_that_is_not_plain_digits_is_refused_naming_the_line(tmp_path, label):
    # int() read "0_1" as 1, " 1" as 1 and the full-width "２" as 2 without a word
    raw = f'"3","T","D"\n"{label}","T","D"\n'.encode()
    with pytest.raises(ValueError, match=rf"train\.csv:2: unknown label {re.escape(repr(label))}"):
        _ag_train(tmp_path, raw)
    texts, y = _ag_train(tmp_path, b'"+2","T","D"\n"4","T","D"\n')
    assert texts == ["T D", "T D"] and y.tolist() == [1, 3]


def test_a_file_not_in_utf8_is_refused_naming_its_first_bad_line(tmp_path):
    # the reader decodes in blocks, so the line it had reached was thousands of rows early
    rows = b"".join(b'"1","title %d","description"\n' % i for i in range(3000))
    with pytest.raises(ValueError, match=r"train\.csv:3001: not UTF-8 \(.*0xe9.*Latin-1"):
        _ag_train(tmp_path, rows + '"2","caf\xe9","latin-1"\n'.encode("latin-1"))


def test_a_vocabulary_saves_only_what_it_loads(tmp_path):
    # ints and tuples were taken, saved as JSON numbers and lists, and refused only at load
    for bad, shown in (
        ([[1, 2, 2], [3]], r"2 \(int\)"),
        ([[("a", "b")]], r"\('a', 'b'\) \(tuple\)"),
    ):
        with pytest.raises(TypeError, match=f"Vocabulary: tokens must be str, got {shown}"):
            Vocabulary.build(bad)
    # a lone surrogate (text read with errors="surrogateescape") made save raise
    # UnicodeEncodeError; it is now written escaped and read back
    v = Vocabulary([np.str_("é"), "a\udce9", "b"])
    v.save(tmp_path / "v.json")
    back = Vocabulary.load(tmp_path / "v.json")
    assert back.tokens == v.tokens == ["<unk>", "é", "a\udce9", "b"]
    assert [type(t) for t in v.tokens] == [str] * 4


def test_splits_refuse_labels_that_are_not_one_class_per_sample():
    # a (2, 2) label array was flattened: indices 0..3 of 2 samples, without a word
    for labels in (np.array([[0, 1], [1, 0]]), np.array([], np.int64)):
        for split in (lambda y: training_subset(y, 0.5), split_indices):
            with pytest.raises(ValueError, match=r"labels must be a non-empty 1-D sequence"):
                split(labels)
    with pytest.raises(ValueError, match="fraction must be in"):
        training_subset(np.array([0, 1]), True)


def test_bags_take_reads_a_mask_as_a_mask_and_refuses_fractional_rows():
    features = TfidfFeatures(1).fit(["a b", "b c", "c d"])
    bags = features.transform(["a b", "b c", "c d"])
    dense = bags.to_dense(features.n_features)
    # a mask was read as the indices 1, 0, 1 and 0.9 as row 0, without a word
    got = bags.take(np.array([True, False, True])).to_dense(features.n_features)
    np.testing.assert_array_equal(got, dense[[0, 2]])
    np.testing.assert_array_equal(bags.take([2, -3]).to_dense(features.n_features), dense[[2, 0]])
    for rows in ([0.9, 2.2], 2, [[0]], np.array([True, False])):
        with pytest.raises(
            TypeError,
            match="Bags.take: rows must be a 1-D array of ints or a boolean mask of the 3 bags",
        ):
            bags.take(rows)


def test_zhang_positions_of_no_texts_and_bad_arguments_named():
    assert zhang_positions([], 5).shape == (0, 5)  # was numpy's "need at least one array"
    np.testing.assert_array_equal(zhang_positions(["ab"], 3), [[1, 0, -1]])
    with pytest.raises(TypeError, match="zhang_positions: texts must be a sequence of strings"):
        zhang_positions("ab", 3)  # was read as one text per character
    with pytest.raises(
        ValueError, match="character_indices: length must be a positive int, got -1"
    ):
        character_indices("abc", -1)  # was numpy's "negative dimensions are not allowed"
    with pytest.raises(TypeError, match="character_indices: text must be a str, got list"):
        character_indices(["a", "b"], 2)


def test_ag_news_takes_one_split_by_name_and_refuses_an_empty_file(tmp_path):
    (tmp_path / "ag_news").mkdir()
    (tmp_path / "ag_news" / "train.csv").write_bytes(b'"2","T","D"\n')
    # "train" was read as the splits "t", "r", ...: "unknown split 't'"
    out = ag_news(tmp_path, download=False, splits="train")
    assert list(out) == ["train"] and out["train"][1].tolist() == [1]
    for empty in (b"", b"\n\n"):
        with pytest.raises(ValueError, match=r"train\.csv: no rows"):
            _ag_train(tmp_path, empty)  # was an empty training set


def test_a_text_where_tokens_are_expected_is_refused():
    # each was read one character per token: a vocabulary of letters, "a b" bigrams of "ab"
    v = Vocabulary.build([["the", "cat"], ["the"]])
    assert v.lookup(["the", "dog"]).tolist() == [1, 0]
    for call, name in (
        (lambda: Vocabulary.build([["ok"], "the cat"]), r"Vocabulary.build: documents\[1\]"),
        (lambda: v.lookup("the"), "Vocabulary.lookup: tokens"),
        (lambda: ngrams("ab", 2), "ngrams: tokens"),
    ):
        with pytest.raises(TypeError, match=name + " must be a sequence of tokens, got the str"):
            call()
