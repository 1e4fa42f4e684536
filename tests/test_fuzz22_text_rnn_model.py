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
