"""Every way the command line refuses: one line on stderr, a nonzero exit, nothing left behind.

The first test enumerates refused commands (argv -> exit status and a piece of the message); the
others build the states some refusals need (a run folder to resume, a folder in use by another
process, a full disk) and check that nothing was lost or misrecorded.
"""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.io import load_training_state

SMALL = ["--model-arg", "sizes=[64,16,10]", "--quiet"]


def _run(argv, capsys) -> tuple[int, str]:
    """Exit status and stderr of ``main(argv)``; stderr must be one line with no traceback."""
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exit_info:  # argparse's usage errors
        code = exit_info.code
    err = capsys.readouterr().err
    # Not an error: the advice to set --threads that a busy machine gets before training.
    err = "".join(line for line in err.splitlines(keepends=True) if " BLAS threads on " not in line)
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == (0 if code == 0 else 1), err
    if code:
        assert err.startswith("chainrule: error: "), err
    return code, err


@pytest.fixture(autouse=True)
def _no_runs_folder(tmp_path, monkeypatch):
    """Run in an empty folder and check that no default runs/ folder appears in it."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    yield
    assert list(cwd.iterdir()) == []


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished 2-epoch MLP run on the 8x8 digits."""
    out = tmp_path_factory.mktemp("runs") / "mlp"
    assert main(["train", "mlp", "--epochs", "2", "--out", str(out), *SMALL]) == 0
    return out


