"""Fuzz wave 17, the command line: every subcommand explains itself, a missing or foreign run
folder is one line naming the argument, --seed repeats a run bit for bit, and a run killed in
the middle of an epoch and resumed with --resume ends with the files of a run never killed."""

import argparse
import filecmp

import pytest

from chainrule.cli import main
from chainrule.cli.main import _parser
from chainrule.train import Trainer

SMALL = ["--model-arg", "sizes=[64,16,10]", "--quiet", "--threads", "1", "--epochs", "2"]
SAME_FILES = ["model.safetensors", "metrics.csv", "checkpoint/last.safetensors",
              "checkpoint/last.state.safetensors"]


def _commands():
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def _run(argv, capsys):
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    err = "".join(line for line in capsys.readouterr().err.splitlines(keepends=True)
                  if " BLAS threads on " not in line)
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize("command", _commands())
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: chainrule {command}")


MISSING = [
    ["evaluate", "{run}"], ["predict", "{run}", "x.png"], ["generate", "{run}"],
    ["explain", "{run}", "x.png"], ["visualize", "{run}", "--layer", "0"], ["prune", "{run}"],
    ["attack", "{run}"], ["patch", "{run}"], ["shift", "{run}"], ["ood", "{run}"],
    ["calibrate", "{run}"], ["sample", "{run}"],
]


@pytest.mark.parametrize("argv", MISSING, ids=[a[0] for a in MISSING])
@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_a_missing_or_foreign_run_folder_is_one_line_naming_the_argument(argv, folder, tmp_path,
                                                                          capsys):
    run = tmp_path / "run"
    if folder == "empty":
        run.mkdir()
    code, err = _run([a.replace("{run}", str(run)) for a in argv], capsys)
    name = "run" if argv[0] in ("explain", "visualize", "prune", "sample") else "checkpoint"
    why = "does not exist" if folder == "missing" else "holds no model.safetensors"
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"chainrule: error: argument {name}: ") and str(run) in err and why in err
    assert sorted(p.name for p in tmp_path.iterdir()) == (["run"] if folder == "empty" else [])


def test_generate_out_is_checked_as_it_is_parsed(tmp_path, capsys):
    code, err = _run(["generate", str(tmp_path / "nogan"), "--out", str(tmp_path)], capsys)
    assert code == 2 and f"argument --out: '{tmp_path}' is a folder; expected the path of the " \
        "PNG" in err


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """A run never killed, seed 3."""
    out = tmp_path_factory.mktemp("runs") / "whole"
    assert main(["train", "mlp", *SMALL, "--seed", "3", "--out", str(out)]) == 0
    return out


def test_the_same_seed_repeats_a_run_bit_for_bit(whole, tmp_path, capsys):
    assert _run(["train", "mlp", *SMALL, "--seed", "3", "--out", str(tmp_path / "again")],
                capsys)[0] == 0
    for f in SAME_FILES:
        assert filecmp.cmp(whole / f, tmp_path / "again" / f, shallow=False), f


@pytest.mark.parametrize("kill_at", [3, 30])
def test_a_run_killed_mid_epoch_resumes_to_the_same_files(whole, tmp_path, capsys, monkeypatch,
                                                          kill_at):
    args = ["train", "mlp", *SMALL, "--seed", "3"]
    step, calls = Trainer.train_step, []

    def killed(self, batch):
        calls.append(1)
        if len(calls) == kill_at:  # 21 steps an epoch: in the first epoch, or the second
            raise KeyboardInterrupt
        return step(self, batch)

    monkeypatch.setattr(Trainer, "train_step", killed)
    code, err = _run([*args, "--out", str(tmp_path / "cut")], capsys)
    assert code == 130 and "interrupted" in err
    monkeypatch.setattr(Trainer, "train_step", step)
    # killed in the first epoch, nothing was checkpointed: the resumed run starts afresh
    assert _run([*args, "--out", str(tmp_path / "cut"), "--resume"], capsys)[0] == 0
    for f in SAME_FILES:
        assert filecmp.cmp(whole / f, tmp_path / "cut" / f, shallow=False), f
