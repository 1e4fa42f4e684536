"""Validation is held out from the training images; the test set is used once; threads recorded."""

import csv
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend.settings import config as settings
from chainrule.cli import main
from chainrule.experiments import classify, generative
from chainrule.train import Trainer

SMALL = ["--model-arg", "sizes=[64,16,10]", "--quiet"]


def _run(argv, capsys) -> tuple[int, str]:
    """Exit status and stderr of ``main(argv)`` (argparse's usage errors included)."""
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    err = capsys.readouterr().err
    return code, "".join(line for line in err.splitlines(keepends=True)
                         if " BLAS threads on " not in line)  # a busy machine's advice


def _json(path):
    return json.loads(path.read_text())


def _log(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def restore_threads():
    setting, count = settings.threads, cr.get_num_threads()
    yield
    cr.set_num_threads(count)
    settings.threads = setting


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "mlp"
    assert main(["train", "mlp", "--epochs", "2", "--out", str(out), *SMALL]) == 0
    return out


def test_default_split_is_held_out_of_the_training_images(run):
    config, results = _json(run / "config.json"), _json(run / "results.json")
    assert config["val_split"] == 0.1
    assert config["split"]["n_train"] == results["n_train"] == 1295
    assert config["split"]["n_val"] == results["n_val"] == 143  # 10% of each class of 1,438
    assert results["n_test"] == 359
    rows = _log(run / "metrics.csv")
    assert list(rows[0]) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    assert results["val_accuracy"] == pytest.approx(float(rows[-1]["val_accuracy"]))
    # 143 validation and 359 test images: equal accuracies only at 0 or 1
    assert 0 < results["val_accuracy"] < 1 and results["val_accuracy"] != results["test_accuracy"]


def test_no_validation_with_split_zero(tmp_path, capsys):
    out = tmp_path / "all"
    assert _run(["train", "mlp", "--epochs", "1", "--out", str(out), "--val-split", "0",
                 *SMALL], capsys)[0] == 0
    assert list(_log(out / "metrics.csv")[0]) == ["epoch", "loss", "accuracy"]
    results = _json(out / "results.json")
    assert results["n_train"] == 1438 and results["n_val"] == 0
    assert "val_accuracy" not in results and "test_accuracy" in results


@pytest.mark.parametrize("argv, message", [
    (["mlp", "--val-split", "1"], "argument --val-split: expected a finite number >= 0 and < 1, "
                                  "got '1'"),
    (["mlp", "--val-split", "-0.1"], "got '-0.1'"),
    (["mlp", "--val-split", "nan"], "got 'nan'"),
    (["mlp", "--val-split", "tenth"], "got 'tenth'"),
    (["mlp", "--val-split", "0.0001"], "val_split: validation split 0.0001 of 1438 training "
                                       "samples leaves 1438 for training and 0 for validation"),
    (["mlp", "--val-split", "0.9999"], "leaves 0 for training"),
    (["gan", "--dataset", "digits", "--val-split", "0.1"], "--val-split 0.1: GAN training is "
                                                           "not validated"),
], ids=["one", "negative", "nan", "word", "empty-val", "empty-train", "gan"])
def test_bad_splits_are_one_line_errors(argv, message, tmp_path, capsys):
    code, err = _run(["train", *argv, "--out", str(tmp_path / "x"), "--quiet"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert err.startswith("chainrule: error: ") and not (tmp_path / "x").exists()


def test_test_set_is_evaluated_once(tmp_path, monkeypatch):
    """Every pass the Trainer makes over data, counted: only one of them reads test images."""
    loaded, train_rows, passes = [], set(), []
    load = classify.load_image_dataset

    def loading(*args, **kwargs):
        # The training rows as loaded: the run then rearranges that array into its fit part.
        loaded.append(load(*args, **kwargs))
        train_rows.update(r.tobytes() for r in loaded[0].x_train.reshape(1438, -1))
        return loaded[-1]

    monkeypatch.setattr(classify, "load_image_dataset", loading)

    def is_test(arrays) -> bool:
        return any(np.shares_memory(a, loaded[0].x_test) for a in arrays)

    fit, evaluate, predict = Trainer.fit, Trainer._evaluate, Trainer.predict

    def counting_fit(self, train, validation=None, **kwargs):
        self._test_validation = validation is not None and is_test(validation)
        if validation is not None:  # validation images come from the training set, no others
            x_val = validation[0].reshape(len(validation[0]), -1)
            test_rows = {r.tobytes() for r in loaded[0].x_test.reshape(359, -1)}
            rows = {r.tobytes() for r in x_val}
            assert rows <= train_rows and rows.isdisjoint(test_rows - train_rows)
        return fit(self, train, validation, **kwargs)

    def counting_evaluate(self, loader, **kwargs):
        passes.append("test" if getattr(self, "_test_validation", False) else "validation")
        return evaluate(self, loader, **kwargs)

    def counting_predict(self, x, **kwargs):
        passes.append("test" if is_test([x]) else "other")
        return predict(self, x, **kwargs)

    monkeypatch.setattr(Trainer, "fit", counting_fit)
    monkeypatch.setattr(Trainer, "_evaluate", counting_evaluate)
    monkeypatch.setattr(Trainer, "predict", counting_predict)
    results = classify.train_classifier("mlp", "digits", epochs=3, out=tmp_path / "r",
                                        model_kwargs={"sizes": [64, 16, 10]}, verbose=0)
    assert passes.count("test") == 1 and passes.count("validation") == 3, passes
    assert passes[-1] == "test"  # after training
    assert results["n_test"] == 359 and results["n_val"] == 143


def test_autoencoder_validates_on_training_images(tmp_path, monkeypatch):
    loaded, seen = [], []
    load = generative.load_image_dataset
    monkeypatch.setattr(generative, "load_image_dataset",
                        lambda *a, **k: loaded.append(load(*a, **k)) or loaded[-1])
    fit = Trainer.fit
    monkeypatch.setattr(Trainer, "fit", lambda self, train, validation=None, **kwargs: (
        seen.append(validation), fit(self, train, validation, **kwargs))[1])
    results = generative.train_autoencoder("autoencoder", "digits", epochs=1, verbose=0,
                                           out=tmp_path / "ae")
    (validation,) = seen
    assert not any(np.shares_memory(a, loaded[0].x_test) for a in validation)
    assert len(validation[0]) == results["n_val"] == 143 and results["n_train"] == 1295
    assert "val_loss" in results and "test_mse" in results
    assert "val_loss" in _log(tmp_path / "ae" / "metrics.csv")[0]


def test_resume_keeps_the_split(run, tmp_path, capsys):
    out = tmp_path / "resumed"
    assert _run(["train", "mlp", "--epochs", "1", "--out", str(out), *SMALL], capsys)[0] == 0
    code, err = _run(["train", "mlp", "--epochs", "2", "--out", str(out), "--resume",
                      "--val-split", "0.2", *SMALL], capsys)
    assert code == 2 and "val_split 0.1 -> 0.2" in err and "split.n_val 143 -> 287" in err
    assert _run(["train", "mlp", "--epochs", "2", "--out", str(out), "--resume", *SMALL],
                capsys)[0] == 0
    assert (out / "metrics.csv").read_text() == (run / "metrics.csv").read_text()
    assert _json(out / "results.json")["val_accuracy"] == _json(run / "results.json")[
        "val_accuracy"]


def test_config_records_threads_and_resume_applies_them(tmp_path, capsys, restore_threads):
    cr.set_num_threads(2)
    if cr.get_num_threads() != 2:
        pytest.skip("this BLAS library does not take 2 threads")
    out = tmp_path / "r"
    assert _run(["train", "mlp", "--epochs", "1", "--out", str(out), "--threads", "2", *SMALL],
                capsys)[0] == 0
    assert _json(out / "config.json")["threads"] == _json(out / "results.json")["threads"] == 2
    cr.set_num_threads(1)
    code, err = _run(["train", "mlp", "--epochs", "2", "--out", str(out), "--resume", *SMALL],
                     capsys)
    assert code == 0 and err == "" and cr.get_num_threads() == 2  # the recorded count, quietly
    code, err = _run(["train", "mlp", "--epochs", "3", "--out", str(out), "--resume",
                      "--threads", "1", *SMALL], capsys)
    assert code == 0 and cr.get_num_threads() == 1
    assert err.strip() == (f"chainrule: note: {out} was trained with 2 BLAS thread(s) and "
                           "resumes with 1 (--threads 1): results may differ in the last bits "
                           "from those of a run never stopped")
    assert _json(out / "config.json")["threads"] == 1


def test_resume_refuses_a_damaged_thread_record(run, tmp_path, capsys):
    out = tmp_path / "copy"
    assert _run(["train", "mlp", "--epochs", "1", "--out", str(out), *SMALL], capsys)[0] == 0
    config = _json(out / "config.json")
    (out / "config.json").write_text(json.dumps({**config, "threads": "many"}))
    stale = out / "checkpoint" / ".last.state.safetensors.0123456789ab.tmp"
    stale.write_bytes(b"half a file")  # a crash's leftover: a refused resume changes nothing
    code, err = _run(["train", "mlp", "--epochs", "2", "--out", str(out), "--resume", *SMALL],
                     capsys)
    assert code == 2 and "records threads 'many'; expected a positive integer" in err
    assert stale.exists()
