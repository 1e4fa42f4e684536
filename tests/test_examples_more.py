"""The lecture-topic examples and user guides run: tiny settings, in-process, numbers checked."""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from ._as_scripts import run_as_scripts

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = ["train_digits_mlp", "regularization", "rnn_sequences", "optimizers",
            "save_load_torch", "linalg_gradients", "vae_distributions", "training_utilities",
            "onnx_load", "onnx_export", "tensorboard_logging", "detect_anomaly",
            "streaming_data", "fourier_layer", "profile_training", "hogwild_digits"]


def test_train_digits_mlp(tmp_path, capsys, load_script):
    example = load_script("examples/train_digits_mlp.py")
    out = tmp_path / "run"
    result = example.main(["--epochs", "6", "--patience", "2", "--extra-epochs", "2",
                           "--compare-epochs", "4", "--train-size", "300", "--hidden", "32",
                           "--out", str(out)])
    cb = result["callbacks"]
    assert 1 <= cb["epochs_run"] <= 6
    assert cb["stopped_early"] == (cb["epochs_run"] < 6)
    assert cb["resumed_epochs"] == cb["epochs_run"] + 2  # the history continues across the resume
    assert cb["csv_rows"] == cb["epochs_run"] + 2  # CSVLogger(append=True) continued the file
    for f in ("best/best.safetensors", "last/last.safetensors", "last/last.state.safetensors"):
        assert (out / f).is_file(), f
    for acc in (cb["test_accuracy"], cb["best_val_accuracy_checkpoint_test_accuracy"],
                cb["resumed_test_accuracy"]):
        assert 0.6 < acc <= 1.0  # 6 epochs of SGD + momentum: far above chance (0.1)

    norm = result["normalization"]
    assert set(norm) == {"raw pixels 0..255", "scaled to [0, 1]", "standardized"}
    # With lr 0.5, inputs of size 255 saturate the sigmoid units: no better than chance.
    assert norm["raw pixels 0..255"]["test_accuracy"] < 0.2
    assert norm["standardized"]["test_accuracy"] > 0.5
    assert all(0.0 <= r["test_accuracy"] <= 1.0 for r in norm.values())

    coding = result["output_coding"]
    assert set(coding) == {"softmax + cross-entropy", "linear + squared error"}
    assert all(0.0 <= r["test_accuracy"] <= 1.0 for r in coding.values())

    modes = result["batch_modes"]
    assert [modes[m]["updates"] for m in ("full batch", "minibatch 32", "stochastic")] == \
        [4, 4 * 10, 4 * 300]
    assert modes["stochastic"]["train_loss"] < modes["full batch"]["train_loss"]
    assert modes["stochastic"]["test_accuracy"] > modes["full batch"]["test_accuracy"]
    assert "4. gradient descent modes" in capsys.readouterr().out


def test_train_digits_mlp_rejects_bad_arguments(capsys, load_script):
    example = load_script("examples/train_digits_mlp.py")
    with pytest.raises(SystemExit):
        example.main(["--epochs", "0"])
    assert "--epochs must be at least 1" in capsys.readouterr().err


def test_regularization(capsys, load_script):
    example = load_script("examples/regularization.py")
    table = example.main(["--train-size", "50", "--val-size", "40", "--hidden", "64",
                          "--epochs", "15", "--batch-size", "10", "--lr", "0.05",
                          "--patience", "2", "--ensemble", "2", "--seeds", "1"])
    assert list(table) == ["none", "weight decay 0.001", "dropout 0.5", "early stopping",
                           "weight average (EMA)", "weight average (SWA)",
                           "dropout + weight decay", "ensemble of 2"]
    for name, row in table.items():
        assert 0.0 <= row["train_accuracy"] <= 1.0 and len(row["test_accuracies"]) == 1, name
        assert row["test_accuracy"] > 0.4, name  # 50 images, 15 epochs: well above chance
    assert table["none"]["train_accuracy"] > table["none"]["test_accuracy"]  # overfitting
    assert table["early stopping"]["epochs"] <= 15
    assert table["none"]["epochs"] == 15
    assert "regularization" in capsys.readouterr().out


