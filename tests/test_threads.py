"""BLAS threads: set/get, the "auto" rule, the environment and the command line (no timings)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import chainrule as cr
from chainrule.backend import threads
from chainrule.backend.settings import config, from_environment, parse_threads
from chainrule.backend.threads import Machine, auto_threads
from chainrule.cli import main


@pytest.fixture
def restore_threads():
    """Put the process's thread count and setting back as they were."""
    setting, count = config.threads, cr.get_num_threads()
    yield
    cr.set_num_threads(count)
    config.threads = setting


def test_set_get_round_trip(restore_threads):
    cr.set_num_threads(1)
    assert cr.get_num_threads() == 1 and cr.config.threads == 1
    cr.set_num_threads("2")
    assert 1 <= cr.get_num_threads() <= 2 and cr.config.threads == 2


def test_auto_chooses_for_the_machine(restore_threads, monkeypatch):
    monkeypatch.setattr(threads, "machine", lambda: Machine(cpus=4, busy=3.2))
    cr.set_num_threads("auto")
    assert cr.get_num_threads() == 1 and cr.config.threads == "auto"


@pytest.mark.parametrize("cpus, busy, expected", [
    (2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 1.0, 1), (2, 5.0, 1), (4, 1.2, 3), (1, 0.0, 1),
    (16, 0.0, 16),
])
def test_auto_rule(cpus, busy, expected):
    assert auto_threads(Machine(cpus=cpus, busy=busy)) == expected


def test_machine_is_plausible():
    m = threads.machine()
    assert m.cpus >= 1 and m.busy >= 0 and f"{m.cpus} CPUs" in str(m)


@pytest.mark.parametrize("bad", [0, -1, "0", "x", "", 1.5, True, None])
def test_bad_counts_are_refused_with_the_value(bad):
    with pytest.raises(ValueError, match=r"set_num_threads: threads must be a positive integer "
                       r"or 'auto', got"):
        cr.set_num_threads(bad)


def test_parse_threads():
    assert parse_threads(" 3 ") == 3 and parse_threads("AUTO") == "auto" and parse_threads(2) == 2


def test_a_thread_count_beyond_a_c_int_is_refused(capsys):
    # Found by the CLI fuzz: `--threads 99999999999999999999` passed the parser and failed inside
    # the thread library (an internal error, exit 1: "OverflowError: int too long to convert").
    with pytest.raises(ValueError, match="threads must be at most 2147483647, got 2147483648"):
        parse_threads(2**31)
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "run", "--threads", "99999999999999999999"])
    assert exit_info.value.code == 2
    assert "argument --threads: threads must be at most" in capsys.readouterr().err


def test_environment_parsing():
    assert from_environment({}).threads == "auto"
    assert from_environment({"CHAINRULE_NUM_THREADS": "3"}).threads == 3
    assert from_environment({"CHAINRULE_NUM_THREADS": " auto "}).threads == "auto"
    assert from_environment({"CHAINRULE_NUM_THREADS": ""}).threads == "auto"
    user = from_environment({"OPENBLAS_NUM_THREADS": "1"})
    assert user.threads is None and user.environment == {"OPENBLAS_NUM_THREADS": "1"}
    assert from_environment({"OMP_NUM_THREADS": "4"}).threads is None
    both = {"OPENBLAS_NUM_THREADS": "1", "CHAINRULE_NUM_THREADS": "2"}
    assert from_environment(both).threads == 2


@pytest.mark.parametrize("environ, fallback", [
    ({"CHAINRULE_NUM_THREADS": "many"}, "auto"),
    ({"CHAINRULE_NUM_THREADS": "0", "MKL_NUM_THREADS": "2"}, None),
])
def test_a_bad_environment_value_warns_and_falls_back(environ, fallback):
    with pytest.warns(RuntimeWarning, match="CHAINRULE_NUM_THREADS: threads must be a positive "
                      "integer or 'auto', got"):
        assert from_environment(environ).threads == fallback


def test_import_sets_what_the_setting_asks_and_leaves_user_choices_alone(monkeypatch):
    calls = []
    monkeypatch.setattr(threads, "_limit", calls.append)
    monkeypatch.setattr(threads, "machine", lambda: Machine(cpus=8, busy=2.0))
    for setting, expected in [(None, []), ("auto", [6]), (3, [3])]:
        monkeypatch.setattr(config, "threads", setting)
        calls.clear()
        threads.apply_configured_threads()
        assert calls == expected


def _run(code: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.endswith("_NUM_THREADS") and k != "VECLIB_MAXIMUM_THREADS"}
    return subprocess.run([sys.executable, "-c", code], env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_the_environment_reaches_a_fresh_process():
    code = "import chainrule as cr; print(cr.config.threads, cr.get_num_threads())"
    assert _run(code, OPENBLAS_NUM_THREADS="1").stdout.split() == ["None", "1"]
    assert _run(code, CHAINRULE_NUM_THREADS="1").stdout.split() == ["1", "1"]
    bad = _run(code, CHAINRULE_NUM_THREADS="lots")
    assert bad.returncode == 0 and bad.stdout.split()[0] == "auto"
    assert "ignoring the environment variable CHAINRULE_NUM_THREADS" in bad.stderr


def test_oversubscription_hint(monkeypatch):
    monkeypatch.setattr(threads, "_limit", lambda count: None)  # the setting alone, not applied
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)
    monkeypatch.setattr(config, "threads", None)
    monkeypatch.setattr(threads, "machine", lambda: Machine(cpus=2, busy=2.0))
    hint = threads.oversubscription_hint()
    assert "2 BLAS threads on 2 CPUs, 2.0 kept busy" in hint and "--threads 1" in hint
    monkeypatch.setattr(config, "threads", 2)
    assert threads.oversubscription_hint() == ""
    monkeypatch.setattr(config, "threads", None)
    monkeypatch.setattr(threads, "machine", lambda: Machine(cpus=4, busy=0.3))
    assert threads.oversubscription_hint() == ""


@pytest.mark.parametrize("argv", [["train", "mlp"], ["evaluate", "run"],
                                  ["predict", "run", "a.png"]])
@pytest.mark.parametrize("value, shown", [("0", "0"), ("-2", "-2"), ("two", "'two'")])
def test_cli_refuses_bad_thread_counts(argv, value, shown, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--threads", value])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert (f"error: argument --threads: threads must be a positive integer or 'auto', got {shown}"
            in last)


def test_cli_sets_the_threads_before_running(restore_threads, tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing"), "--threads", "1"]) == 2
    assert cr.get_num_threads() == 1 and cr.config.threads == 1
    assert "chainrule: error:" in capsys.readouterr().err
