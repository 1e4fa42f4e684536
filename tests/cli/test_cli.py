import json
import os

import numpy as np
import pytest

from chainrule.backend import cuda_available
from chainrule.cli import main
from chainrule.data.idx import write_idx

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "digits"
    assert main(["train", "small_cnn", "--epochs", "4", "--out", str(out), "--quiet",
                 "--seed", "3"]) == 0
    return out


def test_train_writes_one_folder(run, capsys):
    for name in ("config.json", "metrics.csv", "model.safetensors", "results.json",
                 "checkpoint/last.state.safetensors", "figures/curves.png",
                 "figures/confusion_matrix.png", "figures/misclassified.png"):
        assert (run / name).is_file(), name
    results = json.loads((run / "results.json").read_text())
    assert results["test_accuracy"] > 0.7 and results["n_test"] == 359
    rows = (run / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,") and len(rows) == 5


def test_evaluate_matches_training_result(run, capsys):
    assert main(["evaluate", str(run)]) == 0
    results = json.loads((run / "results.json").read_text())
    assert f"{results['test_errors']} errors in 359" in capsys.readouterr().out


def test_resume_continues_exactly(run, tmp_path):
    out = tmp_path / "resumed"
    assert main(["train", "small_cnn", "--epochs", "2", "--out", str(out), "--quiet",
                 "--seed", "3"]) == 0
    assert main(["train", "small_cnn", "--epochs", "4", "--out", str(out), "--quiet",
                 "--seed", "3", "--resume"]) == 0
    a = json.loads((run / "results.json").read_text())
    b = json.loads((out / "results.json").read_text())
    assert a["test_errors"] == b["test_errors"]
    assert (out / "metrics.csv").read_text() == (run / "metrics.csv").read_text()


def test_predict_png_and_npy(run, tmp_path, capsys):
    from PIL import Image

    from chainrule.data.datasets import digits

    _, (x, y) = digits()
    Image.fromarray((x[0] * 255).astype(np.uint8), mode="L").save(tmp_path / "d.png")
    np.save(tmp_path / "d.npy", x[1])
    assert main(["predict", str(run), str(tmp_path / "d.png"), str(tmp_path / "d.npy")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(str(tmp_path / "d.png") + ": ") and len(out) == 2


def test_predict_rejects_wrong_size_and_colour(run, tmp_path, capsys):
    from PIL import Image

    Image.new("L", (28, 28)).save(tmp_path / "big.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "rgb.png")
    assert main(["predict", str(run), str(tmp_path / "big.png")]) == 2
    assert "image has shape (28, 28), the model expects (8, 8)" in capsys.readouterr().err
    assert main(["predict", str(run), str(tmp_path / "rgb.png")]) == 2
    assert "expected a greyscale image, got colour mode 'RGB'" in capsys.readouterr().err


def test_lists_and_unknown_names(capsys):
    assert main(["models"]) == 0 and "lenet5" in capsys.readouterr().out
    assert main(["datasets"]) == 0 and "fashion_mnist" in capsys.readouterr().out
    assert main(["train", "resnet", "--quiet"]) == 2
    assert "unknown model 'resnet'; known models:" in capsys.readouterr().err
    assert main(["train", "mlp", "--dataset", "cifar", "--quiet"]) == 2
    assert "unknown dataset 'cifar'; known datasets: digits, mnist" in capsys.readouterr().err


@pytest.mark.skipif(cuda_available(), reason="checks the message shown without a GPU")
def test_device_is_checked_before_anything_runs(tmp_path, capsys):
    for device, message in (("tpu", "unknown device 'tpu'; expected one of ('cpu', 'cuda', "
                                    "'meta')"),
                            ("meta", "device 'meta' holds no values (shapes only)"),
                            ("cuda", "device 'cuda' was requested but CuPy with a visible GPU")):
        with pytest.raises(SystemExit) as exit_info:
            main(["train", "small_cnn", "--device", device, "--out", str(tmp_path / "x")])
        assert exit_info.value.code == 2
        assert f"argument --device: {message}" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_missing_and_corrupt_dataset_files(tmp_path, capsys):
    assert main(["train", "mlp", "--dataset", "mnist", "--data-dir", str(tmp_path),
                 "--no-download", "--quiet", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "mnist: missing files" in err and "train-images-idx3-ubyte.gz" in err
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        write_idx(tmp_path / name, np.zeros((3, 2), np.uint8))
    assert main(["train", "mlp", "--dataset", "mnist", "--data-dir", str(tmp_path),
                 "--no-download", "--quiet", "--out", str(tmp_path / "r")]) == 2
    assert "checksum mismatch" in capsys.readouterr().err


def test_checkpoint_of_another_model_or_shape_is_refused(run, tmp_path, capsys):
    if not os.path.isdir(SHARED):
        pytest.skip("../shared/data not present")
    assert main(["evaluate", str(run), "--dataset", "mnist", "--data-dir", SHARED,
                 "--no-download"]) == 2
    assert "checkpoint expects inputs of shape (1, 8, 8)" in capsys.readouterr().err


def test_out_folder_is_not_overwritten(run, capsys):
    assert main(["train", "small_cnn", "--epochs", "1", "--out", str(run), "--quiet"]) == 2
    assert "is not empty; pass --resume" in capsys.readouterr().err
