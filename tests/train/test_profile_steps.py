"""train.ProfileSteps and `chainrule train --profile N`: a few steps of a real run, profiled."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.autograd import graph
from chainrule.autograd.function import Function
from chainrule.cli import main
from chainrule.train import ProfileSteps, Trainer

APPLY = Function.__dict__["apply"]


def _trainer(callbacks):
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 6, rng=rng), nn.ReLU(), nn.Linear(6, 2, rng=rng))
    return Trainer(model, cr.ops.cross_entropy, optim.SGD(model.parameters(), lr=0.1),
                   callbacks=callbacks)


def _data(n=40):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def test_profile_steps_records_the_steps_after_wait(capsys):
    seen = []
    cb = ProfileSteps(2, wait=1, on_trace_ready=seen.append)
    _trainer([cb]).fit(_data(), epochs=1, batch_size=8, rng=0, verbose=0)  # 5 steps
    (prof,) = seen
    counts = {e.key: e.count for e in prof.key_averages()}
    assert counts["ProfilerStep*"] == 2  # steps 1 and 2, one row as PyTorch's
    steps = [e.trace_name for e in prof.events() if e.key == "ProfilerStep*"]
    assert steps == ["ProfilerStep#1", "ProfilerStep#2"]
    # the Trainer fused Linear + ReLU (nn.fuse): one LinearReLU op and node a step, then Linear
    assert counts["LinearReLU"] == 2 and counts["LinearReLUBackward0"] == 2
    assert counts["Linear"] == 2 and counts["LinearBackward0"] == 2
    assert counts["Optimizer.step#SGD.step"] == 2 and counts["nn.Module: Linear"] == 2
    assert Function.__dict__["apply"] is APPLY and graph._node_observer is None


def test_profile_steps_prints_the_table_and_reports_a_short_run(capsys):
    cb = ProfileSteps(10, wait=0, row_limit=5)
    _trainer([cb]).fit(_data(16), epochs=1, batch_size=8, rng=0, verbose=0)  # 2 steps only
    out = capsys.readouterr().out
    assert out.startswith("profile of 2 training steps (chainrule.profiler):")
    assert "Self CPU %" in out and len(cb.tables) == 1
    assert Function.__dict__["apply"] is APPLY


def test_profile_steps_restores_the_engine_when_training_fails():
    class Boom(cr.train.Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 2:
                raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        _trainer([ProfileSteps(5, wait=1, on_trace_ready=lambda p: None), Boom()]).fit(
            _data(), epochs=1, batch_size=8, rng=0, verbose=0)
    assert Function.__dict__["apply"] is APPLY and not cr.profiler.is_recording()


def test_profile_steps_refuses_bad_counts():
    with pytest.raises(ValueError, match="steps must be an int >= 1, got 0"):
        ProfileSteps(0)
    with pytest.raises(ValueError, match="wait must be an int >= 0, got -1"):
        ProfileSteps(1, wait=-1)


def test_cli_train_profile_prints_the_table(tmp_path, capsys):
    assert main(["train", "mlp", "--epochs", "1", "--quiet", "--profile", "2",
                 "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "profile of 2 training steps (chainrule.profiler):" in out
    assert "Optimizer.step#Adam.step" in out and "Self CPU time total:" in out
    assert Function.__dict__["apply"] is APPLY


def test_cli_train_profile_is_refused_where_it_is_not_wired(capsys):
    assert main(["train", "char_lm", "--profile", "2", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "--profile 2: profiling is wired into the image classifiers' training only" in err
