"""How much of chainrule a learner steps through: one call of each path, traced with sys.settrace.

For each path (a layer's forward + backward, a small expression, an optimizer step, one LeNet-5
training step) this counts the distinct source files, functions and lines *of chainrule* that
one call executes: the measure of issue 16 (item 3), whose table it reproduces.

How it measures:

- numba off: ``chainrule.config.jit = False`` while measuring (restored afterwards), so every op
  takes its NumPy path. The models are not fused (``nn.fuse``): each layer runs as written.
- Each path is built, then called once untraced (the warm-up: one-time imports, caches and an
  optimizer's state allocation do not count), then called exactly once under ``sys.settrace``.
  Building the inputs and resetting gradients between calls happen outside the trace. A layer's
  input is data (it does not require grad, as for a first layer); the input gradients of inner
  layers run in the LeNet-5 step.
- Only frames whose file lies inside the chainrule package count. Files are reported relative to
  ``src/chainrule``, functions as ``file:qualname``; lines are distinct (file, line) pairs that
  ran. Comprehensions and nested functions count as functions (a debugger steps into them too).
  Functions in C (NumPy, BLAS) are not Python frames and are not seen.
- The garbage collector is paused during the traced call, so a finalizer that happens to run
  cannot add to the count.
- ``--reference`` traces inside ``chainrule.reference_mode()``, where every op runs its plain
  reference kernels (``chainrule.kernels``): the code docs/autograd.md walks through.

Usage::

    python tools/trace_path.py                       # every path: counts and the busiest files
    python tools/trace_path.py --markdown            # the table in docs/architecture.md
    python tools/trace_path.py --paths linear exp --list   # every function each path runs
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Run as a script, measure the chainrule beside this file (not another installed copy).
_SRC = Path(__file__).resolve().parents[1] / "src"
if _SRC.is_dir() and str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402

PACKAGE = Path(cr.__file__).resolve().parent


@dataclass(frozen=True)
class TracedPath:
    """One path to trace: its name on the command line, its row label and the code it runs."""

    name: str
    label: str
    code: str
    build: Callable[[np.random.Generator], tuple[Callable[[], None], Callable[[], None]]]


def _tensor(rng, shape, *, requires_grad=False):
    return cr.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=requires_grad)


def _linear(rng):
    layer = cr.nn.Linear(64, 32, rng=rng)
    x = _tensor(rng, (16, 64))
    return layer.zero_grad, lambda: layer(x).sum().backward()


def _conv2d(rng):
    layer = cr.nn.Conv2d(3, 8, 3, padding=1, rng=rng)
    x = _tensor(rng, (4, 3, 16, 16))
    return layer.zero_grad, lambda: layer(x).sum().backward()


def _exp(rng):
    x = _tensor(rng, (1000,), requires_grad=True)

    def prepare():
        x.grad = None

    return prepare, lambda: (x * 2).exp().sum().backward()


def _adam(rng):
    layer = cr.nn.Linear(64, 32, rng=rng)
    layer(_tensor(rng, (16, 64))).sum().backward()
    opt = cr.optim.Adam(layer.parameters(), lr=1e-3)
    return (lambda: None), opt.step


def _lenet5(rng):
    model = cr.models.LeNet5(rng=rng)
    model.train()
    opt = cr.optim.SGD(model.parameters(), lr=0.01)
    x = _tensor(rng, (8, 1, 28, 28))
    y = cr.tensor(rng.integers(0, 10, size=8))

    def step():
        opt.zero_grad()
        loss = cr.F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return (lambda: None), step


PATHS = {p.name: p for p in [
    TracedPath("linear", "`nn.Linear` forward + backward",
               "Linear(64, 32)(x).sum().backward(), x a (16, 64) batch of data", _linear),
    TracedPath("conv2d", "`nn.Conv2d` forward + backward",
               "Conv2d(3, 8, 3, padding=1)(x).sum().backward(), x a (4, 3, 16, 16) batch of data",
               _conv2d),
    TracedPath("exp", "`(x*2).exp().sum().backward()`",
               "(x * 2).exp().sum().backward(), x (1000,) requiring grad", _exp),
    TracedPath("adam", "`Adam.step()`",
               "Adam(Linear(64, 32).parameters()).step(), gradients set, state allocated", _adam),
    TracedPath("lenet5", "one LeNet-5 SGD step",
               "models.LeNet5() in train mode, SGD(lr=0.01), a batch of 8 (1, 28, 28) inputs: "
               "zero_grad, cross_entropy(model(x), y).backward(), step", _lenet5),
]}


@dataclass
class Result:
    """What one traced call of a path ran: chainrule's functions (file:qualname) and lines."""

    path: TracedPath
    functions: list[str]
    lines: int

    @property
    def files(self) -> list[str]:
        return sorted({f.split(":", 1)[0] for f in self.functions})

    def functions_per_file(self) -> list[tuple[str, int]]:
        """(file, number of its functions that ran), most first."""
        counts = Counter(f.split(":", 1)[0] for f in self.functions)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    def functions_per_package(self) -> list[tuple[str, int]]:
        """(subpackage such as ops or autograd, number of its functions that ran), most first."""
        counts = Counter(f.split("/", 1)[0] if "/" in f.split(":", 1)[0] else "chainrule"
                         for f in self.functions)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


