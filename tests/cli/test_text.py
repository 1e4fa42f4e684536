"""``chainrule train ngram|fasttext``, ``predict`` and ``evaluate`` on texts, ``datasets``."""

import json
import os

import pytest

from chainrule.cli.main import main
from chainrule.data.ngrams import TfidfFeatures

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
needs_shared = pytest.mark.skipif(not os.path.isdir(SHARED), reason="../shared/data not present")


def test_datasets_lists_the_text_corpora(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "ag_news" in out and "sms_spam" in out and "70/10/20" in out
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "ngram" in out and "fasttext" in out


@needs_shared
@pytest.mark.parametrize("model", ["ngram", "fasttext"])
def test_train_predict_evaluate_sms_spam(tmp_path, capsys, model):
    run = tmp_path / "run"
    status = main(["train", model, "--dataset", "sms_spam", "--data-dir", SHARED, "--epochs",
                   "2", "--out", str(run), "--quiet", "--threads", "1"])
    assert status == 0
    out = capsys.readouterr().out
    assert "split 70/10/20 train/val/test, stratified, seed 0" in out
    results = json.loads((run / "results.json").read_text())
    assert results["n_train"] == 3902 and results["n_val"] == 558 and results["n_test"] == 1114
    assert results["test_accuracy"] > 0.95  # spam is easy: the majority class alone is 86.6 %
    assert {p.name for p in run.iterdir()} >= {"config.json", "features.json", "metrics.csv",
                                               "model.safetensors", "results.json", "figures"}
    features = TfidfFeatures.load(run / "features.json")
    assert features.weighting == ("tfidf" if model == "ngram" else "mean")

    texts = ["WINNER!! You have won a free prize: call 09061701461 to claim now",
             "ok see you at home later"]
    assert main(["predict", str(run), *texts, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["class"] for r in res] == ["spam", "ham"]
    lines = tmp_path / "texts.txt"
    lines.write_text("\n".join(texts) + "\n", encoding="utf-8")
    assert main(["predict", str(run / "model.safetensors"), str(lines), "--text-files"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and ": spam" in out[0] and ": ham" in out[1]
    # Found by the CLI fuzz: a file that is not UTF-8 failed with "'utf-8' codec can't decode
    # byte 0xff in position 0" (no file named), an empty one as "predict_texts: ... got []".
    (tmp_path / "bad.txt").write_bytes(b"ok\n\xff\xfe")
    (tmp_path / "empty.txt").write_text("\n  \n", encoding="utf-8")
    assert main(["predict", str(run), str(tmp_path / "bad.txt"), "--text-files"]) == 2
    assert f"{tmp_path / 'bad.txt'}: not UTF-8 text (invalid start byte); --text-files" in \
        capsys.readouterr().err
    assert main(["predict", str(run), str(tmp_path / "empty.txt"), "--text-files"]) == 2
    assert f"--text-files {tmp_path / 'empty.txt'}: no text in the file(s)" in \
        capsys.readouterr().err

    assert main(["evaluate", str(run), "--data-dir", SHARED]) == 0
    out = capsys.readouterr().out
    assert f"test accuracy {results['test_accuracy']:.4f}" in out
    assert main(["evaluate", str(run), "--dataset", "ag_news", "--data-dir", SHARED]) == 2
    assert "trained on 'sms_spam'" in capsys.readouterr().err


def test_text_training_refuses_image_options_and_datasets(capsys):
    assert main(["train", "ngram", "--dataset", "digits"]) == 2
    assert "ngram trains on a text dataset (ag_news, sms_spam), got 'digits'" in \
        capsys.readouterr().err
    assert main(["train", "ngram", "--augment", "shift"]) == 2
    assert "--augment shift: text models" in capsys.readouterr().err


def test_predict_text_files_needs_a_text_model(tmp_path, capsys):
    (tmp_path / "model.safetensors").write_bytes(b"")  # a run folder, of no text model
    assert main(["predict", str(tmp_path), "x.png", "--text-files"]) == 2
    assert "is not a text model's run" in capsys.readouterr().err


@needs_shared
def test_ngram_train_fraction_fits_features_on_the_subset_only(tmp_path, capsys):
    from chainrule.data.text import load_text_splits, training_subset

    run = tmp_path / "run"
    assert main(["train", "ngram", "--dataset", "sms_spam", "--data-dir", SHARED, "--epochs",
                 "1", "--train-fraction", "0.1", "--out", str(run), "--quiet",
                 "--threads", "1"]) == 0
    capsys.readouterr()
    results = json.loads((run / "results.json").read_text())
    assert (results["n_train"], results["n_val"], results["n_test"]) == (390, 558, 1114)
    assert results["train_fraction"] == 0.1
    parts, _ = load_text_splits("sms_spam", SHARED, download=False)
    texts, y = parts["train"]
    keep = training_subset(y, 0.1, seed=0)
    expected = TfidfFeatures(2).fit([texts[i] for i in keep])
    saved = TfidfFeatures.load(run / "features.json")
    assert saved.n_features == expected.n_features == results["n_features"]
    assert saved.vocabulary.tokens == expected.vocabulary.tokens
