"""The lecture's efficiency claim, measured: one epoch of backpropagation costs O(|D| x w).

    python benchmarks/epoch_cost.py                      # both sweeps, 3 repeats, table + figure
    python benchmarks/epoch_cost.py --quick --out -      # tiny sizes: a check of the plumbing

One epoch of minibatch SGD (batch 64) over |D| examples through an MLP 784-h-h-10 (ReLU, softmax
cross entropy) touches every weight a constant number of times per example: forward, backward,
update. So its time should grow linearly in the number of examples |D| and in the number of
weights w. Two sweeps test that, each on synthetic data (Gaussian inputs, random labels: the
cost does not depend on the values):

- |D| from 1,000 to 16,000 at h = 256 (w = 269,322);
- h from 64 to 1,024 at |D| = 4,000 (w from 55,050 to 1,863,690).

Each epoch is timed in CPU time (``time.process_time``) with one BLAS thread, so that other jobs on
the machine disturb it little; the median of ``--repeats`` epochs (after one untimed epoch) is
kept. A least-squares line through (log size, log seconds) gives each sweep's slope: 1 is the
lecture's linear cost; below 1 means a fixed per-step cost (Python, small-matrix overhead) still
weighs at the small end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # the chainrule beside this script

import chainrule as cr  # noqa: E402

BATCH = 64
FULL = {"examples": [1000, 2000, 4000, 8000, 16000], "widths": [64, 128, 256, 512, 1024],
        "width": 256, "n": 4000}
QUICK = {"examples": [128, 256, 512], "widths": [16, 32, 64], "width": 32, "n": 256}


def weights(width: int) -> int:
    """The number of weights and biases of the MLP 784-width-width-10."""
    return 784 * width + width + width * width + width + width * 10 + 10


def epoch_seconds(n: int, width: int, repeats: int, seed: int = 0) -> float:
    """Median CPU seconds of one SGD epoch over ``n`` synthetic examples (after one untimed)."""
    rng = np.random.default_rng(seed)
    model = cr.nn.fuse(cr.models.MLP((784, width, width, 10), rng=rng))
    opt = cr.optim.SGD(model.parameters(), lr=0.01)
    x = rng.standard_normal((n, 784)).astype(np.float32)
    y = rng.integers(0, 10, n)
    times = []
    for r in range(repeats + 1):
        start = time.process_time()
        for i in range(0, n, BATCH):
            opt.zero_grad()
            loss = cr.F.cross_entropy(model(cr.tensor(x[i:i + BATCH])), cr.tensor(y[i:i + BATCH]))
            loss.backward()
            opt.step()
        if r:  # the first epoch warms up (kernels compiled, memory touched)
            times.append(time.process_time() - start)
    return statistics.median(times)


def slope(sizes, seconds) -> float:
    """The least-squares slope of log(seconds) against log(size)."""
    lx, ly = np.log(np.asarray(sizes, float)), np.log(np.asarray(seconds, float))
    return float(np.polyfit(lx, ly, 1)[0])


def measure(config: dict, repeats: int) -> dict:
    """Both sweeps: {"examples": [(n, w, s)...], "widths": [(n, w, s)...], slopes}."""
    by_examples = [(n, weights(config["width"]), epoch_seconds(n, config["width"], repeats))
                   for n in config["examples"]]
    by_width = [(config["n"], weights(h), epoch_seconds(config["n"], h, repeats))
                for h in config["widths"]]
    return {"examples": by_examples, "widths": by_width,
            "slope_examples": slope([r[0] for r in by_examples], [r[2] for r in by_examples]),
            "slope_weights": slope([r[1] for r in by_width], [r[2] for r in by_width])}


def report(result: dict, command: str) -> str:
    lines = ["# One epoch costs O(|D| x w): measured", "",
             f"- command: `{command}`",
             f"- chainrule {cr.__version__}, one BLAS thread, CPU time, batch {BATCH}, "
             "MLP 784-h-h-10 fused (`nn.fuse`), SGD", "",
             "| sweep | examples | weights | epoch s | s per (example x weight) |",
             "|---|--:|--:|--:|--:|"]
    for name, rows in (("examples", result["examples"]), ("weights", result["widths"])):
        for n, w, s in rows:
            lines.append(f"| {name} | {n} | {w} | {s:.3f} | {s / (n * w):.3g} |")
    lines += ["", f"Fitted slopes of log(time): {result['slope_examples']:.2f} against log |D|, "
              f"{result['slope_weights']:.2f} against log w (1: linear).", ""]
    return "\n".join(lines)


def figure(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, key, col, label, fit in ((axes[0], "examples", 0, "training examples |D|",
                                      "slope_examples"),
                                     (axes[1], "widths", 1, "weights w", "slope_weights")):
        xs = [r[col] for r in result[key]]
        ys = [r[2] for r in result[key]]
        ax.loglog(xs, ys, "o-", label=f"measured (slope {result[fit]:.2f})")
        ax.loglog(xs, [ys[0] * x / xs[0] for x in xs], "--", color="grey", label="linear")
        ax.set_xlabel(label)
        ax.set_ylabel("seconds per epoch (CPU)")
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per size (median)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the plumbing")
    parser.add_argument("--out", default=str(HERE / "EPOCH_COST.md"),
                        help="Markdown file to write ('-': print only)")
    parser.add_argument("--figure", default=str(HERE.parent / "docs" / "figures" /
                                                "epoch-cost.png"),
                        help="PNG to write ('-': none)")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    previous = cr.get_num_threads()
    cr.set_num_threads(1)
    try:
        result = measure(QUICK if args.quick else FULL, args.repeats)
    finally:
        cr.set_num_threads(previous)
    text = report(result, "python benchmarks/epoch_cost.py " + " ".join(argv))
    print(text)
    if args.out != "-":
        from chainrule.backend.files import write_atomically

        write_atomically(args.out, text.encode(), make_folder=True)
    if args.figure != "-":
        figure(result, Path(args.figure))
    return result


if __name__ == "__main__":
    main()