def test_regularization_averaging_callbacks(load_script):
    """The EMA and SWA callbacks of the example average what the optimizer produced."""
    import numpy as np

    import chainrule as cr
    from chainrule import nn, optim
    from chainrule.train import Trainer

    example = load_script("examples/regularization.py")
    model = nn.Linear(3, 2, rng=np.random.default_rng(0))
    ema = optim.EMA(model, decay=0.0)  # decay 0: the "average" is the latest weights
    swa = optim.AveragedModel(model)
    trainer = Trainer(model, cr.F.cross_entropy, optim.SGD(model.parameters(), lr=0.1),
                      callbacks=[example.UpdateEMA(ema), example.UpdateSWA(swa, start=1)])
    x = np.random.default_rng(1).normal(size=(8, 3)).astype(np.float32)
    trainer.fit((x, np.arange(8) % 2), epochs=3, batch_size=4, rng=0, verbose=0)
    assert ema.num_updates == 3 * 2
    assert np.array_equal(ema.shadow[0], model.weight.numpy())
    assert swa.n_averaged == 2  # epochs 1 and 2


def test_rnn_sequences(capsys, load_script):
    example = load_script("examples/rnn_sequences.py")
    result = example.main(["--hidden", "16", "--epochs", "3", "--train-size", "500"])
    assert result["unroll_max_diff"] < 1e-6  # the layer is its cell unrolled over the rows
    per_gate = 8 * 16 + 16 * 16 + 2 * 16  # W_ih, W_hh, b_ih, b_hh of one gate, hidden size 16
    for cell, gates in (("RNN", 1), ("LSTM", 4), ("GRU", 3)):
        assert result[cell]["recurrent_weights"] == gates * per_gate
        assert 0.35 < result[cell]["test_accuracy"] <= 1.0, cell
    assert "GRU" in capsys.readouterr().out


def test_optimizers_curves_and_plot(tmp_path, load_script):
    example = load_script("examples/optimizers.py")
    png = tmp_path / "curves.png"
    result = example.main(["--epochs", "2", "--train-size", "300", "--hidden", "16",
                           "--plot", str(png)])
    curves = result["curves"]
    assert list(curves) == list(example.RUNS)
    for name, c in curves.items():
        assert len(c["loss"]) == len(c["test_accuracy"]) == len(c["lr"]) == 2, name
        assert c["loss"][1] < c["loss"][0], name  # every optimizer makes progress
    assert curves["SGD + momentum"]["loss"][-1] < curves["SGD"]["loss"][-1]
    pytest.importorskip("matplotlib")
    assert result["plot"] == str(png) and png.stat().st_size > 0


def test_optimizers_step_schedule_halves_every_three_epochs(load_script):
    example = load_script("examples/optimizers.py")
    result = example.main(["--epochs", "7", "--train-size", "64", "--hidden", "8",
                           "--runs", "SGD + momentum, StepLR", "--plot", ""])
    assert result["plot"] is None
    lrs = result["curves"]["SGD + momentum, StepLR"]["lr"]
    assert lrs == pytest.approx([0.05] * 3 + [0.025] * 3 + [0.0125])


@pytest.mark.skipif(sys.platform != "linux", reason="forked workers (Linux)")
def test_hogwild_workers_train_the_parents_shared_model(load_script, capsys):
    example = load_script("examples/hogwild_digits.py")
    result = example.main(["--workers", "2", "--epochs", "3"])
    assert result["before"] < 0.3 and result["after"] > 0.7  # only the workers stepped
    assert "the parent never stepped" in capsys.readouterr().out


def test_save_load_without_torch(tmp_path, load_script):
    example = load_script("examples/save_load_torch.py")
    result = example.main(["--epochs", "0", "--no-torch", "--out", str(tmp_path / "w.safetensors")])
    assert result["backend"] == "safetensors"
    assert result["max_abs_diff"] == 0.0 and result["prediction_agreement"] == 1.0


def test_save_load_says_when_pytorch_is_missing(tmp_path, load_script, monkeypatch, capsys):
    example = load_script("examples/save_load_torch.py")
    find_spec = example.importlib.util.find_spec
    monkeypatch.setattr(example.importlib.util, "find_spec",
                        lambda name, *args: None if name == "torch" else find_spec(name, *args))
    result = example.main(["--epochs", "0", "--out", str(tmp_path / "w.safetensors")])
    assert result["backend"] == "safetensors"
    printed = capsys.readouterr().out
    assert ("PyTorch is not installed (pip install torch==2.13.0, or pip install "
            "'chainrule[oracle]'): skipped loading the file into PyTorch") in printed