class _Tracer:
    """A sys.settrace hook that records the functions and lines run inside the package."""

    def __init__(self, package: Path):
        self.prefix = str(package) + os.sep
        self.relative: dict[str, str | None] = {}
        self.functions: set[str] = set()
        self.lines: set[tuple[str, int]] = set()

    def _file(self, filename: str) -> str | None:
        if filename not in self.relative:
            path = os.path.realpath(filename)
            inside = path.startswith(self.prefix)
            self.relative[filename] = (Path(path).relative_to(self.prefix).as_posix()
                                       if inside else None)
        return self.relative[filename]

    def __call__(self, frame, event, arg):
        if event != "call":
            return None
        code = frame.f_code
        file = self._file(code.co_filename)
        if file is None:
            return None
        self.functions.add(f"{file}:{getattr(code, 'co_qualname', code.co_name)}")
        return self._line

    def _line(self, frame, event, arg):
        if event == "line":
            self.lines.add((self._file(frame.f_code.co_filename), frame.f_lineno))
        return self._line


def trace_once(call: Callable[[], None], package: Path = PACKAGE) -> tuple[list[str], int]:
    """Run ``call`` once under sys.settrace: (sorted functions run in ``package``, lines)."""
    tracer = _Tracer(package)
    previous, gc_was_on = sys.gettrace(), gc.isenabled()
    gc.collect()
    gc.disable()
    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(previous)
        if gc_was_on:
            gc.enable()
    return sorted(tracer.functions), len(tracer.lines)


@contextlib.contextmanager
def _measuring(reference: bool):
    """numba off (and reference mode when asked) for the duration; the settings come back after."""
    jit = cr.config.jit
    cr.config.jit = False
    try:
        with cr.reference_mode() if reference else contextlib.nullcontext():
            yield
    finally:
        cr.config.jit = jit


def measure(names=None, *, reference: bool = False, seed: int = 0) -> list[Result]:
    """Trace one warmed-up call of each named path (all of them by default)."""
    results = []
    with _measuring(reference):
        for name in names or PATHS:
            path = PATHS[name]
            prepare, call = path.build(np.random.default_rng(seed))
            prepare()
            call()  # the warm-up: one-time imports, caches and state do not count
            prepare()
            functions, lines = trace_once(call)
            results.append(Result(path, functions, lines))
    return results


def markdown(results: list[Result]) -> str:
    """The issue's table: files, functions and distinct lines, and the functions per package."""
    rows = ["| path | files | functions | lines | functions by package |",
            "| --- | ---: | ---: | ---: | --- |"]
    for r in results:
        packages = ", ".join(f"{package} {count}" for package, count in r.functions_per_package())
        rows.append(f"| {r.path.label} | {len(r.files)} | {len(r.functions)} | {r.lines} "
                    f"| {packages} |")
    return "\n".join(rows)


def report(results: list[Result], *, listing: bool) -> str:
    """Plain text: per path, its code, its counts and functions per file (or every function)."""
    out = []
    for r in results:
        out.append(f"{r.path.name}: {r.path.code}")
        out.append(f"  {len(r.files)} files, {len(r.functions)} functions, {r.lines} lines")
        if listing:
            out.extend(f"    {f}" for f in r.functions)
        else:
            out.extend(f"    {count:3d}  {file}" for file, count in r.functions_per_file())
    return "\n".join(out)


def _setting(reference: bool) -> str:
    mode = "reference mode" if reference else "default mode"
    return (f"chainrule {cr.__version__} ({PACKAGE}), Python {sys.version.split()[0]}, {mode}, "
            "numba off (config.jit = False); each path warmed up once untraced, then one call "
            "traced")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="trace_path.py",
        description="Count the chainrule files, functions and lines one call of each path runs.")
    parser.add_argument("--paths", nargs="+", choices=list(PATHS), metavar="PATH",
                        help=f"paths to trace (default: all): {', '.join(PATHS)}")
    parser.add_argument("--list", action="store_true", dest="listing",
                        help="print every function (file:qualname) each path runs")
    parser.add_argument("--markdown", action="store_true",
                        help="print the Markdown table (as in docs/architecture.md)")
    parser.add_argument("--reference", action="store_true",
                        help="trace inside chainrule.reference_mode() (issue 16, item 3)")
    args = parser.parse_args(argv)
    results = measure(args.paths, reference=args.reference)
    print(_setting(args.reference))
    print()
    if args.markdown:
        print(markdown(results))
        if args.listing:
            print()
    if args.listing or not args.markdown:
        print(report(results, listing=args.listing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
