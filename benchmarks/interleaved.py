"""One workload, one process, fast routes switched off and on in alternating blocks of steps.

    python benchmarks/interleaved.py conv_ae --blocks 10
    python benchmarks/interleaved.py lenet5 --modes all,none,no_crop --threads 1

Builds the chainrule step of a workload once (``workloads.make_runner``) and times blocks of
``--steps`` steps with each mode in turn, ``--blocks`` times: modes run interleaved in one process,
so the machine's slow drifts fall on all of them alike. Prints each mode's median ms per step and
the median over blocks of its ratio to the first mode. The modes switch the routes of issue 22
(docs/performance.md, "The conv autoencoder's memory passes"):

- ``all``: every fast route (the library as it is);
- ``none``: all of the following off;
- ``no_im2col``: im2col through the padded copy (``backend.jit.im2col`` unbound);
- ``no_crop``: col2im into the padded image, cropped, then the bias (``jit.col2im_crop`` unbound);
- ``no_cs``: channel sums as NumPy row sums instead of a product with ones;
- ``no_mse``: ``mse_loss`` as the composition of its operations instead of one node.

The BLAS thread count (``--threads``) is set through the environment before NumPy loads, and
held with threadpoolctl while the blocks run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

MODES = ("all", "none", "no_im2col", "no_crop", "no_cs", "no_mse")


def _switches():
    """mode -> a function that sets the library's routes for it."""
    import chainrule as cr
    from chainrule.backend import jit
    from chainrule.kernels import K, convolution, layout
    from chainrule.ops import loss

    if not jit.enabled():
        raise SystemExit("interleaved.py: the modes switch numba kernels; install numba")
    kernels = {name: getattr(jit, name) for name in ("im2col", "col2im_crop")}
    channel_sums, mse = K.channel_sums, cr.F.mse_loss

    def row_sums(g):
        rows = layout.memory_order(g)
        if not rows.flags.c_contiguous:
            return convolution.channel_sums_reference(g)
        return rows.reshape(rows.shape[0], -1).sum(axis=1)

    def composed_mse(x, t, reduction="mean"):
        d = x - t
        return loss._reduce(d * d, reduction)

    def choose(mode):
        off = {"none": {"im2col", "crop", "cs", "mse"}}.get(mode, {mode[3:]} if mode != "all"
                                                           else set())
        jit.im2col = None if "im2col" in off else kernels["im2col"]
        jit.col2im_crop = None if "crop" in off else kernels["col2im_crop"]
        K.channel_sums = row_sums if "cs" in off else channel_sums
        cr.F.mse_loss = composed_mse if "mse" in off else mse

    return choose


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload")
    parser.add_argument("--modes", default="all,none,no_im2col,no_crop,no_cs,no_mse",
                        help=f"comma-separated, the first is the baseline ({', '.join(MODES)})")
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20, help="steps per block")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    modes = args.modes.split(",")
    for m in modes:
        if m not in MODES:
            parser.error(f"unknown mode {m!r}; expected some of {', '.join(MODES)}")
    if "numpy" not in sys.modules:  # run as a script: BLAS reads these when NumPy loads
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=args.threads, user_api="blas"):
        _measure(args, modes)


def _measure(args, modes) -> None:
    import workloads

    choose = _switches()
    runner = workloads.make_runner("chainrule", args.workload)

    def block(mode):
        choose(mode)
        start = time.perf_counter()
        for _ in range(args.steps):
            runner.step()
        return (time.perf_counter() - start) / args.steps * 1e3

    for _ in range(2):  # warm-up: compile, fill malloc's heap
        for m in modes:
            block(m)
    times = {m: [] for m in modes}
    for _ in range(args.blocks):
        for m in modes:
            times[m].append(block(m))
    choose("all")
    base = times[modes[0]]
    print(f"{args.workload}, {args.threads} threads, {args.blocks} blocks of {args.steps} steps, "
          f"load {os.getloadavg()[0]:.2f}")
    for m in modes:
        ratio = statistics.median(t / b for t, b in zip(times[m], base, strict=True))
        print(f"  {m:10s} {statistics.median(times[m]):8.3f} ms  {ratio:.3f}")


if __name__ == "__main__":
    main()
