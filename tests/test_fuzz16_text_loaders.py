"""Wave 16, text: the AG News / SMS Spam readers on hand-made files.

Each case is a file a real copy of the data could be (a BOM from a spreadsheet, CRLF line ends,
embedded new lines, the corpus's own backslash and HTML remnants, a truncated file, a row with a
stray delimiter, a label out of range): the rows must come back as written or the reader must
refuse with the file and line, never drop or shift a field or a row silently.
"""

import csv

import numpy as np
import pytest

from chainrule.data.datasets.text import ag_news, read_labelled_csv

SMS = dict(text_columns=(1,), delimiter="\t", label_map={"ham": 0, "spam": 1},
           quoting=csv.QUOTE_NONE, columns=2)


def _ag_train(tmp_path, data: bytes):
    # train.csv has no pinned digest, so a hand-made one goes through ag_news() itself
    (tmp_path / "ag_news").mkdir(exist_ok=True)
    (tmp_path / "ag_news" / "train.csv").write_bytes(data)
    return ag_news(tmp_path, download=False, splits=("train",))["train"]


def test_ag_news_reads_bom_crlf_newlines_and_the_corpus_escapes_as_written(tmp_path):
    raw = ('\ufeff"3","Wall St.","Short-sellers\\band #39;s \\$5 quot;x quot;"\r\n'
           '"1","Two\r\nlines","a ""quoted"" word \\n"\r\n'
           '"4","","empty title"\r\n')
    texts, y = _ag_train(tmp_path, raw.encode("utf-8"))
    assert texts == ['Wall St. Short-sellers\\band #39;s \\$5 quot;x quot;',
                     'Two\r\nlines a "quoted" word \\n', ' empty title']
    assert y.tolist() == [2, 0, 3] and y.dtype == np.int64


def test_sms_reads_a_bom_and_crlf(tmp_path):
    p = tmp_path / "SMSSpamCollection"
    p.write_bytes('\ufeffham\tOk "lar"...\r\nspam\tWIN &lt;3\r\n'.encode("utf-8"))
    texts, y = read_labelled_csv(p, **SMS)
    assert texts == ['Ok "lar"...', "WIN &lt;3"] and y.tolist() == [0, 1]


@pytest.mark.parametrize("raw, match", [
    (b'"3","T","D","stray"\n', r"train\.csv:1: expected 3 columns, got 4"),
    (b'"3","T","D"\n"2","T"\n', r"train\.csv:2: expected 3 columns, got 2"),
    (b'"3","T","D"\n"0","T","D"\n', r"train\.csv:2: label '0' is out of range: expected 1 \.\. 4"),
    (b'"5","T","D"\n', r"train\.csv:1: label '5' is out of range"),
    (b'"3","T","D"\n"2","T","cut off', r"train\.csv: after line 2: .*truncated"),
    (b'class,title,description\n"3","T","D"\n', r"train\.csv:1: unknown label 'class'"),
])
def test_ag_news_refuses_a_shifted_or_mislabelled_row(tmp_path, raw, match):
    # before: a 4th field was dropped without a word and labels 0 / 5 became classes -1 / 4
    with pytest.raises(ValueError, match=match):
        _ag_train(tmp_path, raw)


@pytest.mark.parametrize("raw, match", [
    (b"ham\thi\tthere\n", r":1: expected 2 columns, got 3"),
    (b"ham\thi\nspam\n", r":2: expected 2 columns, got 1"),
    (b"ham\thi\nSPAM\tx\n", r":2: unknown label 'SPAM'"),
])
def test_sms_refuses_a_row_with_a_stray_tab_or_no_text(tmp_path, raw, match):
    # before: "hi\tthere" lost "there" without a word
    p = tmp_path / "SMSSpamCollection"
    p.write_bytes(raw)
    with pytest.raises(ValueError, match=match):
        read_labelled_csv(p, **SMS)


def test_default_reader_still_accepts_extra_columns(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("1,a,b,extra\n", encoding="utf-8")
    texts, y = read_labelled_csv(p, label_offset=1)
    assert texts == ["a b"] and y.tolist() == [0]


def test_predict_text_files_drops_a_bom_and_crlf(tmp_path, monkeypatch, capsys):
    # before: a file saved with a BOM gave its first text a leading "\ufeff" (an unknown
    # character that lstm_text reads as input and that predict printed back)
    import argparse

    from chainrule.cli import text as text_cli

    seen = []

    def fake_predict(checkpoint, texts):
        seen.extend(texts)
        return [{"text": t, "class": "ham", "probabilities": {"ham": 1.0}} for t in texts]

    monkeypatch.setattr(text_cli.text, "predict_texts", fake_predict)
    p = tmp_path / "texts.txt"
    p.write_bytes("\ufeffFirst text\r\n\r\nsecond\r\n".encode("utf-8"))
    args = argparse.Namespace(images=[str(p)], text_files=True, checkpoint="run", json=True,
                              top=1)
    assert text_cli.predict(args) == 0
    assert seen == ["First text", "second"]
    capsys.readouterr()
