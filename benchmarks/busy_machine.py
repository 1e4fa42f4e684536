"""Training speed on a busy machine: BLAS's old default (a thread per CPU) against "auto".

    python benchmarks/busy_machine.py                        # mlp and gan, 3 rounds: about 3 min
    python benchmarks/busy_machine.py --workloads mlp --repeats 5 --out -
    python benchmarks/busy_machine.py --configs old,one --competitors 0 --out -   # 1 thread idle

A fixed amount of training (``STEPS`` steps of a workload from ``workloads.py``, times
``--scale``, after a few untimed ones) runs in a fresh process, timed by the wall clock, with 0
other CPU-bound processes beside it, with 1, and with one per CPU (each a ``python -c 'while True:
pass'``, started a second before the run so that it is already busy when chainrule looks; or the
counts ``--competitors`` gives). Each run is done in every configuration, one after the other:

- old: a thread per usable CPU (``CHAINRULE_NUM_THREADS`` = the usable CPUs; what OpenBLAS and
  MKL do on their own, and what chainrule did before it chose);
- new: no thread variable at all, so chainrule picks "auto" when it is imported: the usable CPUs
  less those other processes keep busy, at least 1 (``chainrule.backend.threads``);
- one: one thread (not run by default).

The children run without the parent's ``*_NUM_THREADS`` variables. The table gives the median
seconds over ``--repeats`` rounds (the range in brackets), the threads each configuration used,
and how much slower each got than with no other process. Other jobs on the machine blur the
"idle" rows; run it alone for numbers to publish.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the workload modules sit next to this script

from run import _git, _machine, publish  # noqa: E402

STEPS = {"mlp": 400, "gan": 60, "lenet5": 60, "conv_ae": 60}
WARMUP = 5
SPIN = "while True: pass"
CONFIGS = {
    "old": "a BLAS thread per usable CPU (BLAS's own default, chainrule's before it chose)",
    "new": "no thread variable: chainrule's \"auto\" (usable CPUs less busy ones, at least 1, "
           "chosen at import)",
    "one": "one thread",
}


def child(workload: str, steps: int) -> None:
    """Run ``steps`` training steps after a warm-up and print the result as one JSON line."""
    from workloads import make_runner

    import chainrule as cr

    runner = make_runner("chainrule", workload)
    for _ in range(WARMUP):
        runner.step()
    start = time.perf_counter()
    for _ in range(steps):
        runner.step()
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "threads": cr.get_num_threads(),
                      "setting": cr.config.threads}))


def _usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _run_child(workload: str, steps: int, threads: int | None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_NUM_THREADS") and k != "VECLIB_MAXIMUM_THREADS"}
    if threads is not None:
        env["CHAINRULE_NUM_THREADS"] = str(threads)
    done = subprocess.run([sys.executable, __file__, "--child", workload, str(steps)], env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the {workload} run failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(workload: str, steps: int, competitors: int, configs: dict, repeats: int) -> dict:
    """Every configuration beside ``competitors`` spinning processes, interleaved over rounds."""
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(competitors)]
    try:
        if spinners:
            time.sleep(1.0)
        runs = {name: [] for name in configs}
        for _ in range(repeats):
            for name, threads in configs.items():
                runs[name].append(_run_child(workload, steps, threads))
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    time.sleep(0.5)
    return runs


def _median(runs: list) -> float:
    return statistics.median(r["seconds"] for r in runs)


def _cell(runs: list) -> str:
    seconds = [r["seconds"] for r in runs]
    return f"{_median(runs):.2f} ({min(seconds):.2f}-{max(seconds):.2f})"


def _threads(runs: list) -> str:
    return "/".join(map(str, sorted({r["threads"] for r in runs})))


def report(results: dict, args, cpus: int, command: str) -> str:
    """The Markdown page: setup, one row per workload and load, a sentence per workload."""
    names = list(args.configs)
    header = ["workload", "timed steps", "other processes"]
    for name in names:
        header += [f"{name}: threads", f"{name}: s", f"{name} vs none"]
    both = "old" in names and "new" in names
    header += ["new / old"] if both else []
    lines = [
        "# Training beside other processes: BLAS's threads against chainrule's \"auto\"", "",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- command: `{command}`",
        f"- machine: {_machine()}",
        f"- Python {platform.python_version()}, chainrule at commit {_git()}",
        f"- protocol: a fresh process per run: {WARMUP} untimed steps, then the timed steps (wall "
        f"clock); {args.repeats} rounds, the configurations interleaved; other processes: "
        "`python -c 'while True: pass'`, started 1 s before the runs; seconds: median (range); "
        "\"vs none\": the median over that configuration's median with no other process",
        f"- one-minute load average before the runs: {args.load:.2f} (near 0 on an idle machine; "
        "higher, other jobs shared it and the rows with 0 other processes were not idle)",
        "- configurations: " + "; ".join(f"{name}: {CONFIGS[name]}" for name in names),
        "",
        "| " + " | ".join(header) + " |",
        "|---|--:|--:|" + "--:|" * (len(header) - 3),
    ]
    summary = []
    for workload, by_load in results.items():
        idle = {name: _median(by_load[0][name]) for name in names} if 0 in by_load else None
        for competitors, runs in by_load.items():
            cells = [workload, args.steps[workload], competitors]
            for name in names:
                slower = f"{_median(runs[name]) / idle[name]:.2f}x" if idle else "n/a"
                cells += [_threads(runs[name]), _cell(runs[name]), slower]
            if both:
                cells.append(f"{_median(runs['new']) / _median(runs['old']):.2f}")
            lines.append("| " + " | ".join(map(str, cells)) + " |")
        worst = max(by_load)
        if idle and worst:
            slower = ", ".join(f"{name} {_median(by_load[worst][name]) / idle[name]:.1f}x"
                               for name in names)
            summary.append(f"- {workload}: beside {worst} CPU-bound processes on {cpus} CPUs, "
                           "each configuration's time against its time with no other process: "
                           f"{slower}.")
    return "\n".join([*lines, "", *summary, ""])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workloads", default="mlp,gan",
                   help=f"comma-separated, from {', '.join(STEPS)} (default: mlp,gan)")
    p.add_argument("--configs", default="old,new",
                   help=f"comma-separated, from {', '.join(CONFIGS)} (default: old,new)")
    p.add_argument("--competitors", default=None,
                   help="comma-separated counts of other processes (default: 0, 1 and one per CPU)")
    p.add_argument("--repeats", type=int, default=3, help="rounds per load (default 3)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every workload's steps")
    p.add_argument("--out", default=str(HERE / "BUSY.md"), help="Markdown file ('-': print only)")
    p.add_argument("--child", nargs=2, metavar=("WORKLOAD", "STEPS"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0
    cpus = _usable_cpus()
    names = _names(args.workloads)
    configs = _names(args.configs)
    try:
        loads = sorted({int(n) for n in _names(args.competitors)} if args.competitors
                       else {0, 1, cpus})
    except ValueError:
        p.error(f"--competitors: expected counts such as 0,1,2, got {args.competitors!r}")
    bad = [w for w in names if w not in STEPS] + [c for c in configs if c not in CONFIGS]
    if bad or not names or not configs or args.repeats < 1 or args.scale <= 0 or loads[0] < 0:
        p.error(f"unknown workloads or configurations {bad} (workloads: {', '.join(STEPS)}; "
                f"configurations: {', '.join(CONFIGS)}), or --repeats < 1, --scale <= 0 or a "
                "negative count of other processes")
    args.steps = {w: max(1, round(STEPS[w] * args.scale)) for w in names}
    threads = {"old": cpus, "new": None, "one": 1}  # CHAINRULE_NUM_THREADS; None: not set
    args.configs = {c: threads[c] for c in configs}
    results = {}
    args.load = os.getloadavg()[0]
    for workload in names:
        results[workload] = {}
        for competitors in loads:
            print(f"{workload}: {competitors} other processes ...", flush=True)
            results[workload][competitors] = measure(workload, args.steps[workload], competitors,
                                                     args.configs, args.repeats)
    command = "python benchmarks/busy_machine.py " + " ".join(argv or sys.argv[1:])
    publish(report(results, args, cpus, command.strip()), args.out)
    return 0


def _names(text: str) -> list:
    return [part.strip() for part in text.split(",") if part.strip()]


if __name__ == "__main__":
    sys.exit(main())
