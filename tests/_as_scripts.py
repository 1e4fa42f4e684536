"""Run scripts as ``python SCRIPT ARG...`` runs them, paying Python's start and ``import
chainrule`` once for all of them.

``run_as_scripts([[path, *args], ...])`` starts one process that imports chainrule (every example
does first) and forks one child per script. Each child is a fresh copy of that process: it sets
``sys.argv`` and ``sys.path[0]`` (the script's folder) as the interpreter does, runs the file as
``__main__`` with its stdout and stderr (file descriptors 1 and 2) in files of their own, and exits
with the code Python would give: a ``SystemExit``'s, 1 after an uncaught exception's traceback.
No script sees what another one imported or changed. Returns, per script in order,
``{"returncode", "stdout", "stderr"}``.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path


def run_as_scripts(commands: list[list[str]], timeout: float = 600) -> list[dict]:
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "results.json"
        done = subprocess.run([sys.executable, __file__, str(results)], input=json.dumps(commands),
                              capture_output=True, text=True, timeout=timeout, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(results.read_text())


def _exit_code(stop: SystemExit) -> int:
    if stop.code is None or isinstance(stop.code, int):
        return stop.code or 0
    print(stop.code, file=sys.stderr)
    return 1


def _child(argv: list[str], out: Path, err: Path):
    code = 1
    try:
        with open(out, "w") as o, open(err, "w") as e:
            os.dup2(o.fileno(), 1)
            os.dup2(e.fileno(), 2)
        sys.argv = list(argv)
        sys.path[0] = str(Path(argv[0]).resolve().parent)
        try:
            runpy.run_path(argv[0], run_name="__main__")
            code = 0
        except SystemExit as stop:
            code = _exit_code(stop)
    except Exception:  # noqa: BLE001 - an uncaught error: its traceback, exit code 1
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _main(results: Path):
    import chainrule  # noqa: F401

    commands = json.load(sys.stdin)
    done = []
    for i, argv in enumerate(commands):
        out, err = results.parent / f"{i}.out", results.parent / f"{i}.err"
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(argv, out, err)
        _, status = os.waitpid(pid, 0)
        done.append({"returncode": os.waitstatus_to_exitcode(status), "stdout": out.read_text(),
                     "stderr": err.read_text()})
    results.write_text(json.dumps(done))


if __name__ == "__main__":
    _main(Path(sys.argv[1]))