@pytest.mark.torch
def test_save_load_into_torch(tmp_path, load_script):
    pytest.importorskip("torch")
    example = load_script("examples/save_load_torch.py")
    with pytest.warns(UserWarning, match="no SHA-256 checksums"):  # the file PyTorch wrote
        result = example.main(["--epochs", "1", "--out", str(tmp_path / "w.safetensors")])
    assert result["backend"] == "torch"
    assert result["max_abs_diff"] < 1e-4 and result["prediction_agreement"] == 1.0
    assert result["torch_to_chainrule_max_abs_diff"] < 1e-4
    assert result["pth_to_chainrule_max_abs_diff"] == result["torch_to_chainrule_max_abs_diff"]
    assert result["chainrule_pth_to_torch_max_abs_diff"] < 1e-4
    assert result["test_accuracy"] > 0.3


def test_onnx_load_fine_tunes_a_helper_built_model(tmp_path, load_script, capsys):
    pytest.importorskip("onnx")
    example = load_script("examples/onnx_load.py")
    result = example.main(["--steps", "25", "--no-torch", "--out", str(tmp_path)])
    (loss0, acc0), (loss1, acc1) = result["mlp"]["before"], result["mlp"]["after"]
    assert loss1 < 0.5 * loss0 and acc1 > acc0 + 0.3  # random weights, then 25 SGD steps
    assert result["mlp"]["fgsm_accuracy"] < acc1 - 0.2  # the attack works through the graph
    assert (tmp_path / "digits_mlp.onnx").is_file()
    assert "onnx.helper MLP fine-tuned" in capsys.readouterr().out


@pytest.mark.torch
def test_onnx_load_runs_a_pytorch_export(load_script):
    pytest.importorskip("onnx")
    pytest.importorskip("torch")
    example = load_script("examples/onnx_load.py")
    torch_part = example.main(["--steps", "15"])["torch"]
    assert torch_part["max_abs_diff"] < 1e-5  # float32 rounding only
    assert torch_part["keys"] == ["0.weight", "0.bias", "3.weight", "3.bias", "6.weight",
                                  "6.bias"]
    assert torch_part["after"][0] < torch_part["before"][0]


@pytest.fixture(scope="module")
def help_runs():  # one process for all: each example still runs in a fresh fork (_as_scripts.py)
    runs = run_as_scripts([[str(REPO / "examples" / f"{n}.py"), "--help"] for n in EXAMPLES])
    return dict(zip(EXAMPLES, runs))


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_as_a_script(name, help_runs):
    done = help_runs[name]
    assert done["returncode"] == 0, done["stderr"]
    assert done["stdout"].startswith("usage:")


def test_user_guide_snippets_run(capsys, run_guide):
    run_guide("docs/guide.md", min_blocks=20)
    out = capsys.readouterr().out
    assert "[0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]" in out  # the StepLR snippet
    assert "(4, 8, 16) (1, 4, 16)" in out  # the LSTM snippet
    assert "ConvTranspose2dReLU" in out  # the nn.fuse snippet


def test_user_guide_names_every_registered_model():
    from chainrule import models

    text = " ".join((REPO / "docs" / "guide.md").read_text().split())
    sentence = re.search(r"`chainrule models` lists (.*?) by name\.", text).group(1)
    names = [info.name for info in models.available()]
    assert sentence.startswith(f"the {NUMBERS[len(names)]} registered models"), sentence
    assert sorted(re.findall(r"`(\w+)`", sentence)) == sorted(names)


NUMBERS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
           "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
           "eighteen", "nineteen", "twenty"]


def test_training_guide_snippets_run(capsys, run_guide):
    run_guide("docs/training.md", min_blocks=8)
    out = capsys.readouterr().out
    assert "4 True" in out  # the resumed run equals the uninterrupted one
    assert "True\nTrue\nmnist: missing files" in out  # data_home follows cr.config.data_dir
    assert "0 [[2, 3], [4, 1], [5]]" in out and "2 [[2, 4], [3, 1], [5]]" in out  # streams


def test_char_gpt_learns_the_zen_of_python(load_script):
    example = load_script("examples/char_gpt.py")
    result = example.main(["--steps", "80", "--d-model", "32", "--batch", "16", "--sample", "40"])
    assert result["vocab"] == 45
    assert result["first_loss"] > 3.0  # about ln(45) = 3.8 at the start
    assert result["last_loss"] < result["first_loss"] - 1.5
    assert result["sample"].startswith("Beautiful") and len(result["sample"]) == 9 + 40


