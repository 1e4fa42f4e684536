"""Fuzz wave 23, command line: ``chainrule train`` refuses an option the model's training ignores.

Before, ``train gan --optimizer sgd`` trained with Adam, ``train mlp --bottleneck 8`` and
``train ngram --ensemble 5`` trained as without the option, ``train colorization --bottleneck 8``
built the conv model without a bottleneck size, and ``--eps 0.1`` without ``--adversarial`` did
nothing: each a run that looked as asked and was not. Every case is refused before any data is
read, so these tests train nothing."""

import re

import pytest

from chainrule.cli import main, train_flags
from chainrule.cli.main import _parser

TEXT = ["--text", "t.txt"]


def _refused(argv, capsys) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if " BLAS threads on " not in line]
    assert len(lines) == 1 and lines[0].startswith("chainrule: error: "), err
    return lines[0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["gan", "--optimizer", "sgd"], "--optimizer sgd: gan's training does not use this option"),
        (["denoising", "--weight-decay", "0.1"], "--weight-decay 0.1: denoising's training"),
        (["autoencoder", "--schedule", "cosine"], "--schedule cosine: autoencoder's training"),
        (["char_cnn", "--augment", "shift"], "--augment shift: char_cnn's training"),
        (["mlp", "--bottleneck", "8"], r"--bottleneck 8: mlp's .* \(it is for autoencoder tasks\)"),
        (["lenet5", "--loss", "minimax"], r"--loss minimax: lenet5's .* \(it is for GANs\)"),
        (["mlp", "--n-train", "100"], r"\(it is for autoencoder tasks and GANs\)"),
        (["mlp", "--ngram", "3"], r"--ngram 3: .* \(it is for ngram and fasttext\)"),
        (["ngram", "--ensemble", "5"], "--ensemble 5: ngram's training does not use this option"),
        (["lstm_text", "--adversarial", "fgsm"], "--adversarial fgsm: lstm_text's training"),
        (["char_lm", *TEXT, "--optimizer", "sgd"], "--optimizer sgd: char_lm's training"),
        (["char_lm", *TEXT, "--device", "cpu", "--resume"], "--resume: char_lm's training"),
        (["char_lm", *TEXT, "--data-dir", "d"], "--data-dir d: char_lm's training"),
        (["char_lm", *TEXT, "--val-split", "0.2"], "--val-split 0.2: char_lm's training"),
        (["mlp", "--eps", "0.1"], "--eps 0.1 has no effect without --adversarial"),
        (["mlp", "--no-adv-clip-start"], "--no-adv-clip-start has no effect without --adversarial"),
        (
            ["mlp", "--prior-sigma", "2"],
            "--prior-sigma 2.0 has no effect without --bayes-by-backprop",
        ),
        (
            ["mlp", "--sharing-warmup", "1"],
            "--sharing-warmup 1 has no effect without --soft-sharing",
        ),
        (["autoencoder", "--noise", "mask:0.5"], "--noise mask:0.5: only the denoising task adds"),
        (
            ["colorization", "--bottleneck", "8"],
            "--bottleneck 8: the conv colorization model has no",
        ),
        (["denoising", "--arch", "conv", "--bottleneck", "8"], "the conv denoising model has no"),
    ],
)
def test_an_option_the_training_ignores_is_refused(argv, message, capsys, tmp_path):
    line = _refused(["train", *argv, "--epochs", "1", "--out", str(tmp_path / "run")], capsys)
    assert re.search(message, line), line
    assert not (tmp_path / "run").exists()


def test_every_option_in_the_tables_is_one_of_trains():
    args = _parser().parse_args(["train", "mlp"])
    assert set(args._train_flags) == {*train_flags._READERS, *train_flags._NEEDS}
    train_flags.refuse_unread(args)  # the defaults pass
    explicit = _parser().parse_args(["train", "gan", "--optimizer", "adam", "--bottleneck", "32"])
    train_flags.refuse_unread(explicit)  # a default given explicitly changes nothing: allowed
