"""`chainrule train char_cnn | lstm_text | char_lm` and `chainrule sample`, end to end on tiny
data (a made-up corpus registered for the test; the real corpora where ../shared has them)."""

import json
import os

import numpy as np
import pytest

from chainrule import tensor
from chainrule.cli import main
from chainrule.data.sequences import one_hot_frames
from chainrule.data.text import load_text_splits, quantize
from chainrule.experiments import predict_texts, text_classify
from chainrule.experiments.classify import load_model
from chainrule.io import save_weights

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
    assert (results["n_train"], results["n_val"], results["n_test"]) == (42, 6, 12)
    assert results["split"] == "70/10/20 train/val/test, stratified, seed 0"
    assert (out / "model.safetensors").is_file() and (out / "metrics.csv").is_file()
    if model == "lstm_text":
        assert results["test_accuracy"] >= 0.9  # two vocabularies that share no word
    assert main(["evaluate", str(out)]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"tiny: test accuracy {results['test_accuracy']:.4f}")
    texts = ["goal team win goal match score", "bank stock market price trade bank"]
    assert main(["predict", str(out), *texts, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["text"] for r in res] == texts
    for r in res:
        assert set(r["probabilities"]) == {"sport", "money"}
        assert sum(r["probabilities"].values()) == pytest.approx(1, abs=1e-3)
        assert r["class"] == max(r["probabilities"], key=r["probabilities"].get)
    if model == "lstm_text":
        assert [r["class"] for r in res] == ["sport", "money"]
    lines = tmp_path / "texts.txt"
    lines.write_text("\n".join(texts) + "\n", encoding="utf-8")
    assert main(["predict", str(out / "model.safetensors"), str(lines), "--text-files"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert [line.split("': ")[1].split()[0] for line in shown] == [r["class"] for r in res]


def test_predict_matches_the_models_own_forward_pass(tiny, tmp_path):
    """predict encodes a text exactly as training did: its probabilities are the softmax of the
    saved model applied to the training encoding of the text."""

    out = tmp_path / "cnn"
    assert main(["train", "char_cnn", "--dataset", "tiny", "--epochs", "1", "--quiet",
                 "--model-arg", "length=123", "--batch-size", "16", "--out", str(out)]) == 0
    texts = ["Goal! team wins", "stock prices fall at the bank"]
    net, config = load_model(out)
    x = text_classify.encode_for("char_cnn", texts, 123)
    assert np.array_equal(one_hot_frames(x), quantize(texts, length=123))
    logits = net.eval()(tensor(one_hot_frames(x))).numpy()
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    res = predict_texts(out, texts)
    for r, row in zip(res, p):
        assert [r["probabilities"][c] for c in ("sport", "money")] == pytest.approx(
            row.tolist(), abs=1e-4)


def test_a_run_of_the_old_split_is_not_scored_on_the_new_test_part(tiny, tmp_path, capsys):
    out = tmp_path / "lstm"
    assert main(["train", "lstm_text", "--dataset", "tiny", "--epochs", "1", "--quiet",
                 "--model-arg", "hidden_size=4", "--out", str(out)]) == 0
    net, config = load_model(out)
    config["split"] = {"seed": 0, "test_fraction": 0.2}  # as runs before the common split
    save_weights(net, out / "model.safetensors", config=config)
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 2
    err = capsys.readouterr().err
    assert "trained on an earlier split of tiny" in err and "train it again" in err
    assert main(["predict", str(out), "goal match"]) == 0  # predicting needs no split


def test_the_split_is_fixed_and_stratified(tiny):
    a = text_classify.load_text_dataset("tiny")
    b = text_classify.load_text_dataset("tiny")
    assert a.texts_test == b.texts_test and np.bincount(a.y_test).tolist() == [6, 6]
    assert a.texts_val == b.texts_val and np.bincount(a.y_val).tolist() == [3, 3]
    assert np.bincount(a.y_train).tolist() == [21, 21]


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="../shared/data not present")
@pytest.mark.parametrize("name", ["ag_news", "sms_spam"])
def test_the_character_models_split_is_the_ngram_models(name):
    """char_cnn and lstm_text train, validate and test on exactly the n-gram models' texts."""
    data = text_classify.load_text_dataset(name, SHARED, download=False)
    parts, classes = load_text_splits(name, SHARED, download=False)
    assert data.classes == classes
    for part in ("train", "val", "test"):
        texts, y = parts[part]
        assert getattr(data, f"texts_{part}") == texts
        assert np.array_equal(getattr(data, f"y_{part}"), y)
    sizes = len(data.y_train), len(data.y_val), len(data.y_test)
    assert sizes == ((5320, 760, 1520) if name == "ag_news" else (3902, 558, 1114))


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


def test_text_errors_are_one_line(tmp_path, capsys, tiny, monkeypatch):
    assert main(["train", "char_lm", "--epochs", "1"]) == 2
    assert "char_lm needs --text FILE" in capsys.readouterr().err
    assert main(["train", "lstm_text", "--dataset", "tiny", "--text", "x.txt"]) == 2
    assert "--text is for char_lm" in capsys.readouterr().err
    assert main(["train", "char_cnn", "--dataset", "tiny", "--val-split", "0.2"]) == 2
    assert "--val-split 0.2: char_cnn validates on the fixed 10 %" in capsys.readouterr().err
    assert main(["train", "lstm_text", "--dataset", "nope"]) == 2
    assert "unknown text dataset 'nope'" in capsys.readouterr().err
    short = tmp_path / "s.txt"
    short.write_text("too short")
    assert main(["train", "char_lm", "--text", str(short)]) == 2
    assert "a language model needs at least 100" in capsys.readouterr().err
    # Found by the CLI fuzz: a file whose size reads as 0 (/dev/zero, a pipe) was read whole,
    # forever; reading stops one byte past the limit. Windows line ends read as text mode's.
    from chainrule.experiments import char_lm

    monkeypatch.setattr(char_lm, "MAX_TEXT_BYTES", 1000)
    if os.path.exists("/dev/zero"):
        assert main(["train", "char_lm", "--text", "/dev/zero"]) == 2
        assert "/dev/zero: more bytes, more than the 1000" in capsys.readouterr().err
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(b"line one\r\nline two\r" * 10)
    assert char_lm.read_text(crlf) == "line one\nline two\n" * 10
    run = tmp_path / "cnn"
    assert main(["train", "lstm_text", "--dataset", "tiny", "--epochs", "1", "--quiet",
                 "--model-arg", "hidden_size=4", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["sample", str(run)]) == 2
    assert "not a character language model" in capsys.readouterr().err


@pytest.mark.parametrize("model, args", [
    ("char_cnn", ["--model-arg", "length=123", "--batch-size", "16"]),
    ("lstm_text", ["--model-arg", "hidden_size=8", "--model-arg", "max_length=40"]),
])
def test_train_fraction_trains_on_exactly_the_learning_curves_subset(tiny, tmp_path, capsys,
                                                                     monkeypatch, model, args):
    """--train-fraction F: the run's training texts are training_subset(y_train, F, seed=0),
    whatever --seed; validation and test parts unchanged."""
    from chainrule.data.text import training_subset

    seen = []
    encode = text_classify.encode_for
    monkeypatch.setattr(text_classify, "encode_for",
                        lambda m, texts, length: seen.append(list(texts)) or encode(m, texts,
                                                                                   length))
    out = tmp_path / model
    assert main(["train", model, "--dataset", "tiny", "--epochs", "1", "--quiet", "--seed", "3",
                 "--train-fraction", "0.25", "--out", str(out), *args]) == 0
    assert "trained on 10 texts" in capsys.readouterr().out
    data = text_classify.load_text_dataset("tiny")
    keep = training_subset(data.y_train, 0.25, seed=0)
    assert len(keep) == 10 and np.bincount(data.y_train[keep]).tolist() == [5, 5]
    assert seen == [[data.texts_train[i] for i in keep], data.texts_val, data.texts_test]
    results = json.loads((out / "results.json").read_text())
    assert (results["n_train"], results["n_val"], results["n_test"]) == (10, 6, 12)
    assert results["train_fraction"] == 0.25
    assert json.loads((out / "config.json").read_text())["train_fraction"] == 0.25


def test_train_fraction_errors(tiny, capsys):
    for bad in ("0", "1.5", "half", "nan"):
        with pytest.raises(SystemExit) as exit_info:  # argparse's usage error
            main(["train", "char_cnn", "--dataset", "tiny", "--train-fraction", bad])
        assert exit_info.value.code == 2
        assert f"--train-fraction: expected a number in (0, 1], got '{bad}'" in \
            capsys.readouterr().err
    assert main(["train", "lenet5", "--train-fraction", "0.5"]) == 2
    assert "--train-fraction 0.5: only the text classifiers" in capsys.readouterr().err
    assert main(["train", "char_lm", "--text", "x.txt", "--train-fraction", "0.5"]) == 2
    assert "--train-fraction 0.5: only the text classifiers" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"train_fraction must be a number in \(0, 1\].*got 2"):
        text_classify.train_text_classifier("char_cnn", "tiny", train_fraction=2)