def test_pytorch_idioms_example_explains_its_digits(load_script):
    example = load_script("examples/pytorch_idioms.py")
    result = example.main(["--epochs", "8"])
    assert result["accuracy"] > 0.85
    assert 0.2 < result["ink_area"] < 0.4
    # Guided backpropagation (a custom autograd Function) concentrates on the ink well beyond
    # the ink's share of the image; Grad-CAM (hooks) gives a map with mass.
    assert result["guided_on_ink"] > result["ink_area"] + 0.1
    assert result["guided_gradcam_on_ink"] > result["ink_area"] + 0.1
    assert 0.0 < result["cam_on_ink"] <= 1.0
    with pytest.raises(SystemExit):
        example.main(["--epochs", "0"])


def test_prune_mnist_style_prunes_fine_tunes_and_saves(tmp_path, capsys, load_script):
    import chainrule as cr

    example = load_script("examples/prune_mnist_style.py")
    out = tmp_path / "pruned.pt"
    result = example.main(["--epochs", "6", "--fine-tune", "1", "--steps", "2",
                           "--train-size", "600", "--out", str(out)])
    curve = result["curve"]
    assert [c["sparsity"] for c in curve] == [0.0, 0.5, 0.75]  # half of what is left, twice
    assert curve[0]["test_accuracy"] > 0.6 and curve[-1]["test_accuracy"] > 0.6  # chance: 0.1
    assert result["keys"] == ["0.bias", "0.weight", "4.bias", "4.weight", "6.bias", "6.weight"]
    assert result["traced_agrees"] and not result["pruned"]
    saved = cr.load(out)
    zeros = sum(int((saved[k].numpy() == 0).sum()) for k in saved if k.endswith("weight"))
    assert zeros == int(0.75 * (8 * 9 + 128 * 32 + 32 * 10))
    assert "step 2: 75.0% of the weights pruned" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        example.main(["--steps", "0"])


def test_detect_anomaly_example(capsys, load_script):
    example = load_script("examples/detect_anomaly.py")
    result = example.main(["--steps", "4", "--seed", "0"])
    silent = result["silent"]
    assert np.isfinite(silent["losses"][0]) and not silent["weights_finite"]  # silently NaN
    found = result["found"]
    assert found["error"] == "Function 'Sqrt' returned nan values in its 0th output."
    assert found["frame"].startswith(f'File "{example.__file__}", line ')
    assert found["line"].startswith("dist = cr.sqrt((diff * diff).sum(-1))")
    fixed = result["fixed"]
    assert fixed["weights_finite"] and fixed["losses"][-1] < fixed["losses"][0]
    assert "under detect_anomaly: Function 'Sqrt'" in capsys.readouterr().out


def test_profile_training_example(tmp_path, capsys, load_script):
    example = load_script("examples/profile_training.py")
    trace = tmp_path / "trace.json"
    result = example.main(["--batch", "4", "--active", "2", "--rows", "8", "--trace", str(trace)])
    assert result["reports"] == 1  # one cycle: wait, warmup, two recorded steps
    counts = result["counts"]
    assert counts["ConvNd"] == 6 and counts["ConvNdBackward0"] == 6  # 3 convolutions a step
    assert counts["Linear"] == 4 and counts["Optimizer.step#SGD.step"] == 2
    assert counts["ProfilerStep*"] == 2  # steps 2 and 3: the warmup step records nothing
    assert all(np.isfinite(result["losses"]))
    assert json.loads(trace.read_text())["traceEvents"]
    out = capsys.readouterr().out
    assert "Self CPU %" in out and "Self CPU time total:" in out
    with pytest.raises(SystemExit):
        example.main(["--active", "0"])


def test_profiling_guide_runs(run_guide):
    namespace = run_guide("docs/profiling.md", min_blocks=1)
    lines = namespace["text"].splitlines()
    assert lines[1].split()[:3] == ["Name", "Self", "CPU"]
    assert {e.key: e.count for e in namespace["prof"].key_averages()}["ConvNd"] == 3


def test_linalg_gradients_example(capsys, load_script):
    example = load_script("examples/linalg_gradients.py")
    result = example.main(["--dim", "3", "--steps", "300", "--seed", "0"])
    pro = result["procrustes"]
    assert pro["closed_form_error"] < 0.01  # the data's noise is 0.01
    assert pro["descent_vs_closed_form"] < 1e-4  # descent on matrix_exp(W - W^T) finds the SVD's
    assert pro["orthogonality_error"] < 1e-12
    fit = result["least_squares"]
    assert abs(fit["intercept"] - 2) < 0.2 and abs(fit["slope"] - 3) < 0.3
    assert abs(fit["gradient"] - fit["finite_difference"]) < 1e-7
    low = result["low_rank"]
    assert abs(low["error"] - low["predicted_error"]) < 1e-12  # Eckart-Young
    assert low["nuclear_gradient_vs_u_vh"] < 1e-12
    assert "procrustes: closed_form_error" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        example.main(["--rank", "0"])


