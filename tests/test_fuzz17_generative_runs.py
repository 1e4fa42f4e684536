"""Fuzz wave 17, generative: seeded runs of the CLI and the examples repeat bit for bit, and a
different seed gives a different model (the seed is really used)."""

import json

import pytest

from chainrule.cli import main

_TIMES = ("seconds", "time", "elapsed", "wall")


def _weights(folder):
    return (folder / "model.safetensors").read_bytes()


def _results(folder):
    def strip(d):
        if isinstance(d, dict):
            return {k: strip(v) for k, v in d.items() if not any(t in k for t in _TIMES)
                    and k not in ("out", "path", "run")}
        return d
    return strip(json.loads((folder / "results.json").read_text()))


def _run(tmp_path, name, argv, seed):
    out = tmp_path / f"{name}-{seed}-{len(list(tmp_path.iterdir()))}"
    assert main(["train", *argv, "--dataset", "digits", "--out", str(out), "--quiet",
                 "--seed", str(seed)]) == 0
    return out


RUNS = {
    "denoising": ["denoising", "--epochs", "1", "--n-train", "128", "--model-arg",
                  "sizes=[64,16,8]"],
    "watermark": ["watermark", "--epochs", "1", "--n-train", "128", "--model-arg",
                  "channels=[4,8]"],
    "colorization": ["colorization", "--epochs", "1", "--n-train", "128", "--model-arg",
                     "channels=[4,8]"],
    "gan": ["gan", "--epochs", "1", "--n-train", "128", "--model-arg", "g_hidden=[16]",
            "--model-arg", "d_hidden=[16]", "--label-smoothing", "0.1"],
    "wgan": ["gan", "--epochs", "1", "--n-train", "128", "--model-arg", "g_hidden=[16]",
             "--model-arg", "d_hidden=[16]", "--loss", "wgan-gp", "--n-critic", "2",
             "--gp-weight", "5", "--prior", "uniform"],
}


@pytest.mark.parametrize("name", list(RUNS))
def test_cli_runs_repeat_bit_for_bit(tmp_path, name):
    a = _run(tmp_path, name, RUNS[name], 3)
    b = _run(tmp_path, name, RUNS[name], 3)
    c = _run(tmp_path, name, RUNS[name], 4)
    assert _weights(a) == _weights(b)
    assert _weights(a) != _weights(c)
    assert _results(a) == _results(b)
    assert (a / "metrics.csv").read_text() == (b / "metrics.csv").read_text()


def test_examples_repeat_bit_for_bit(tmp_path, load_script):
    gan = load_script("examples/gan_mnist.py")
    argv = ["--dataset", "digits", "--epochs", "1", "--width", "16", "--n-train", "128",
            "--loss", "wgan-gp", "--seed", "5"]
    r1 = gan.main([*argv, "--out", str(tmp_path / "g1")])
    r2 = gan.main([*argv, "--out", str(tmp_path / "g2")])
    strip = {"out", "seconds"}
    assert {k: v for k, v in r1.items() if k not in strip} == \
        {k: v for k, v in r2.items() if k not in strip}
    ae = load_script("examples/autoencoder_denoising.py")
    argv = ["--dataset", "digits", "--pretraining", "--epochs", "1", "--labels", "100",
            "--finetune-epochs", "1", "--hidden", "16", "--bottleneck", "8", "--seed", "2"]
    p1, p2 = ae.main(argv), ae.main(argv)
    p1.pop("seconds"), p2.pop("seconds")
    assert p1 == p2
