"""`chainrule calibrate RUN`: the temperature is fitted on the run's own validation split."""

import json
from pathlib import Path

import pytest

from chainrule.cli.main import main


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_calibrate_a_trained_run(capsys):
    assert main(["train", "mlp", "--dataset", "digits", "--epochs", "3", "--quiet", "--out",
                 "run", "--model-arg", "dropout=0.3", "--model-arg", "sizes=[64,32,10]"]) == 0
    capsys.readouterr()
    assert main(["calibrate", "run", "--mc-dropout", "3", "--laplace", "--out", "cal"]) == 0
    out = capsys.readouterr().out
    assert "temperature" in out and "MC dropout (3)" in out and "Laplace (" in out
    res = json.loads(Path("cal/results.json").read_text())
    assert res["n_val"] == 143 and res["n_test"] == 359
    assert res["val_nll_after"] <= res["val_nll_before"]  # T minimizes the validation NLL
    assert res["after"]["accuracy"] == res["before"]["accuracy"]  # T never changes a class
    assert res["laplace"]["prior_precision"] in (0.1, 1.0, 10.0, 100.0, 1000.0)
    assert Path("cal/figures/reliability.png").read_bytes()[:4] == b"\x89PNG"


def test_calibrate_needs_a_validation_split(capsys):
    assert main(["train", "mlp", "--dataset", "digits", "--epochs", "1", "--quiet", "--out",
                 "run", "--val-split", "0"]) == 0
    assert main(["calibrate", "run", "--out", "cal"]) != 0
    assert "trained without a validation split" in capsys.readouterr().err
