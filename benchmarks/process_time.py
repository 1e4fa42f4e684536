"""chainrule vs the hand-written NumPy steps in CPU time: one thread, fresh interleaved processes.

    python benchmarks/process_time.py                          # every light workload, 5 rounds
    python benchmarks/process_time.py --workloads mlp,lenet5 --rounds 9
    python benchmarks/process_time.py --src before=/tmp/base/src --src after=src   # two versions
    python benchmarks/process_time.py --threads 2 --clock wall --src before=/tmp/base/src ...

Made for a shared, noisy machine. By default every process runs with one BLAS thread (multithreaded
BLAS spins and thrashes when other processes compete for the cores) and times each step with
``time.process_time``, the CPU time of that process alone, so other processes on the machine
disturb the numbers less than they disturb wall time. On an idle machine, ``--threads 2 --clock
wall`` compares versions the way ``run.py`` measures frameworks. Each round starts one fresh
process per column, in turn (each chainrule version, then the NumPy reference), so that slow drifts
of the machine hit every column alike; a process builds the workload (``workloads.make_runner``),
runs ``--warmup`` untimed steps and then times ``--steps`` steps. The table gives the median ms per
step over all rounds, the ratio to the NumPy reference, and the minor page faults per timed step
(fresh memory touched; see docs/performance.md). ``--src LABEL=PATH`` puts PATH first on the
child's ``sys.path``, so PATH/chainrule is the version measured (e.g. a ``git worktree`` of an
older commit's ``src``); without it the installed chainrule is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS = {"mlp": 60, "lenet5": 15, "conv_ae": 15, "gan": 15, "lenet5_infer_b1": 400,
         "lenet5_infer_b1_traced": 400,
         "lenet5_infer_b1000": 6, "charcnn": 3}
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _worker(framework, name, steps, warmup, clock=time.process_time) -> dict:
    sys.path.insert(0, str(HERE))
    from workloads import make_runner

    runner = make_runner(framework, name)
    for _ in range(warmup):
        runner.step()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    times = []
    for _ in range(steps):
        start = clock()
        runner.step()
        times.append((clock() - start) * 1e3)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return {"ms": times, "faults": faults / steps}


def _run(column, framework, path, name, args) -> dict:
    env = {**os.environ, **{var: str(args.threads) for var in THREAD_VARS}}
    if path:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(path).resolve()),
                                             env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", framework, "--workloads",
           name, "--steps", str(args.steps or STEPS[name]), "--warmup", str(args.warmup),
           "--clock", args.clock]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{column} on {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="mlp,lenet5,conv_ae,gan,lenet5_infer_b1,"
                                                "lenet5_infer_b1000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=None, help="timed steps per process")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--src", action="append", default=[], metavar="LABEL=PATH",
                        help="a chainrule source tree to measure (repeatable)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads (default 1: CPU time then means the process's own work)")
    parser.add_argument("--clock", choices=("process", "wall"), default="process",
                        help="time.process_time (default) or time.perf_counter (for --threads > 1, "
                             "where CPU time adds up the threads)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        clock = time.process_time if args.clock == "process" else time.perf_counter
        print(json.dumps(_worker(args.worker, args.workloads, args.steps, args.warmup, clock)))
        return
    columns = [(label, "chainrule", path) for label, path in
               (s.split("=", 1) for s in args.src)] or [("chainrule", "chainrule", None)]
    columns.append(("numpy", "numpy", None))
    header = " | ".join(f"{label} ms | faults" for label, _, _ in columns)
    ratios = " | ".join(f"{label} / numpy" for label, _, _ in columns[:-1])
    print(f"| workload | {header} | {ratios} |")
    print("|---|" + "--:|" * (2 * len(columns) + len(columns) - 1))
    for name in args.workloads.split(","):
        results = {label: {"ms": [], "faults": []} for label, _, _ in columns}
        for _ in range(args.rounds):
            for label, framework, path in columns:
                res = _run(label, framework, path, name, args)
                results[label]["ms"] += res["ms"]
                results[label]["faults"].append(res["faults"])
        ms = {label: statistics.median(r["ms"]) for label, r in results.items()}
        cells = " | ".join(f"{ms[label]:.3f} | {statistics.median(results[label]['faults']):.0f}"
                           for label, _, _ in columns)
        ratio = " | ".join(f"{ms[label] / ms['numpy']:.2f}" for label, _, _ in columns[:-1])
        print(f"| {name} | {cells} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
