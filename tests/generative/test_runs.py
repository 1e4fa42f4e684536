"""The command line's generative runs and the two examples, on the offline 8x8 digits."""

import json
from pathlib import Path

import numpy as np
import pytest

from chainrule import models, optim
from chainrule.cli import main
from chainrule.data.corruptions import NOISE_LEVELS
from chainrule.data.datasets import digits
from chainrule.io import save_weights
from chainrule.train import Trainer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def judge(tmp_path_factory):
    """A classifier run folder as ``chainrule train`` leaves it (only what a judge needs)."""
    (x, y), _ = digits()
    net = models.build("small_cnn", rng=np.random.default_rng(0))
    Trainer(net, "cross_entropy", optim.Adam(net.parameters(), lr=3e-3)).fit(
        (x[:, None], y), epochs=1, batch_size=64, rng=0, verbose=0)
    out = tmp_path_factory.mktemp("judge") / "cnn"
    save_weights(net, out / "model.safetensors", config={"model": net.config})
    return out


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory, judge):
    out = tmp_path_factory.mktemp("runs") / "cgan"
    assert main(["train", "cgan", "--dataset", "digits", "--epochs", "2", "--n-train", "256",
                 "--model-arg", "arch=mlp", "--model-arg", "g_hidden=[32]",
                 "--model-arg", "d_hidden=[32]",
                 "--out", str(out), "--judge", str(judge), "--quiet"]) == 0
    return out


