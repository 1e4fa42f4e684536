"""Zhang, Zhao & LeCun's character quantization (chainrule.data.text)."""

import numpy as np
import pytest

from chainrule.data.text import ALPHABET, PAPER_LENGTH, character_indices, quantize


def test_the_alphabet_is_the_papers_seventy_entries():
    assert len(ALPHABET) == 70 and PAPER_LENGTH == 1014
    assert ALPHABET[:36] == "abcdefghijklmnopqrstuvwxyz0123456789" and ALPHABET[-1] == "\n"
    assert ALPHABET.count("-") == 2 and len(set(ALPHABET)) == 69  # the paper names "-" twice


def test_characters_are_read_backward_lower_cased_and_unknown_ones_are_zero():
    x = quantize(["aB\u00e9c"], length=6)
    assert x.shape == (1, 70, 6) and x.dtype == np.float32
    cols = x[0]
    # Read backward: c, (é: outside the alphabet), b, a, then two padding columns.
    assert cols[:, 0].argmax() == ALPHABET.index("c") and cols[:, 0].sum() == 1
    assert cols[:, 1].sum() == 0
    assert cols[:, 2].argmax() == ALPHABET.index("b") and cols[:, 3].argmax() == 0
    assert cols[:, 4:].sum() == 0
    assert list(character_indices("aB\u00e9c", 6)) == [2, -1, 1, 0, -1, -1]


def test_only_the_first_length_characters_are_read():
    text = "abcdefgh"
    idx = character_indices(text, 3)
    assert [ALPHABET[i] for i in idx] == ["c", "b", "a"]  # "abc", last first
    x = quantize([text, "-\n"], length=3, dtype=np.float64)
    assert x.dtype == np.float64 and x.sum(axis=(1, 2)).tolist() == [3.0, 2.0]
    assert x[1, ALPHABET.index("\n"), 0] == 1 and x[1, ALPHABET.index("-"), 1] == 1
    assert x[1, 60].sum() == 0  # the second "-" row is never set


def test_bad_input_is_refused_clearly():
    with pytest.raises(TypeError, match="a single str"):
        quantize("abc")
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str, got int"):
        quantize(["a", 3])
    with pytest.raises(ValueError, match="length must be a positive int, got 0"):
        quantize(["a"], length=0)


def test_a_character_that_lowers_to_two_does_not_overflow_the_frame():
    # "İ".lower() is "i̇" (two characters): the positions overran the array (IndexError).
    np.testing.assert_array_equal(character_indices("abİ", 3), [8, 1, 0])
    assert quantize(["İ" * 10], length=4).shape == (1, len(ALPHABET), 4)


def test_an_iterator_of_texts_and_a_numpy_length_are_read():
    # An iterator failed with "object of type 'list_iterator' has no len()" and np.int64(3) was
    # refused as "length must be a positive int, got 3".
    want = quantize(["Ab!", "c"], length=3)
    np.testing.assert_array_equal(quantize(iter(["Ab!", "c"]), length=3), want)
    np.testing.assert_array_equal(quantize(["Ab!", "c"], length=np.int64(3)), want)
