"""The bayes examples run end to end with small settings and write their figures."""

from pathlib import Path

import pytest


def test_bayes_curves_example(tmp_path, load_script, capsys):
    table = load_script("examples/bayes_curves.py").main(
        ["--epochs", "150", "--patience", "20", "--out", str(tmp_path)])
    assert set(table) >= {("over", "none"), ("right", "early stopping")}
    assert table[("over", "none")]["train_mse"] < table[("under", "none")]["train_mse"]
    for name in ("bayes-curves.png", "bayes-losses.png", "bayes-bands.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert "evidence picks alpha" in capsys.readouterr().out
    assert (tmp_path / "bayes-evidence.png").stat().st_size > 0


def test_bayes_digits_example(tmp_path, load_script, capsys):
    table = load_script("examples/bayes_digits.py").main(
        ["--epochs", "3", "--train-size", "100", "--val-size", "100", "--hidden", "16",
         "--members", "2", "--samples", "3", "--seeds", "2", "--out", str(tmp_path)])
    assert len(table) == 11 and "KFAC Laplace" in table
    for row in table.values():
        assert 0 <= row["ece"] <= 1 and row["nll"] > 0
        assert row["nll_sd"] >= 0  # two seeds: a mean and a standard deviation
    assert (tmp_path / "bayes-reliability-digits-100.png").stat().st_size > 0
    assert "ECE %" in capsys.readouterr().out


def test_bayes_digits_rejects_bad_arguments(load_script, capsys):
    with pytest.raises(SystemExit):
        load_script("examples/bayes_digits.py").main(["--members", "0"])
    assert "--members must be at least 1" in capsys.readouterr().err


def test_bayes_soft_sharing_example(tmp_path, load_script, capsys):
    result = load_script("examples/bayes_soft_sharing.py").main(
        ["--epochs", "3", "--sharing-epochs", "3", "--components", "5", "--out", str(tmp_path)])
    assert result["distinct"] <= 5 and result["weights"] == 64 * 100 + 100 * 10
    assert result["accuracy_quantized"] > 0.5
    assert (tmp_path / "bayes-soft-sharing.png").stat().st_size > 0
    assert "distinct values" in capsys.readouterr().out


MNIST_DIR = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.mark.skipif(not (MNIST_DIR / "mnist").is_dir(), reason="MNIST is not at ../shared/data")
def test_bayes_mnist_bbb_example(load_script, capsys):
    result = load_script("examples/bayes_mnist_bbb.py").main(
        ["--data-dir", str(MNIST_DIR), "--epochs", "1", "--train-size", "600", "--hidden", "16",
         "--samples", "2"])
    assert result["error_sampled"] < 0.9 and result["nll_sampled"] > 0
    assert "test error" in capsys.readouterr().out
