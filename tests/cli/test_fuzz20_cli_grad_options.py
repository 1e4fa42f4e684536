"""`chainrule train --clip-grad-norm C | --clip-grad-value C --accumulate K`: passed to the
classifier's Trainer (train_classifier's grad_options), refused where training would not apply
them (generative and text models) and for bad values, before any data is read."""

import pytest

from chainrule import experiments
from chainrule.cli import main


def _run(argv, capsys):
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exit_info:  # argparse's usage errors
        code = exit_info.code
    return code, capsys.readouterr().err


def test_the_options_reach_train_classifier(monkeypatch, capsys):
    seen = {}

    def fake(*args, **kwargs):
        seen.update(kwargs)
        return {
            "test_accuracy": 1.0,
            "test_errors": 0,
            "n_test": 1,
            "train_seconds": 0.0,
            "out": "x",
        }

    monkeypatch.setattr(experiments, "train_classifier", fake)
    assert (
        _run(["train", "mlp", "--quiet", "--clip-grad-norm", "0.5", "--accumulate", "3"], capsys)[0]
        == 0
    )
    assert seen["grad_options"] == {"clip_grad_norm": 0.5, "accumulate_grad_batches": 3}
    assert _run(["train", "mlp", "--quiet"], capsys)[0] == 0
    assert seen["grad_options"] == {}  # none given: the run's config.json records nothing


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "gan", "--accumulate", "2"], "--accumulate is for image classifiers; gan's"),
        (
            ["train", "ngram", "--clip-grad-value", "1"],
            "--clip-grad-value is for image classifiers",
        ),
        (["train", "mlp", "--clip-grad-norm", "1", "--clip-grad-value", "1"], "pass one kind"),
        (["train", "mlp", "--clip-grad-norm", "0"], "expected a finite number > 0, got '0'"),
        (["train", "mlp", "--accumulate", "0"], "--accumulate"),
        (["train", "mlp", "--accumulate", "1.5"], "--accumulate"),
    ],
)
def test_bad_or_misplaced_options_are_refused(argv, message, capsys):
    code, err = _run([*argv, "--quiet"], capsys)
    assert code == 2 and message in err, err


def test_train_classifier_checks_them_before_reading_data(tmp_path):
    with pytest.raises(ValueError, match="accumulate_grad_batches must be an int >= 1"):
        experiments.train_classifier(
            "mlp", "no-such-data", out=tmp_path / "run", grad_options={"accumulate_grad_batches": 0}
        )
    assert not (tmp_path / "run").exists()