@pytest.fixture
def run_copy(run, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(run, out)
    return out


REFUSED = [
    (["train", "resnet"], "unknown model 'resnet'; known models:"),
    (["train", "mlp", "--epochs", "0"], "argument --epochs: expected an integer >= 1, got '0'"),
    (["train", "mlp", "--epochs", "-1"], "argument --epochs: expected an integer >= 1, got '-1'"),
    (["train", "mlp", "--epochs", "two"], "argument --epochs: expected an integer >= 1"),
    (["train", "mlp", "--batch-size", "0"], "argument --batch-size: expected an integer >= 1"),
    (["train", "mlp", "--lr", "nan"], "argument --lr: expected a finite number > 0, got 'nan'"),
    (["train", "mlp", "--lr", "inf"], "argument --lr: expected a finite number > 0, got 'inf'"),
    (["train", "mlp", "--lr", "0"], "argument --lr: expected a finite number > 0, got '0'"),
    (["train", "mlp", "--lr", "-0.1"], "argument --lr: expected a finite number > 0"),
    (["train", "mlp", "--weight-decay", "-1"], "argument --weight-decay: expected a finite "
                                               "number >= 0, got '-1'"),
    (["train", "mlp", "--weight-decay", "nan"], "argument --weight-decay: expected a finite"),
    (["train", "mlp", "--seed", "-3"], "argument --seed: expected an integer >= 0, got '-3'"),
    (["train", "mlp", "--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
    (["train", "mlp", "--dataset", "cifar"], "unknown dataset 'cifar'; known datasets:"),
    (["train", "mlp", "--model-arg", "bogus=1"],
     "--model-arg: model 'mlp' has no argument 'bogus'; it accepts sizes, activation, dropout"),
    (["train", "lenet5", "--model-arg", "sizes=[1]", "--model-arg", "depth=3"],
     "model 'lenet5' has no argument 'sizes', 'depth'; it accepts variant, in_channels, "
     "num_classes, input_size"),
    (["train", "mlp", "--model-arg", "sizes=[64,32,"],
     "argument --model-arg: sizes: '[64,32,' is not valid JSON (Expecting value"),
    (["train", "mlp", "--model-arg", "dropout=NaN"], "dropout: 'NaN' is not valid JSON"),
    (["train", "mlp", "--model-arg", "sizes"], "argument --model-arg: expected KEY=JSON"),
    (["train", "mlp", "--model-arg", "=3"], "argument --model-arg: expected KEY=JSON"),
    (["train", "mlp", "--model-arg", "activation=two words"], "'two words' is not valid JSON"),
    (["train", "mlp", "--model-arg", "sizes=5"], "model 'mlp' cannot be built with sizes=5"),
    (["train", "mlp", "--model-arg", "activation=swoosh"],
     "model 'mlp' cannot be built with sizes=(64, 800, 10), activation='swoosh'"),
    (["train", "mlp", "--model-arg", "dropout=0.1", "--model-arg", "dropout=0.2"],
     "--model-arg dropout is given twice (0.1 and 0.2)"),
    (["train", "mlp", "--model-arg", "rng=3"], "rng is not a model argument here"),
    (["train", "perceptron"], "model 'perceptron' cannot be built with no arguments: "),
    (["train", "lenet5"], "model 'lenet5' cannot be built with in_channels=1, num_classes=10, "
                          "input_size=8: LeNet5: input_size must be 28 or 32, got 8"),
    (["train", "conv_autoencoder"], "model 'conv_autoencoder' gives outputs of shape (1, 8, 8) "
                                    "for digits images of shape (1, 8, 8); expected (10,)"),
    (["train", "mlp", "--model-arg", "sizes=[64,32,5]"], "gives outputs of shape (5,)"),
    (["train", "mlp", "--model-arg", "sizes=[100,32,10]"],
     "model 'mlp' cannot take digits images of shape (1, 8, 8): Linear: expected input with "
     "last dimension 100"),
    (["train", "mlp", "--resume"], "--resume needs --out, the run folder to continue"),
    (["train", "mlp", "--out", ""], "--out is empty; expected the path of a run folder"),
    (["train", "mlp", "--resume", "--out", "{tmp}/missing"],
     "--resume: run folder '{tmp}/missing' does not exist"),
    (["train", "autoencoder", "--epochs", "0"], "argument --epochs: expected an integer >= 1"),
    (["train", "denoising", "--noise", "gaussian:0.3,blur:2"], "argument --noise:"),
    (["train", "autoencoder", "--bottleneck", "0"], "argument --bottleneck: expected an integer"),
    (["train", "autoencoder", "--dataset", "digits", "--model-arg", "bogus=1"],
     "model 'autoencoder' has no argument 'bogus'; it accepts sizes, activation, "
     "output_activation, tied"),
    (["train", "watermark", "--dataset", "digits", "--model-arg", "latent=1"],
     "model 'conv_autoencoder' has no argument 'latent'"),
    (["train", "gan", "--dataset", "digits", "--model-arg", "bogus=1"],
     "model 'gan' has no argument 'bogus'; it accepts latent_dim, g_hidden"),
    (["train", "cgan", "--dataset", "digits", "--model-arg", "bogus=1"],
     "model 'cgan' cannot be built with"),
    (["train", "gan", "--label-smoothing", "1"], "argument --label-smoothing: expected a finite "
                                                 "number >= 0 and < 0.5, got '1'"),
    # 0.7 passed the parser (its help said < 1) and GANTrainer refused it without naming the flag
    (["train", "gan", "--label-smoothing", "0.7"], "argument --label-smoothing: expected a "
                                                   "finite number >= 0 and < 0.5, got '0.7'"),
    (["train", "gan", "--n-critic", "0"], "argument --n-critic: expected an integer >= 1"),
    (["train", "gan", "--gp-weight=-inf"], "argument --gp-weight: expected a finite number"),
    (["train", "dcgan", "--latent-dim", "0"], "argument --latent-dim: expected an integer >= 1"),
    (["train", "gan", "--dataset", "digits", "--n-train", "10", "--batch-size", "64"],
     "n_train 10 is fewer than one batch of 64"),
    (["train", "gan", "--dataset", "digits", "--judge", "{tmp}/nojudge"], "nojudge"),
    (["train", "gan", "--dataset", "digits", "--resume", "--out", "{tmp}/missing"],
     "does not exist"),
    (["generate", "{tmp}/nogan"], "nogan"),
    (["generate", "{tmp}/nogan", "--out", "{tmp}"], "is a folder; expected the path of the PNG"),
    (["generate", "{tmp}/nogan", "--out", "{tmp}/grid.txt"],
     "argument --out: expected the path of a .png file to write, got '{tmp}/grid.txt'"),
    (["generate", "{tmp}/nogan", "--n", "0"],
     "argument --n: expected an integer from 1 to 4096, got '0'"),
    (["generate", "{tmp}/nogan", "--n", "100000000"],
     "argument --n: expected an integer from 1 to 4096, got '100000000'"),
    (["generate", "{tmp}/nogan", "--label", "-1"], "argument --label: expected an integer >= 0"),
    (["evaluate", "{tmp}/nothing"], "nothing"),
    (["models", "--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize("argv, message", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_refused_commands_print_one_line_and_create_nothing(argv, message, tmp_path, capsys):
    out = tmp_path / "run"
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if argv[0] == "train" and "--out" not in argv and "--resume" not in argv:
        argv += ["--out", str(out)]
    code, err = _run([*argv, "--quiet"] if argv[0] == "train" else argv, capsys)
    assert code == 2
    assert message.replace("{tmp}", str(tmp_path)) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd"]  # no run folder, no figures/


def test_out_that_is_a_file_or_below_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("mine")
    code, err = _run(["train", "mlp", "--out", str(tmp_path / "file"), *SMALL], capsys)
    assert code == 2 and f"--out '{tmp_path / 'file'}' is a file; expected a run folder" in err
    code, err = _run(["train", "mlp", "--out", str(tmp_path / "file" / "run"), *SMALL], capsys)
    assert code == 2 and "Not a directory" in err and str(tmp_path / "file") in err
    assert (tmp_path / "file").read_text() == "mine"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions that bind (not root)")
def test_read_only_folder(tmp_path, capsys):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        code, err = _run(["train", "mlp", "--out", str(parent / "run"), *SMALL], capsys)
    finally:
        parent.chmod(0o755)
    assert code == 2 and "Permission denied" in err and str(parent / "run") in err


def test_permission_error_names_the_file(tmp_path, capsys, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    code, err = _run(["train", "mlp", "--out", str(tmp_path / "run"), *SMALL], capsys)
    assert code == 2 and err.strip() == f"chainrule: error: {tmp_path / 'run'}: Permission denied"


def test_a_folder_with_other_files_is_refused_and_one_with_only_empty_folders_is_not(
        tmp_path, capsys):
    out = tmp_path / "run"
    (out / "figures").mkdir(parents=True)  # what a refused start of older versions left
    assert _run(["train", "mlp", "--epochs", "1", "--out", str(out), *SMALL], capsys)[0] == 0
    code, err = _run(["train", "mlp", "--epochs", "1", "--out", str(out), *SMALL], capsys)
    assert code == 2 and "is not empty; pass --resume" in err


def test_generate_on_a_classifier_run(run, tmp_path, capsys):
    code, err = _run(["generate", str(run), "--out", str(tmp_path / "g.png")], capsys)
    assert code == 2 and "model 'mlp' is not a generator" in err
    assert not (tmp_path / "g.png").exists()


def test_evaluate_and_predict_with_a_config_that_lacks_entries(run, tmp_path, capsys):
    from chainrule.io import save_weights
    from chainrule.models import build

    net = build("mlp", sizes=[64, 16, 10])
    save_weights(net, tmp_path / "bare.safetensors", config={"model": net.config})
    code, err = _run(["evaluate", str(tmp_path / "bare.safetensors")], capsys)
    assert code == 2 and "bare.safetensors" in err
    np.save(tmp_path / "x.npy", np.zeros((8, 8), np.float32))
    save_weights(net, tmp_path / "few.safetensors",
                 config={"model": net.config, "classes": ["a", "b"], "input_shape": [1, 8, 8]})
    code, err = _run(["predict", str(tmp_path / "few.safetensors"), str(tmp_path / "x.npy")],
                     capsys)
    assert code == 2 and "few.safetensors" in err


def test_a_model_that_is_no_classifier_is_refused_as_one(tmp_path, capsys):
    from chainrule.io import save_weights
    from chainrule.models import build

    net = build("autoencoder", sizes=[64, 16, 4])
    ae = tmp_path / "ae.safetensors"
    save_weights(net, ae, config={"model": net.config, "dataset": "digits",
                                  "input_shape": [1, 8, 8], "classes": list("0123456789")})
    np.save(tmp_path / "x.npy", np.zeros((8, 8), np.float32))
    code, err = _run(["evaluate", str(ae)], capsys)
    assert code == 2 and ("model 'autoencoder' gives outputs of shape (1, 8, 8) for digits images "
                          "of shape (1, 8, 8); expected (10,)") in err
    code, err = _run(["predict", str(ae), str(tmp_path / "x.npy")], capsys)
    assert code == 2 and "the model gives (1, 8, 8) outputs per image" in err
    code, err = _run(["train", "gan", "--dataset", "digits", "--judge", str(ae), "--out",
                      str(tmp_path / "gan"), "--quiet"], capsys)
    assert code == 2 and "(--judge must be a classifier of its classes)" in err
    assert not (tmp_path / "gan").exists()


# Resume


def _files(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_resume_with_another_architecture_refuses_before_writing(run_copy, capsys):
    before = _files(run_copy)
    code, err = _run(["train", "mlp", "--epochs", "3", "--out", str(run_copy), "--resume",
                      "--model-arg", "sizes=[64,32,10]", "--quiet"], capsys)
    assert code == 2
    assert "model.kwargs.sizes [64, 16, 10] -> [64, 32, 10]" in err
    assert _files(run_copy) == before


def test_resume_lists_every_differing_setting(run_copy, capsys):
    (run_copy / "checkpoint" / ".last.safetensors.0123456789ab.tmp").write_bytes(b"stale")
    before = _files(run_copy)  # a refused resume removes nothing either
    code, err = _run(["train", "mlp", "--epochs", "3", "--out", str(run_copy), "--resume",
                      "--optimizer", "sgd", "--lr", "0.01", "--batch-size", "32",
                      "--augment", "shift", *SMALL], capsys)
    assert code == 2
    for change in ('augment "none" -> "shift"', "batch_size 64 -> 32",
                   'optimizer "adam" -> "sgd"', "optimizer_kwargs.lr 0.001 -> 0.01",
                   'optimizer_kwargs.momentum "(not recorded)" -> 0.9'):
        assert change in err, change
    assert "only --epochs may grow" in err
    assert _files(run_copy) == before


def test_resume_that_extends_epochs_records_it(run_copy, capsys):
    code, _ = _run(["train", "mlp", "--epochs", "3", "--out", str(run_copy), "--resume",
                    *SMALL], capsys)
    assert code == 0
    config = json.loads((run_copy / "config.json").read_text())
    assert config["epochs"] == 3 and config["resumes"] == [{"at_epoch": 2, "epochs": 3}]
    rows = (run_copy / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == ["epoch", "0", "1", "2"]


def test_resume_cannot_shrink_epochs_or_change_them_under_a_schedule(run_copy, tmp_path, capsys):
    code, err = _run(["train", "mlp", "--epochs", "1", "--out", str(run_copy), "--resume",
                      *SMALL], capsys)
    assert code == 2 and "--epochs 1 is fewer than the 2 epochs" in err
    cosine = tmp_path / "cosine"
    assert _run(["train", "mlp", "--epochs", "1", "--schedule", "cosine", "--out", str(cosine),
                 *SMALL], capsys)[0] == 0
    before = _files(cosine)
    code, err = _run(["train", "mlp", "--epochs", "2", "--schedule", "cosine", "--out",
                      str(cosine), "--resume", *SMALL], capsys)
    assert code == 2 and "epochs 1 -> 2 (the learning-rate schedule" in err
    assert _files(cosine) == before


def test_resume_of_a_folder_that_is_no_run(tmp_path, capsys):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    code, err = _run(["train", "mlp", "--out", str(tmp_path / "other"), "--resume", *SMALL],
                     capsys)
    assert code == 2 and "holds no config.json; it is not a chainrule run folder" in err


@pytest.mark.parametrize("text, message", [
    ("{not json", "config.json is damaged"),
    ("[1, 2]", "config.json holds list, expected a JSON object"),
    ("[" * 100_000 + "]" * 100_000, "config.json is damaged"),
    (" " * (1 << 21), "more than a run's settings take"),
    ("\udcff", "config.json is damaged"),
], ids=["not-json", "a-list", "deep", "huge", "not-utf8"])
def test_resume_with_a_damaged_config(run_copy, text, message, capsys):
    data = text.encode("utf-8", "surrogateescape")
    (run_copy / "config.json").write_bytes(data)
    code, err = _run(["train", "mlp", "--epochs", "3", "--out", str(run_copy), "--resume",
                      *SMALL], capsys)
    assert code == 2 and message in err
    assert (run_copy / "config.json").read_bytes() == data


@pytest.mark.parametrize("log", [b"\xff\xfe\x00garbage\n", b'epoch\n"' + b"x" * 200_000 + b'"\n'],
                         ids=["not-utf8", "huge-field"])
def test_resume_with_a_damaged_metrics_log(run_copy, log, capsys):
    (run_copy / "metrics.csv").write_bytes(log)
    code, err = _run(["train", "mlp", "--epochs", "3", "--out", str(run_copy), "--resume",
                      *SMALL], capsys)
    assert code == 2 and "metrics.csv is not a CSV log to append to" in err
    assert (run_copy / "metrics.csv").read_bytes() == log


def test_resume_with_a_config_missing_a_setting(run_copy, capsys):
    config = json.loads((run_copy / "config.json").read_text())
    del config["dataset"]
    (run_copy / "config.json").write_text(json.dumps(config))
    code, err = _run(["train", "mlp", "--epochs", "3", "--out", str(run_copy), "--resume",
                      *SMALL], capsys)
    assert code == 2 and 'dataset "(not recorded)" -> "digits"' in err


def test_resume_with_a_damaged_training_state_writes_nothing(run_copy, capsys):
    (run_copy / "checkpoint" / "last.state.safetensors").write_bytes(b"\x00" * 10)
    before = _files(run_copy)
    code, err = _run(["train", "mlp", "--epochs", "3", "--out", str(run_copy), "--resume",
                      *SMALL], capsys)
    assert code == 2 and "last.state.safetensors" in err
    assert _files(run_copy) == before  # config.json still says 2 epochs


def test_resume_after_a_crash_truncates_the_log_and_removes_our_temporaries(run, tmp_path,
                                                                            capsys):
    straight = tmp_path / "straight"
    assert _run(["train", "mlp", "--epochs", "3", "--out", str(straight), *SMALL], capsys)[0] == 0
    crashed = tmp_path / "crashed"
    shutil.copytree(run, crashed)
    # Epoch 3 was logged, then the process died before its checkpoint, mid-way through writes.
    with open(crashed / "metrics.csv", "a") as f:
        f.write("2,0.5,0.9,0.4,0.9\n3,0.4")
    ours = [crashed / "checkpoint" / ".last.state.safetensors.0123456789ab.tmp",
            crashed / ".tmp-k2j4_x9zresults.json", crashed / "figures" / ".tmp-0a1b2c3d.png"]
    theirs = [crashed / "notes.tmp", crashed / ".notes.tmp", crashed / "figures" / "mine.png",
              crashed / "checkpoint" / ".last.safetensors.xyz.tmp"]
    for p in ours + theirs:
        p.write_bytes(b"partial")
    assert _run(["train", "mlp", "--epochs", "3", "--out", str(crashed), "--resume", *SMALL],
                capsys)[0] == 0
    assert (crashed / "metrics.csv").read_text() == (straight / "metrics.csv").read_text()
    assert not any(p.exists() for p in ours)
    assert all(p.read_bytes() == b"partial" for p in theirs)


def test_resume_without_a_checkpoint_starts_afresh_with_the_new_settings(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"model": "mlp", "epochs": 9, "seed": 5}))
    (out / "metrics.csv").write_text("epoch,loss\n0,nan\n")
    (out / "checkpoint").mkdir()  # a first epoch that never finished
    assert _run(["train", "mlp", "--epochs", "1", "--out", str(out), "--resume", *SMALL],
                capsys)[0] == 0
    config = json.loads((out / "config.json").read_text())
    assert config["epochs"] == 1 and config["seed"] == 0 and "resumes" not in config
    assert [r.split(",")[0] for r in (out / "metrics.csv").read_text().splitlines()] == [
        "epoch", "0"]


# Locks


_HOLD = """
import sys
from pathlib import Path
from chainrule.experiments.runs import _Lock
lock = _Lock(Path(sys.argv[1]))
lock.acquire()
print("locked", flush=True)
sys.stdin.read()
"""


def _holder(folder: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(folder)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdin.close()
    proc.stdout.close()


@pytest.mark.skipif(os.name != "posix", reason="kills the holder with SIGKILL")
def test_a_folder_in_use_by_another_process_is_refused(run_copy, tmp_path, capsys):
    proc = _holder(run_copy)
    try:
        before = _files(run_copy)
        code, err = _run(["train", "mlp", "--epochs", "3", "--out", str(run_copy), "--resume",
                          *SMALL], capsys)
        assert code == 2
        assert f"run folder '{run_copy}' is in use by another chainrule process " \
               f"(pid {proc.pid})" in err
        assert _files(run_copy) == before
        empty = tmp_path / "empty"
        empty.mkdir()
        other = _holder(empty)
        try:
            code, err = _run(["train", "mlp", "--out", str(empty), *SMALL], capsys)
            assert code == 2 and f"(pid {other.pid})" in err
        finally:
            _kill(other)
    finally:
        _kill(proc)  # SIGKILL: the holder leaves its lock file behind
    assert (run_copy / ".chainrule.lock").exists()
    assert _run(["train", "mlp", "--epochs", "3", "--out", str(run_copy), "--resume", *SMALL],
                capsys)[0] == 0
    assert not (run_copy / ".chainrule.lock").exists()


# Files: modes and full disks


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_run_files_follow_the_umask(tmp_path, capsys):
    old = os.umask(0o027)
    try:
        assert _run(["train", "mlp", "--epochs", "1", "--out", str(tmp_path / "run"), *SMALL],
                    capsys)[0] == 0
    finally:
        os.umask(old)
    modes = {str(p.relative_to(tmp_path)): oct(p.stat().st_mode & 0o777)
             for p in (tmp_path / "run").rglob("*") if p.is_file()}
    assert "run/checkpoint/last.state.safetensors" in modes and "run/figures/curves.png" in modes
    assert set(modes.values()) == {"0o640"}, modes


def _full_disk_on(monkeypatch, module, name: str, when):
    real = getattr(module, name)

    def write(*args, **kwargs):
        if when(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, write)


def test_disk_full_while_saving_a_checkpoint_keeps_the_previous_one(tmp_path, capsys,
                                                                    monkeypatch):
    from chainrule.io import checkpoint

    calls = []

    def second_state(f, arrays, metadata):
        calls.append(f.name)
        return sum(".last.state." in c for c in calls) == 2 and ".last.state." in f.name

    _full_disk_on(monkeypatch, checkpoint, "write_file", second_state)
    out = tmp_path / "run"
    code, err = _run(["train", "mlp", "--epochs", "3", "--out", str(out), *SMALL], capsys)
    state = out / "checkpoint" / "last.state.safetensors"
    assert code == 2
    assert err.strip() == f"chainrule: error: {state}: No space left on device"
    assert load_training_state(state)["epoch"] == 0
    assert not [p for p in out.rglob("*.tmp")]


def test_disk_full_while_drawing_a_figure_names_it(tmp_path, capsys, monkeypatch):
    from matplotlib.figure import Figure

    _full_disk_on(monkeypatch, Figure, "savefig", lambda *a, **k: True)
    out = tmp_path / "run"
    code, err = _run(["train", "mlp", "--epochs", "1", "--out", str(out), *SMALL], capsys)
    assert code == 2
    assert err.strip() == (f"chainrule: error: {out / 'figures' / 'curves.png'}: "
                           "No space left on device")
    assert (out / "model.safetensors").is_file() and not list(out.rglob(".tmp-*"))


# Diverging training


def test_diverging_training_stops_at_the_first_non_finite_loss(tmp_path, capsys):
    out = tmp_path / "run"
    code, err = _run(["train", "mlp", "--optimizer", "sgd", "--lr", "1e20", "--epochs", "3",
                      "--out", str(out), *SMALL], capsys)
    assert code == 3
    assert err.startswith("chainrule: error: training diverged: ")
    assert "epoch 1, batch" in err and "no checkpoint was written" in err
    assert "lower the learning rate (--lr, it was 1e+20)" in err
    assert not (out / "model.safetensors").exists() and not (out / "results.json").exists()
    assert not list(out.rglob("*.png"))


def test_divergence_in_a_later_epoch_keeps_the_last_finite_checkpoint(tmp_path, capsys,
                                                                       monkeypatch):
    from chainrule import optim

    real_step, steps = optim.Adam.step, []

    def step(self, *args, **kwargs):  # 23 steps per epoch: the 30th is in epoch 2
        steps.append(1)
        real_step(self, *args, **kwargs)
        if len(steps) == 30:
            for group in self.param_groups:
                w = group["params"][0]
                w.data = np.full(w.shape, np.nan, dtype=w.dtype)

    monkeypatch.setattr(optim.Adam, "step", step)
    out = tmp_path / "run"
    code, err = _run(["train", "mlp", "--epochs", "3", "--out", str(out), *SMALL], capsys)
    assert code == 3
    assert "in epoch 2" in err or "at epoch 2" in err
    assert f"the checkpoint of epoch 1 is kept in {out / 'checkpoint'}" in err
    state = load_training_state(out / "checkpoint" / "last.state.safetensors")
    assert state["epoch"] == 0
    assert all(np.isfinite(w).all() for k, w in state["model"].items())
    assert [r.split(",")[0] for r in (out / "metrics.csv").read_text().splitlines()] == [
        "epoch", "0"]
    assert not (out / "model.safetensors").exists() and not list(out.rglob("*.png"))
    assert not (out / ".chainrule.lock").exists()  # released on the way out
