"""Fuzz wave 23, command line: options that ``evaluate``, ``prune`` and ``explain`` read only in
one mode.

Before, ``evaluate RUN --samples 100`` (or ``--fit-size``, ``--laplace-structure``, ``--bins``,
``--seed``) without ``--uncertainty`` printed the plain test accuracy as if the option were not
there, ``--uncertainty mc-dropout --laplace-structure kfac`` dropped the structure, ``prune --lr``
and ``--finetune-epochs`` without ``--iterative`` did nothing, ``explain --method saliency
--steps 200`` (an option of another method) made the same map as without it, ``prune --lr inf``
or ``explain --stdev inf`` were accepted (their parser took any float > 0), and a file given as
``--data-dir`` was searched as a folder ("missing files ... Put them in FILE/mnist"); ``calibrate
--seed`` without ``--mc-dropout`` seeded nothing. Each is now refused in one line before the run
is read, so these tests need no trained run."""

import pytest

from .test_cli_errors import _run


@pytest.mark.parametrize(
    "argv, message",
    [
        (["evaluate", "R", "--samples", "5"], "--samples 5 has no effect without --uncertainty"),
        (["evaluate", "R", "--bins", "5"], "--bins 5 has no effect without --uncertainty"),
        (
            ["evaluate", "R", "--uncertainty", "mc-dropout", "--laplace-structure", "kfac"],
            "--laplace-structure kfac is not read by --uncertainty mc-dropout (it is for "
            "--uncertainty laplace)",
        ),
        (["evaluate", "R", "--uncertainty", "ensemble", "--seed", "3"], "--seed 3 is not read by"),
        (
            ["prune", "R", "--lr", "0.1"],
            "--lr 0.1: one-shot pruning does not fine-tune; add --iter",
        ),
        (["prune", "R", "--finetune-epochs", "3"], "--finetune-epochs 3: one-shot pruning"),
        (["prune", "R", "--lr", "inf"], "argument --lr: expected a finite number > 0, got 'inf'"),
        (["explain", "R", "x.npy", "--stdev", "inf"], "argument --stdev: expected a finite number"),
        (["visualize", "R", "--steps", "0"], "argument --steps: expected an integer >= 1, got '0'"),
        (["explain", "R", "x.npy", "--steps", "9"], "--steps 9: --method saliency does not use it"),
        (["calibrate", "R", "--seed", "3"], "--seed 3: it seeds the dropout masks of --mc-dropout"),
        (
            ["explain", "R", "x.npy", "--target", "-1"],
            "argument --target: expected an integer >= 0",
        ),
        (["train", "ngram", "--resume", "--out", "R"], "error: --resume: text models train on"),
        (
            ["explain", "R", "x.npy", "--method", "smoothgrad", "--stdev", "0.5"],
            "(it is for noise_",
        ),
        (["explain", "R", "x.npy", "--method", "all", "--layer", "a.b"], "--method all does not"),
        (["evaluate", "R", "--data-dir", "R/model.safetensors"], "model.safetensors' is a file;"),
        (["train", "mlp", "--data-dir", "R/model.safetensors"], "expected the folder that holds"),
    ],
)
def test_an_option_the_mode_does_not_read_is_refused(argv, message, capsys, tmp_path):
    (tmp_path / "R").mkdir()
    (tmp_path / "R" / "model.safetensors").write_bytes(b"")  # never read: refused before
    argv = [str(tmp_path / a) if a.startswith("R") else a for a in argv]
    code, err = _run(argv, capsys)  # one line, no traceback
    assert code == 2 and message in err, err
