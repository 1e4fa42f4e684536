"""`chainrule train char_cnn | lstm_text | char_lm` and `chainrule sample`, end to end on tiny
data (a made-up corpus registered for the test; the real corpora where ../shared has them)."""

import json
import os

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.experiments import text_classify

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")

_WORDS = {0: "goal match team win score", 1: "market stock price bank trade"}


def _tiny(data_dir, download):
    rng = np.random.default_rng(0)
    labels = np.array([i % 2 for i in range(60)])
    texts = [" ".join(rng.choice(_WORDS[c].split(), 6)) for c in labels]
    return texts, labels, ("sport", "money")


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(text_classify.TEXT_DATASETS, "tiny", ("made-up test corpus", _tiny))


@pytest.mark.parametrize("model, args", [
    ("char_cnn", ["--model-arg", "length=123", "--batch-size", "16"]),
    ("lstm_text", ["--model-arg", "hidden_size=16", "--model-arg", "bidirectional=true",
                   "--model-arg", "max_length=40", "--lr", "0.01", "--batch-size", "8"]),
])
def test_train_text_classifier_writes_a_run(tiny, tmp_path, capsys, model, args):
    out = tmp_path / model
    assert main(["train", model, "--dataset", "tiny", "--epochs", "3", "--quiet", "--out",
                 str(out), *args]) == 0
    assert "test accuracy" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert results["n_test"] == 12 and results["n_train"] + results["n_val"] == 48
    assert (out / "model.safetensors").is_file() and (out / "metrics.csv").is_file()
    if model == "lstm_text":
        assert results["test_accuracy"] >= 0.9  # two vocabularies that share no word
    assert main(["evaluate", str(out)]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"tiny: test accuracy {results['test_accuracy']:.4f}")


def test_the_split_is_fixed_and_stratified(tiny):
    a = text_classify.load_text_dataset("tiny")
    b = text_classify.load_text_dataset("tiny")
    assert a.texts_test == b.texts_test and np.bincount(a.y_test).tolist() == [6, 6]


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="../shared/data not present")
def test_real_corpora_split_sizes():
    ag = text_classify.load_text_dataset("ag_news", SHARED, download=False)
    assert len(ag.y_test) == 1520 and np.bincount(ag.y_test).tolist() == [380] * 4
    sms = text_classify.load_text_dataset("sms_spam", SHARED)
    assert len(sms.y_train) + len(sms.y_test) == 5574 and int(sms.y_test.sum()) == 149


def test_char_lm_trains_and_samples(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("In the beginning was the word, and the word was with the text. " * 30)
    out = tmp_path / "lm"
    assert main(["train", "char_lm", "--text", str(text), "--epochs", "2", "--batch-size", "4",
                 "--bptt", "20", "--model-arg", "hidden_size=24", "--model-arg",
                 "num_layers=1", "--quiet", "--out", str(out)]) == 0
    assert "bits per character" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert results["steps"] > 0 and results["val_bits_per_character"] > 0
    assert "--- generated" in (out / "sample.txt").read_text()
    assert main(["sample", str(out), "--length", "50", "--temperature", "0.8", "--prime",
                 "In the", "--seed", "1"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("In the") and len(first.rstrip("\n")) >= 56
    assert main(["sample", str(out), "--length", "50", "--temperature", "0.8", "--prime",
                 "In the", "--seed", "1"]) == 0
    assert capsys.readouterr().out == first


def test_text_errors_are_one_line(tmp_path, capsys, tiny):
    assert main(["train", "char_lm", "--epochs", "1"]) == 2
    assert "char_lm needs --text FILE" in capsys.readouterr().err
    assert main(["train", "lstm_text", "--dataset", "tiny", "--text", "x.txt"]) == 2
    assert "--text is for char_lm" in capsys.readouterr().err
    assert main(["train", "lstm_text", "--dataset", "nope"]) == 2
    assert "unknown text dataset 'nope'" in capsys.readouterr().err
    short = tmp_path / "s.txt"
    short.write_text("too short")
    assert main(["train", "char_lm", "--text", str(short)]) == 2
    assert "a language model needs at least 100" in capsys.readouterr().err
    run = tmp_path / "cnn"
    assert main(["train", "lstm_text", "--dataset", "tiny", "--epochs", "1", "--quiet",
                 "--model-arg", "hidden_size=4", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["sample", str(run)]) == 2
    assert "not a character language model" in capsys.readouterr().err