def test_denoising_run_reports_every_noise_level(tmp_path, capsys):
    out = tmp_path / "den"
    assert main(["train", "denoising", "--dataset", "digits", "--epochs", "2", "--out", str(out),
                 "--quiet", "--model-arg", "sizes=[64,32,16]"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert list(results["noise_levels"]) == list(NOISE_LEVELS)
    for spec in NOISE_LEVELS:
        assert (out / "figures" / f"denoising_{spec.replace(':', '-')}.png").is_file()
    for name in ("config.json", "metrics.csv", "model.safetensors", "figures/curves.png",
                 "checkpoint/last.state.safetensors"):
        assert (out / name).is_file(), name
    printed = capsys.readouterr().out
    assert "gaussian:0.5" in printed and "dB" in printed
    header = (out / "metrics.csv").read_text().splitlines()[0]
    assert header == "epoch,loss,psnr,val_loss,val_psnr"


def test_autoencoder_with_2d_code_draws_the_latent_scatter(tmp_path):
    out = tmp_path / "ae"
    assert main(["train", "autoencoder", "--dataset", "digits", "--epochs", "1",
                 "--bottleneck", "2", "--tied", "--out", str(out), "--quiet"]) == 0
    assert (out / "figures" / "latent_2d.png").is_file()
    assert (out / "figures" / "autoencoder.png").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["kwargs"] == {"sizes": [64, 256, 2], "tied": True}


@pytest.mark.parametrize("task", ["colorization", "watermark"])
def test_image_to_image_tasks(tmp_path, task):
    out = tmp_path / task
    assert main(["train", task, "--dataset", "digits", "--epochs", "1", "--n-train", "256",
                 "--model-arg", "channels=[4,8]", "--out", str(out), "--quiet"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["arch"] == "conv" and results["n_train"] + results["n_val"] == 256
    assert results["test_mse"] >= 0 and results["input_psnr"] > 0
    assert (out / "figures" / f"{task}.png").is_file()


def test_resume_of_an_autoencoder_run(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    args = ["train", "watermark", "--dataset", "digits", "--n-train", "128", "--quiet",
            "--model-arg", "channels=[4,8]"]
    assert main(args + ["--epochs", "2", "--out", str(a)]) == 0
    assert main(args + ["--epochs", "1", "--out", str(b)]) == 0
    assert main(args + ["--epochs", "2", "--out", str(b), "--resume"]) == 0
    assert (a / "metrics.csv").read_text() == (b / "metrics.csv").read_text()


def test_gan_run_folder_and_evaluation(cgan_run):
    for name in ("model.safetensors", "metrics.csv", "figures/samples/epoch_001.png",
                 "figures/samples/epoch_002.png", "figures/progress.png", "figures/losses.png",
                 "figures/class_histogram.png", "checkpoint/last.state.safetensors"):
        assert (cgan_run / name).is_file(), name
    results = json.loads((cgan_run / "results.json").read_text())
    ev = results["evaluation"]
    assert sum(ev["class_histogram"]) == 359  # n_eval is capped by the 359 test digits
    assert ev["lenet_frechet_distance"] >= 0 and 0 <= ev["label_accuracy"] <= 1
    assert set(results["final"]) == {"d_loss", "g_loss", "d_real", "d_fake"}


def test_generate_a_seven(cgan_run, tmp_path, capsys):
    out = tmp_path / "sevens.png"
    assert main(["generate", str(cgan_run), "--n", "8", "--label", "7", "--out", str(out)]) == 0
    assert out.is_file() and "wrote 8 images from cgan" in capsys.readouterr().out
    assert main(["generate", str(cgan_run), "--label", "12", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--label 12 is out of range; this conditional GAN draws the classes 0..9" in err


def test_generate_without_a_label_draws_every_class(cgan_run, tmp_path, capsys, monkeypatch):
    from chainrule import generative

    drawn = {}
    original = generative.sample_grid

    def spy(images, path, **kwargs):
        drawn.update(kwargs, n=len(images))
        return original(images, path, **kwargs)

    monkeypatch.setattr(generative, "sample_grid", spy)
    out = tmp_path / "every.png"
    assert main(["generate", str(cgan_run), "--n", "16", "--out", str(out)]) == 0
    assert out.is_file()
    assert (f"wrote 20 images (2 of each class, one row per class) from cgan to {out}"
            in capsys.readouterr().out)
    assert drawn["n"] == 20 and drawn["ncols"] == 2
    assert drawn["row_labels"] == [str(c) for c in range(10)]
    assert "one row per class" in drawn["title"]


def test_dcgan_wgan_gp_run_and_generate(tmp_path, capsys):
    out = tmp_path / "wgan"
    assert main(["train", "dcgan", "--dataset", "digits", "--loss", "wgan-gp", "--epochs", "1",
                 "--n-train", "128", "--batch-size", "32", "--model-arg", "g_channels=[8,4]",
                 "--model-arg", "d_channels=[4,8]", "--out", str(out), "--quiet"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["n_critic"] == 5 and results["lr"] == 1e-4
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["kwargs"]["d_norm"] == "layer"
    assert main(["generate", str(out), "--n", "4", "--out", str(tmp_path / "g.png")]) == 0
    assert main(["generate", str(out), "--label", "3", "--out", str(tmp_path / "g.png")]) == 2
    assert "needs a conditional GAN" in capsys.readouterr().err


def test_generate_rejects_a_classifier(judge, tmp_path, capsys):
    assert main(["generate", str(judge), "--out", str(tmp_path / "x.png")]) == 2
    assert "not a generator" in capsys.readouterr().err


def test_autoencoder_example(tmp_path, capsys, load_script):
    example = load_script("examples/autoencoder_denoising.py")
    result = example.main(["--dataset", "digits", "--epochs", "2", "--hidden", "32",
                           "--bottleneck", "16", "--out", str(tmp_path)])
    assert list(result["noise_levels"]) == list(NOISE_LEVELS)
    assert "mask:0.25" in capsys.readouterr().out
    pre = example.main(["--dataset", "digits", "--pretraining", "--epochs", "1", "--labels",
                        "200", "--finetune-epochs", "2", "--hidden", "32", "--bottleneck", "16"])
    assert 0 <= pre["pretrained_accuracy"] <= 1 and 0 <= pre["random_init_accuracy"] <= 1


def test_gan_example_writes_into_runs_of_the_current_folder(tmp_path, monkeypatch, capsys,
                                                            load_script):
    monkeypatch.chdir(tmp_path)
    example = load_script("examples/gan_mnist.py")
    result = example.main(["--dataset", "digits", "--epochs", "1", "--width", "16",
                           "--n-train", "128"])
    out = Path("runs") / "gan_mnist-gan"
    assert result["out"] == str(out) and (tmp_path / out / "progress.png").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["runs"]
    assert f"figures go to {out}" in capsys.readouterr().out


def test_gan_example(tmp_path, judge, capsys, load_script):
    example = load_script("examples/gan_mnist.py")
    result = example.main(["--dataset", "digits", "--model", "cgan", "--epochs", "1",
                           "--width", "16", "--n-train", "256", "--out", str(tmp_path),
                           "--judge", str(judge), "--n-eval", "100"])
    assert (tmp_path / "sevens.png").is_file() and (tmp_path / "progress.png").is_file()
    assert sum(result["evaluation"]["class_histogram"]) == 100
    assert "LeNet Frechet distance" in capsys.readouterr().out
