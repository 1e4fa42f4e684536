"""data.sequences: character ids, padded batches with lengths, the LM's vocabulary and streams."""

import numpy as np
import pytest

from chainrule.data.sequences import (
    CHARACTER_VOCABULARY_SIZE,
    PAD,
    UNKNOWN,
    CharVocabulary,
    bptt_chunks,
    encode_characters,
    lengths_of,
    one_hot_frames,
    pad_batch,
    padded_characters,
    trim_padding,
    zhang_positions,
)
from chainrule.data.text import ALPHABET, quantize


def test_character_ids_read_forward_lower_cased_with_unknown_and_cut():
    (ids,) = encode_characters(["aZ-é\n"])
    assert ids.tolist() == [2, 2 + 25, 2 + ALPHABET.index("-"), UNKNOWN, 2 + 69]
    assert CHARACTER_VOCABULARY_SIZE == 72 and ids.min() > PAD
    assert encode_characters(["abcdef"], max_length=3)[0].tolist() == [2, 3, 4]
    assert encode_characters([""])[0].tolist() == []
    with pytest.raises(TypeError, match="a single str"):
        encode_characters("abc")
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str, got int"):
        encode_characters(["a", 3])
    with pytest.raises(ValueError, match="max_length must be a positive int, got 0"):
        encode_characters(["a"], max_length=0)


def test_pad_batch_pads_to_the_longest_and_sorts_on_request():
    seqs = [[5, 6], [7, 8, 9, 10], [11]]
    batch, lengths, order = pad_batch(seqs)
    assert batch.tolist() == [[5, 6, 0, 0], [7, 8, 9, 10], [11, 0, 0, 0]]
    assert lengths.tolist() == [2, 4, 1] and order.tolist() == [0, 1, 2]
    batch, lengths, order = pad_batch(seqs, sort=True, padding_value=-1, length=3)
    assert batch.tolist() == [[7, 8, 9], [5, 6, -1], [11, -1, -1]]
    assert lengths.tolist() == [3, 2, 1] and order.tolist() == [1, 0, 2]
    with pytest.raises(ValueError, match=r"sequences\[0\] must be 1-D, got shape \(1, 2\)"):
        pad_batch([[[1, 2]]])


def test_lengths_and_trimming_of_a_padded_batch():
    batch = np.array([[3, 4, 0, 0, 0], [5, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    assert lengths_of(batch).tolist() == [2, 1, 0]
    assert trim_padding(batch).tolist() == [[3, 4], [5, 0], [0, 0]]
    stored = padded_characters(["ab", "abcdef"], max_length=4)
    assert stored.dtype == np.int8 and stored.tolist() == [[2, 3, 0, 0], [2, 3, 4, 5]]


def test_one_hot_frames_of_stored_positions_equal_quantize():
    texts = ["Hello, World!", "", "short ÿ text " * 20]
    np.testing.assert_array_equal(one_hot_frames(zhang_positions(texts, 150)),
                                  quantize(texts, length=150))


def test_vocabulary_round_trip_and_errors():
    v = CharVocabulary.of("to be or not")
    assert v.characters == " benort" and len(v) == 7
    assert v.decode(v.encode("not to be")) == "not to be"
    with pytest.raises(ValueError, match="character 'z' is not in the vocabulary of 7"):
        v.encode("zoo")
    with pytest.raises(ValueError, match="must not repeat"):
        CharVocabulary("aa")


def test_bptt_chunks_continue_each_stream_and_targets_are_the_next_characters():
    ids = np.arange(23)
    chunks = bptt_chunks(ids, batch_size=2, bptt=4)  # streams 0..10 and 11..21, per = 11
    streams = np.concatenate([x for x, _ in chunks], axis=1)
    targets = np.concatenate([y for _, y in chunks], axis=1)
    assert streams.tolist() == [list(range(0, 10)), list(range(11, 21))]
    np.testing.assert_array_equal(targets, streams + 1)
    assert [x.shape[1] for x, _ in chunks] == [4, 4, 2]
    with pytest.raises(ValueError, match="each stream needs at least 2"):
        bptt_chunks(np.arange(3), batch_size=2, bptt=4)


def test_a_batch_of_empty_sequences_and_characters_that_lower_to_two():
    batch, lengths, _ = pad_batch([[], []])
    assert batch.shape == (2, 0)
    assert lengths_of(batch).tolist() == [0, 0] == lengths.tolist()  # argmax of nothing failed
    assert trim_padding(batch).shape == (2, 0)
    # "İ".lower() is two characters: max_length still bounds the ids.
    assert [len(i) for i in encode_characters(["İİİİ", "aİ"], max_length=2)] == [2, 2]
