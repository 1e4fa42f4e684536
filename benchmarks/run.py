"""Benchmark runner: chainrule vs PyTorch, NumPy by hand, JAX and tinygrad, each in its own process.

    python benchmarks/run.py                                  # light workloads, 5 rounds, 2 threads
    python benchmarks/run.py --workloads charcnn --repeats 3  # the heavy one is opt-in
    python benchmarks/run.py --repeats 1 --warmup 0 --steps 1 --batch 8 --out /tmp/smoke.md
    python benchmarks/run.py --tuned torch,chainrule --steady   # each at its best, and default

For each workload, first a correctness check: one process runs two steps of every framework from
the same init and batch, and a WARNING line is printed if chainrule's losses differ from another
framework's by more than --rtol relative, so that wrong code is never timed unnoticed. Then
--repeats rounds: in each round every framework runs in a fresh subprocess, in turn (chainrule,
torch, numpy, jax, tinygrad, chainrule, ...), with the same thread count (OMP, OpenBLAS and MKL
variables, torch.set_num_threads, XLA's and tinygrad's CPU settings); each does --warmup untimed
steps and then the timed ones. PyTorch, JAX and tinygrad are measured where they are installed.
The table gives the median ms per step over all timed steps of all rounds, the ratios (the median
over rounds of each round's ratio, so that the machine's slow drifts cancel), and the peak RSS of
the worker processes (resource.getrusage in the worker).

Each framework at its best, beside its default: ``--tuned torch`` adds a column "torch+tcmalloc"
whose processes run with a faster C allocator preloaded (``--allocator tcmalloc`` or ``jemalloc``,
Debian's libtcmalloc-minimal4 / libjemalloc2: what PyTorch's performance-tuning guide advises), and
``--steady`` warms every process up until its step time is steady: blocks of steps are timed until
the medians of two successive blocks agree within 3% (at most --max-warmup seconds); the table then
says how many warm-up steps each column needed.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the workload modules sit next to this script

from workloads import (  # noqa: E402
    FRAMEWORKS,
    LIGHT,
    WORKLOADS,
    check_outputs,
    gemm_flops,
    make_runner,
    max_relative_error,
)

MARKER = "BENCHMARK-RESULT "
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
RATIOS = ("torch", "numpy", "jax")  # the table's chainrule / X columns
ALLOCATORS = {"tcmalloc": "libtcmalloc_minimal.so.4", "jemalloc": "libjemalloc.so.2"}
_LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64",
                 "/usr/lib", "/usr/local/lib")


# -- inside a worker process ---------------------------------------------------------------------

def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _import_frameworks(frameworks, threads: int) -> dict:
    """Import what ``frameworks`` need, set their threads, and return the versions in use."""
    import numpy as np

    versions = {"numpy": np.__version__}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        versions["blas"] = f"{blas['name']} {blas.get('version', '')}".strip()
    except (AttributeError, KeyError, TypeError):
        versions["blas"] = "unknown"
    if "torch" in frameworks:
        import torch

        torch.set_num_threads(threads)
        versions["torch"] = torch.__version__
    if "jax" in frameworks:
        import jax  # its threads come from the environment (_worker_env)

        versions["jax"] = jax.__version__
    if "tinygrad" in frameworks:
        from importlib.metadata import version

        from tinygrad import Device

        versions["tinygrad"] = f"{version('tinygrad')} ({Device.DEFAULT} device)"
    if "chainrule" in frameworks:
        import chainrule

        versions["chainrule"] = chainrule.__version__
    return versions


def _sgemm_peak(n: int = 2048, repeats: int = 7) -> float:
    """NumPy's float32 matrix product at its best here, in GFLOP/s (n x n x n, best of repeats)."""
    import numpy as np

    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b, out = a.copy(), np.empty_like(a)
    np.matmul(a, b, out=out)  # warm up: threads started, pages touched
    best = min(_timed(lambda: np.matmul(a, b, out=out)) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _worker(args) -> dict:
    if args.worker == "peak":
        return {"sgemm_gflops": _sgemm_peak()}
    if args.worker == "check":
        frameworks = [f for f in args.frameworks if not _missing(f)]
        _import_frameworks(frameworks, args.threads)
        outs = check_outputs(args.workload, frameworks, batch=args.batch, seed=args.seed)
        errors = {}
        if "chainrule" in outs:
            for other in FRAMEWORKS[1:]:
                if other in outs:
                    errors[f"chainrule vs {other}"] = max_relative_error(outs["chainrule"],
                                                                         outs[other])
        losses = {fw: [[float(a.ravel()[0]) for a in step] for step in steps]
                  for fw, steps in outs.items()}
        return {"errors": errors, "first_values": losses}
    versions = _import_frameworks([args.worker], args.threads)
    import_rss = _peak_rss_mib()
    runner = make_runner(args.worker, args.workload, batch=args.batch, seed=args.seed)
    for _ in range(args.warmup):
        runner.step()
    warmed = args.warmup + (_warm_until_steady(runner, args.steps, args.max_warmup)
                            if args.steady else 0)
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        runner.step()
        times.append((time.perf_counter() - start) * 1e3)
    return {"times_ms": times, "peak_rss_mib": _peak_rss_mib(), "import_rss_mib": import_rss,
            "versions": versions, "warmup_steps": warmed}


def _warm_until_steady(runner, steps: int, max_seconds: float, tol: float = 0.03) -> int:
    """Run untimed blocks of steps until the medians of two successive blocks agree within
    ``tol`` (relative), or ``max_seconds`` pass; returns the number of steps run."""
    block = max(5, steps // 4)
    start, previous, done = time.perf_counter(), None, 0
    while True:
        times = []
        for _ in range(block):
            t0 = time.perf_counter()
            runner.step()
            times.append(time.perf_counter() - t0)
        done += block
        median = statistics.median(times)
        if previous is not None and abs(median - previous) <= tol * previous:
            return done
        if time.perf_counter() - start > max_seconds:
            return done
        previous = median


# -- in the parent -------------------------------------------------------------------------------

def _installed(framework: str) -> bool:
    return framework in ("chainrule", "numpy") or importlib.util.find_spec(framework) is not None


def _missing(framework: str) -> str:
    """Why ``framework`` cannot be measured here ('' when it can)."""
    if not _installed(framework):
        return f"{framework} is not installed"
    if framework == "tinygrad" and shutil.which(os.environ.get("CC", "clang")) is None:
        return "tinygrad's CPU backend compiles its kernels with clang, which is not on PATH"
    return ""


def _worker_env(threads: int) -> dict:
    """The environment of a worker: every framework's thread settings, which are read at import."""
    env = {**os.environ, **{var: str(threads) for var in THREAD_VARS}}
    # JAX: XLA's CPU client sizes its thread pool from PJRT_NPROC; with one thread, Eigen's
    # matmuls and convolutions are also compiled single-threaded (the flag last given wins)
    multi = "true" if threads > 1 else "false"
    env["PJRT_NPROC"] = str(threads)
    env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_cpu_multi_thread_eigen={multi}".strip()
    # tinygrad: its CPU kernels are split into NUM_CPU_THREADS parts; PARALLEL=0 compiles them in
    # the worker itself instead of a pool of processes whose memory the worker's RSS would miss
    env["NUM_CPU_THREADS"], env["PARALLEL"] = str(threads), "0"
    return env


def allocator_library(name: str) -> str:
    """The path of allocator ``name``'s shared library (for LD_PRELOAD), or a SystemExit saying
    how to install it."""
    for folder in _LIBRARY_DIRS:
        path = Path(folder) / ALLOCATORS[name]
        if path.exists():
            return str(path)
    package = {"tcmalloc": "libtcmalloc-minimal4", "jemalloc": "libjemalloc2"}[name]
    raise SystemExit(f"run.py: --allocator {name}: {ALLOCATORS[name]} not found in "
                     f"{', '.join(_LIBRARY_DIRS)}; install it (apt-get install {package})")


def _column(name: str) -> tuple[str, str | None]:
    """A table column's framework and preloaded allocator: "torch+tcmalloc" -> (torch, tcmalloc)."""
    framework, _, allocator = name.partition("+")
    return framework, allocator or None


def _spawn(role, name, args, batch, steps):
    """Run one worker (``role`` a column, "check" or "peak"); its result dict, or {"error": ...}."""
    role, allocator = _column(role)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", role, "--workload", name,
           "--batch", str(batch), "--steps", str(steps), "--warmup", str(args.warmup),
           "--threads", str(args.threads), "--seed", str(args.seed),
           "--frameworks", ",".join(args.frameworks)]
    if args.steady and role in FRAMEWORKS:
        cmd += ["--steady", "--max-warmup", str(args.max_warmup)]
    env = _worker_env(args.threads)
    if allocator is not None:
        env["LD_PRELOAD"] = " ".join(filter(None, [allocator_library(allocator),
                                                   env.get("LD_PRELOAD", "")]))
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {"error": f"exit status {done.returncode}: {tail}"}


def _check(name, args, batch) -> str:
    res = _spawn("check", name, args, batch, 1)
    if "error" in res:
        print(f"WARNING: {name}: the correctness check failed to run ({res['error']})")
        return "error"
    bad = {pair: e for pair, e in res["errors"].items() if not e <= args.rtol}
    summary = ", ".join(f"{pair} {e:.1e}" for pair, e in res["errors"].items())
    if bad:
        for pair, e in bad.items():
            print(f"WARNING: {name}: {pair} differ by {e:.2e} relative (> {args.rtol:g}) in the "
                  f"first two steps' outputs {res['first_values']}: timings may be of wrong code")
        return "MISMATCH"
    print(f"check {name}: max relative difference {summary or 'n/a'} (<= {args.rtol:g}): ok")
    return "ok"


def _measure(name, args) -> dict:
    w = WORKLOADS[name]
    batch = args.batch or w.batch
    steps = args.steps or w.steps
    row = {"workload": name, "title": w.title, "batch": batch, "steps": steps,
           "check": "skipped", "ms": {}, "rss": {}, "import_rss": {}, "errors": []}
    if not args.no_check:
        row["check"] = _check(name, args, batch)
    times = {fw: [] for fw in args.columns}
    rounds = {fw: {} for fw in args.columns}  # round -> that process's median
    row["warmup"] = {}
    for r in range(args.repeats):
        for fw in args.columns:
            res = _spawn(fw, name, args, batch, steps)
            if "error" in res:
                row["errors"].append(f"{fw} round {r + 1}: {res['error']}")
                print(f"ERROR: {name} {fw} round {r + 1}: {res['error']}")
                continue
            times[fw] += res["times_ms"]
            rounds[fw][r] = statistics.median(res["times_ms"])
            row["rss"][fw] = max(row["rss"].get(fw, 0.0), res["peak_rss_mib"])
            row["import_rss"][fw] = max(row["import_rss"].get(fw, 0.0), res["import_rss_mib"])
            row["warmup"][fw] = max(row["warmup"].get(fw, 0), res.get("warmup_steps", 0))
            args.versions.update(res["versions"])
    row["ms"] = {fw: statistics.median(ts) for fw, ts in times.items() if ts}
    # Ratios within a round (processes run back to back), then their median over rounds: the
    # machine's speed drifts by up to 1.5x over minutes, and a drift between rounds cancels here.
    row["gflop"] = gemm_flops(name, batch) / 1e9
    row["ratio"], row["ratio_range"] = {}, {}
    for fw in _ratio_columns(args):
        both = [r for r in rounds.get("chainrule", {}) if r in rounds.get(fw, {})]
        if both:
            per_round = [rounds["chainrule"][r] / rounds[fw][r] for r in both]
            row["ratio"][fw] = statistics.median(per_round)
            row["ratio_range"][fw] = (min(per_round), max(per_round))
    ms = row["ms"]
    print(f"{name} (batch {batch}): " + ", ".join(f"{fw} {_ms(ms.get(fw))} ms"
                                                  for fw in _table_columns(args)))
    return row


def _table_columns(args) -> list[str]:
    """Every framework (n/a where not run), then the tuned columns."""
    return [*FRAMEWORKS, *(c for c in args.columns if c not in FRAMEWORKS)]


def _ratio_columns(args) -> list[str]:
    """The chainrule / X columns: PyTorch, NumPy and JAX, then each tuned column but chainrule's
    own (chainrule+tcmalloc / chainrule reads as chainrule / that column: inverted below)."""
    return [*RATIOS, *(c for c in args.columns if c not in FRAMEWORKS)]


def _ms(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.3f}"


def _ratio(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _machine() -> str:
    model, logical = platform.processor() or "unknown CPU", os.cpu_count()
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        names = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")]
        model, logical = (names[0], len(names)) if names else (model, logical)
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else logical
    return f"{model}, {logical} logical cores ({usable} usable), {platform.platform()}"


def _git() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=HERE, text=True,
                               capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (with uncommitted changes)" if dirty else "")


def _version(versions, framework) -> str:
    if framework in versions:
        return versions[framework]
    return "not run" if _installed(framework) else "not installed"


def publish(text: str, out) -> None:
    """Print a results table and, unless ``out`` is "-" or None, write it to ``out`` atomically
    (a temporary file and a rename: an interrupted run never leaves half a table)."""
    from chainrule.backend.files import write_atomically

    print("\n" + text)
    if out not in ("-", None):
        write_atomically(str(out), text.encode(), make_folder=True)
        print(f"written to {out}")


def report(rows, args, command) -> str:
    """The Markdown results: setup, one line per workload, memory."""
    v = args.versions
    columns, ratios = _table_columns(args), _ratio_columns(args)
    header = ["workload", "batch", "timed steps", *(f"{fw} ms" for fw in columns),
              *(f"chainrule / {fw}" for fw in ratios), "check"]
    lines = [
        "# chainrule benchmark results", "",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- command: `{command}`",
        f"- machine: {_machine()}",
        f"- Python {platform.python_version()}, NumPy {v.get('numpy', '?')} "
        f"(BLAS: {v.get('blas', '?')}), torch {_version(v, 'torch')}, JAX {_version(v, 'jax')}, "
        f"tinygrad {_version(v, 'tinygrad')}, chainrule {v.get('chainrule', '?')} at commit "
        f"{_git()}",
        f"- threads: {args.threads} ({', '.join(THREAD_VARS[:3])}, torch.set_num_threads; "
        "JAX: PJRT_NPROC, --xla_cpu_multi_thread_eigen; tinygrad: NUM_CPU_THREADS)",
        f"- protocol: rounds: {args.repeats}; in each, every column runs in a fresh process "
        f"(interleaved {', '.join(args.columns)}): warm-up steps: {args.warmup}"
        + (f", then until steady (two successive blocks' medians within 3%, at most "
           f"{args.max_warmup:g} s)" if args.steady else "")
        + ", then the timed steps; ms: median over all timed steps; chainrule / X: median over "
        "rounds of the ratio of the two processes' medians in that round; float32"
        + (f"; X+{args.allocator}: X with {ALLOCATORS[args.allocator]} preloaded (LD_PRELOAD)"
           if args.tuned else ""),
        "",
        "| " + " | ".join(header) + " |",
        "|---|--:|--:|" + "--:|" * (len(columns) + len(ratios)) + "---|",
    ]
    for row in rows:
        ms = row["ms"]
        n = len(row["errors"])
        cells = [f"{row['workload']}: {row['title']}", row["batch"], row["steps"] * args.repeats,
                 *(_ms(ms.get(fw)) for fw in columns),
                 *(_ratio(row["ratio"].get(fw)) for fw in ratios),
                 row["check"] + (f", {n} failed runs" if n else "")]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    lines += ["", "The ratios' spread: the lowest and highest chainrule / X over the rounds (how "
              "far one round's pair of processes can be from the median):", "",
              "| workload | " + " | ".join(f"chainrule / {fw}" for fw in ratios) + " |",
              "|---|" + "--:|" * len(ratios)]
    for row in rows:
        spread = row.get("ratio_range", {})
        cells = [f"{spread[fw][0]:.2f}-{spread[fw][1]:.2f}" if fw in spread else "n/a"
                 for fw in ratios]
        lines.append(f"| {row['workload']} | " + " | ".join(cells) + " |")
    lines += ["", "Peak RSS of the worker process in MiB (in parentheses: after imports, before "
              "building the workload):", "", "| workload | " + " | ".join(columns) + " |",
              "|---|" + "--:|" * len(columns)]
    for row in rows:
        cells = [f"{row['rss'][fw]:.0f} ({row['import_rss'][fw]:.0f})" if fw in row["rss"]
                 else "n/a" for fw in columns]
        lines.append(f"| {row['workload']} | " + " | ".join(cells) + " |")
    if args.steady:
        lines += ["", "Warm-up steps each column needed to be steady (the most over its rounds):",
                  "", "| workload | " + " | ".join(columns) + " |", "|---|" + "--:|" * len(columns)]
        for row in rows:
            cells = [str(row["warmup"][fw]) if fw in row.get("warmup", {}) else "n/a"
                     for fw in columns]
            lines.append(f"| {row['workload']} | " + " | ".join(cells) + " |")
    peak = getattr(args, "peak", None)
    if peak:
        lines += ["", f"Arithmetic: the matrix products' GFLOP per step (`workloads.gemm_flops`) "
                  f"and the share of NumPy's float32 sgemm peak here ({peak:.0f} GFLOP/s: "
                  f"2048 x 2048 x 2048, {args.threads} threads, best of 7) that each step "
                  "reaches:", "", "| workload | GFLOP | " + " | ".join(columns) + " |",
                  "|---|--:|" + "--:|" * len(columns)]
        for row in rows:
            cells = [f"{100 * row['gflop'] / (row['ms'][fw] / 1e3) / peak:.0f}%"
                     if fw in row["ms"] else "n/a" for fw in columns]
            lines.append(f"| {row['workload']} | {row['gflop']:.3g} | " + " | ".join(cells) + " |")
    lines += ["", "What the workloads are and how to read the numbers: benchmarks/README.md.", ""]
    return "\n".join(lines)


def _names(text, allowed, what, parser):
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        parser.error(f"--{what}: unknown {unknown or text!r}; choose from {', '.join(allowed)}")
    return names


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    heavy = ", ".join(n for n in WORKLOADS if n not in LIGHT)
    parser.add_argument("--workloads", default=",".join(LIGHT),
                        help="comma-separated names, or 'all' (default: every light workload; "
                             f"opt-in: {heavy})")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--repeats", type=int, default=5, help="rounds (fresh processes each)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per process")
    parser.add_argument("--steps", type=int, default=None,
                        help="timed steps per process (default: the workload's own)")
    parser.add_argument("--batch", type=int, default=None,
                        help="override every workload's batch size (for quick checks)")
    parser.add_argument("--threads", type=int, default=2, help="threads for every framework")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rtol", type=float, default=1e-4, help="tolerance of the check")
    parser.add_argument("--no-check", action="store_true", help="skip the correctness check")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per process")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"),
                        help="Markdown file to write ('-': print only)")
    parser.add_argument("--tuned", default="",
                        help="frameworks to run a second time at their best: with --allocator "
                             "preloaded (e.g. torch,chainrule)")
    parser.add_argument("--allocator", choices=sorted(ALLOCATORS), default="tcmalloc",
                        help="the C allocator of the --tuned columns (default: tcmalloc)")
    parser.add_argument("--steady", action="store_true",
                        help="warm every process up until its step time is steady")
    parser.add_argument("--max-warmup", type=float, default=60.0,
                        help="seconds of steady-state warm-up at most (with --steady)")
    parser.add_argument("--worker", choices=[*FRAMEWORKS, "check", "peak"], help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("repeats", "threads", "steps", "batch"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be >= 1, got {value}")
    if args.warmup < 0:
        parser.error(f"--warmup must be >= 0, got {args.warmup}")
    workloads = ",".join(WORKLOADS) if args.workloads == "all" else args.workloads
    args.workloads = _names(workloads, list(WORKLOADS), "workloads", parser)
    args.frameworks = _names(args.frameworks, FRAMEWORKS, "frameworks", parser)
    args.tuned = _names(args.tuned, FRAMEWORKS, "tuned", parser) if args.tuned else []
    if args.max_warmup <= 0:
        parser.error(f"--max-warmup must be > 0, got {args.max_warmup}")
    return args


def main(argv=None) -> list[dict]:
    """Run the benchmarks (or, with the hidden --worker, one worker); returns the table's rows."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.worker:
        print(MARKER + json.dumps(_worker(args)), flush=True)
        return []
    for fw in [fw for fw in args.frameworks if _missing(fw)]:
        print(f"{_missing(fw)}: its column is n/a")
        args.frameworks.remove(fw)
    if not args.frameworks:
        raise SystemExit("run.py: none of the frameworks in --frameworks can run here")
    if args.tuned:
        allocator_library(args.allocator)  # installed? (a clear error before anything runs)
    args.columns = [*args.frameworks,
                    *(f"{fw}+{args.allocator}" for fw in args.tuned if fw in args.frameworks)]
    command = shlex.join(["python", os.path.relpath(__file__), *argv])
    args.versions = {}
    peak = _spawn("peak", args.workloads[0], args, 1, 1)
    args.peak = peak.get("sgemm_gflops")
    if args.peak:
        print(f"sgemm peak with {args.threads} threads: {args.peak:.0f} GFLOP/s")
    rows = [_measure(name, args) for name in args.workloads]
    publish(report(rows, args, command), args.out)
    return rows


if __name__ == "__main__":
    results = main()
    failed = any(r["errors"] or r["check"] in ("MISMATCH", "error") for r in results)
    sys.exit(1 if failed else 0)