def test_vae_distributions_raises_the_elbo(load_script, capsys):
    example = load_script("examples/vae_distributions.py")
    result = example.main(["--epochs", "3"])
    elbo = result["train_elbo"]
    assert elbo[0] < elbo[1] < elbo[2]
    # A coin per pixel scores 64 log(1/2) = -44.4 nats; the VAE does far better on held-out digits.
    assert -30 < result["test_elbo"] < 0
    assert result["samples"].shape == (4, 64)
    assert "test ELBO" in capsys.readouterr().out


def test_training_utilities(load_script, capsys):
    example = load_script("examples/training_utilities.py")
    result = example.main(["--depth", "8", "--width", "64", "--batch", "512"])
    losses = result["lbfgs"]
    assert losses[-1] < 0.1 * losses[0]
    assert result["same_gradients"]
    assert result["peaks"]["checkpointed"] < 0.75 * result["peaks"]["plain"]
    assert result["swa_loss"] < 0.5
    assert "gradients equal: True" in capsys.readouterr().out


def test_streaming_data(load_script, capsys):
    example = load_script("examples/streaming_data.py")
    result = example.main(["--samples", "600", "--epochs", "3", "--workers", "2"])
    assert result["same_samples"] and result["steps"] is None
    assert result["loss"][-1] < result["loss"][0] and result["test_accuracy"] > 0.8
    assert result["shares"] == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]
    out = capsys.readouterr().out
    assert "Epoch 3/3" in out and "chained streams: 5 samples" in out


def test_onnx_export_runs_the_trained_digits_cnn_in_onnxruntime(tmp_path, load_script, capsys):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("sklearn")
    example = load_script("examples/onnx_export.py")
    out = tmp_path / "digits.onnx"
    result = example.main(["--epochs", "2", "--out", str(out)])
    assert out.stat().st_size == result["bytes"] > 0
    # float32 logits of one conv net: onnxruntime and NumPy round differently, by ~1e-6.
    assert result["max_abs_diff"] < 1e-4
    assert result["agreement"] == 1.0
    assert result["onnx_accuracy"] > 0.8  # 2 epochs: far above chance (0.1)
    assert "predictions agree 100.0%" in capsys.readouterr().out



def test_tensorboard_logging(tmp_path, load_script, capsys):
    pytest.importorskip("sklearn")
    example = load_script("examples/tensorboard_logging.py")
    result = example.main(["--epochs", "2", "--batch", "64", "--logdir", str(tmp_path)])
    history = result["history"]
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[-1]["test_accuracy"] > 0.5  # far above chance (0.1)
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 1
    assert {p.name for p in tmp_path.iterdir() if p.is_dir()} == {"accuracy_train",
                                                                  "accuracy_test"}
    assert "event files in" in capsys.readouterr().out
    ea_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    ea = ea_mod.EventAccumulator(str(tmp_path), size_guidance={"scalars": 0, "histograms": 0})
    ea.Reload()
    assert len(ea.Scalars("loss/train")) == result["steps"]
    # float32 means, so the float32 simple_value keeps them exactly
    assert [e.value for e in ea.Scalars("accuracy/test")] == [h["test_accuracy"] for h in history]
    assert [e.step for e in ea.Histograms("layer0/weight")] == [1, 2]
    (grid,) = ea.Images("inputs")
    assert (grid.height, grid.width) == (16, 64)  # 16 images of 8x8: two rows of eight


def test_fourier_layer_learns_the_heat_equation(capsys, load_script):
    example = load_script("examples/fourier_layer.py")
    result = example.main(["--steps", "150", "--seed", "0"])
    losses = result["losses"]
    assert losses[0] > 0.5 and losses[-1] < 1e-5  # Adam through rfft/irfft and complex weights
    assert result["test_relative_error"] < 1e-2  # initial states it was not trained on
    assert result["response_error"] < 1e-2  # the learned multipliers are exp(-nu k^2 t)
    assert "test relative error" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        example.main(["--modes", "40", "--length", "64"])
