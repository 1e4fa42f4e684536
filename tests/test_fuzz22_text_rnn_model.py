"""Fuzz wave 22, text: the LSTM/GRU text classifier (``models.TextRNN``, ``lstm_text``).

Found: lengths longer than the batch's T, or more lengths than texts, were ignored whenever the
shortest one equalled T (the batch was read unpacked); a batch of empty texts only (ids of shape
(N, 0), what ``pad_batch([""])`` gives) failed inside numpy's argmax, so `chainrule predict` of an
lstm_text run on "" did too; an empty batch failed in a reduction."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data.sequences import encode_characters, pad_batch
from chainrule.experiments.text_classify import predict_text_logits


def _net(cell="lstm", bidirectional=False):
    return cr.models.build(
        "lstm_text",
        num_classes=3,
        hidden_size=4,
        embedding_dim=3,
        cell=cell,
        bidirectional=bidirectional,
        rng=np.random.default_rng(0),
    ).eval()


@pytest.mark.parametrize("lengths", [[3, 5], [4, 4], [3, 3, 3], [[3], [3]], [3, 0], [3, np.nan]])
def test_lengths_that_do_not_fit_the_batch_are_refused(lengths):
    ids = cr.tensor(np.array([[5, 6, 7], [8, 9, 0]]))
    with pytest.raises(
        ValueError,
        match=r"TextRNN: lengths must be 2 numbers from 1 to T=3, "
        r"one per text of ids \(2, 3\), got",
    ):
        _net()(ids, lengths)


@pytest.mark.parametrize("cell, bidirectional", [("lstm", False), ("gru", True)])
def test_empty_texts_alone_read_as_beside_others(cell, bidirectional):
    net = _net(cell, bidirectional)
    with cr.no_grad():
        mixed, _, _ = pad_batch(encode_characters(["a text", ""]))
        empty, _, _ = pad_batch(encode_characters(["", ""]))
        assert empty.shape == (2, 0)
        beside = net(cr.tensor(mixed)).numpy()[1]
        alone = net(cr.tensor(empty)).numpy()
        np.testing.assert_allclose(alone, np.stack([beside, beside]), rtol=1e-6, atol=1e-7)
        assert net(cr.tensor(np.zeros((0, 4), np.int64))).shape == (0, 3)
    config = {"model": {"name": "lstm_text"}, "max_length": 300}
    logits = predict_text_logits(net, config, [""])
    np.testing.assert_allclose(logits[0], beside, rtol=1e-6, atol=1e-7)


def test_training_refuses_a_padding_id_the_texts_are_not_padded_with(tmp_path):
    # Before: --model-arg padding_idx=1 trained on the padding zeros as characters and took the
    # unknown character (id 1) for padding.
    from chainrule.experiments.text_classify import train_text_classifier

    with pytest.raises(
        ValueError,
        match=r"lstm_text's texts are padded with id 0 "
        r"\(data.sequences.PAD\), got padding_idx=1",
    ):
        train_text_classifier(
            "lstm_text", "sms_spam", model_kwargs={"padding_idx": 1}, out=tmp_path / "run"
        )
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("model", ["lstm_text", "char_cnn"])
def test_training_refuses_a_class_count_the_data_does_not_have(model, monkeypatch, tmp_path):
    # Before: num_classes=5 on a 2-class corpus trained three logits of no class, which predict
    # could name (an IndexError into the class names).
    from chainrule.experiments import text_classify

    corpus = (["a text", "another text"] * 10, np.array([0, 1] * 10), ("one", "two"))
    monkeypatch.setitem(text_classify.TEXT_DATASETS, "two", ("test", lambda d, dl: corpus))
    with pytest.raises(ValueError, match="num_classes=5, but two has 2 classes"):
        text_classify.train_text_classifier(
            model, "two", model_kwargs={"num_classes": 5}, out=tmp_path / "run"
        )


@pytest.mark.parametrize(
    "rows, batch_sizes, order, match",
    [
        (
            3,
            [1, 2],
            None,
            r"batch_sizes must be non-increasing counts.*3 rows of data, got \[1, 2\]",
        ),
        (5, [2, 1], None, r"summing to the 5 rows of data, got \[2, 1\]"),  # PyTorch: first 3
        (2, [3, -1], None, "batch_sizes must be non-increasing counts"),
        (0, [], None, "batch_sizes must be non-increasing counts"),
        (3, [2, 1], [0, 0], r"sorted_indices must be a permutation of the 2 sequences .*\[0, 0\]"),
        (3, [2, 1], [0, 1, 2], "sorted_indices must be a permutation of the 2 sequences"),
    ],
)
def test_a_packed_sequence_built_by_hand_must_hold_together(rows, batch_sizes, order, match):
    # Before: sorted_indices [0, 0] ran sequence 0 twice and returned its state for both; the
    # other faults failed inside numpy's indexing, naming nothing.
    data = cr.tensor(np.arange(rows * 2, dtype=np.float32).reshape(rows, 2))
    packed = cr.nn.utils.rnn.PackedSequence(
        data,
        cr.tensor(np.array(batch_sizes, dtype=np.int64)),
        None if order is None else cr.tensor(np.array(order, dtype=np.int64)),
    )
    gru = cr.nn.GRU(2, 3, rng=np.random.default_rng(0))
    for run in (lambda: gru(packed), lambda: cr.nn.utils.rnn.pad_packed_sequence(packed)):
        with pytest.raises(ValueError, match="PackedSequence: .*" + match):
            run()


@pytest.mark.parametrize("length, error", [(200.0, TypeError), ("300", TypeError), (0, ValueError)])
def test_char_cnn_names_a_length_that_is_no_positive_int(length, error):
    # Before: 200.0 failed in Linear ("in_features must be an int, got 768.0") and "300" in a
    # subtraction.
    with pytest.raises(error, match="CharCNN: length must be"):
        cr.models.CharCNN(length=length)
