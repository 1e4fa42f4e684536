"""Where the time of a training step goes: LeNet-5 under ``chainrule.profiler``.

A few SGD steps of LeNet-5 on random 28x28 images run under PyTorch's profiler API: a schedule
skips the first step (wait), warms up on the second and records the next ``--active`` steps, with
input shapes, the bytes each op returns and the flops of the convolutions and linear layers. The
table lists the ops (``ConvNd``, ``Linear``...), the backward nodes (``ConvNdBackward0``...), the
Module calls and the optimizer step, most self time first; ``--trace`` also writes the recorded
steps as a Chrome trace (open it in chrome://tracing or https://ui.perfetto.dev).

    python examples/profile_training.py --active 2 --trace lenet5_trace.json
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr
from chainrule import F
from chainrule.profiler import ProfilerActivity, profile, record_function, schedule


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16, help="images per step")
    parser.add_argument("--active", type=int, default=2, help="steps recorded")
    parser.add_argument("--rows", type=int, default=15, help="rows of the table")
    parser.add_argument("--sort-by", default="self_cpu_time_total", help="the table's order")
    parser.add_argument("--trace", help="also write the recorded steps as a Chrome trace here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("batch", "active", "rows"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")

    rng = np.random.default_rng(args.seed)
    model = cr.models.LeNet5(rng=rng)
    opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = cr.tensor(rng.standard_normal((args.batch, 1, 28, 28)).astype(np.float32))
    y = cr.tensor(rng.integers(0, 10, args.batch))
    reports = []

    def report(prof):  # on_trace_ready: once, when the active steps are done
        reports.append(prof.key_averages())
        if args.trace:
            prof.export_chrome_trace(args.trace)

    plan = schedule(wait=1, warmup=1, active=args.active, repeat=1)
    losses = []
    with profile(activities=[ProfilerActivity.CPU], schedule=plan, on_trace_ready=report,
                 record_shapes=True, profile_memory=True, with_flops=True,
                 with_modules=True) as prof:
        for _ in range(2 + args.active):
            with record_function("forward"):
                loss = F.cross_entropy(model(x), y)
            with record_function("backward"):
                opt.zero_grad()
                loss.backward()
            opt.step()
            losses.append(loss.item())
            prof.step()
    averages = reports[0]
    print(averages.table(sort_by=args.sort_by, row_limit=args.rows))
    counts = {e.key: e.count for e in averages}
    return {"losses": losses, "counts": counts, "reports": len(reports),
            "self_cpu_time_total": averages.self_cpu_time_total}


if __name__ == "__main__":
    main()
