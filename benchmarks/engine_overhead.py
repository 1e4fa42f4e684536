"""Engine overhead: chainrule vs PyTorch on the CPU, in the same process.

Two workloads:

* chain: a chain of small-tensor ops (shape (4,), mul and add alternating), forward and backward.
  The arrays are tiny, so the time is almost all bookkeeping: recording nodes, ordering the graph,
  calling each backward. Reported per op.
* mlp_step: one training step of a 784-256-256-10 ReLU MLP written with raw ops (matmul, add, relu,
  cross_entropy), batch 128, float32: forward, loss, backward and a plain SGD update.

Each measurement is repeated ``--repeats`` times after ``--warmup`` untimed runs, interleaving
the frameworks (chainrule, torch, chainrule, torch, ...) so that machine noise hits both alike; the
table shows medians and the ratio chainrule / torch. PyTorch is optional: without it, n/a.

    python benchmarks/engine_overhead.py --repeats 9
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

import chainrule as cr
from chainrule import F

try:
    import torch
except ImportError:  # the oracle is optional
    torch = None

LEARNING_RATE = 0.01
SIZES = (784, 256, 256, 10)


def chainrule_chain(n_ops: int, rng: np.random.Generator):
    """A closure running the chain forward and backward once."""
    x = cr.tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True)
    c = cr.tensor(rng.uniform(0.9, 1.1, 4).astype(np.float32))
    d = cr.tensor(rng.uniform(-0.1, 0.1, 4).astype(np.float32))
    seed = np.ones(4, dtype=np.float32)

    def run():
        y = x
        for i in range(n_ops):
            y = y * c if i % 2 == 0 else y + d
        x.grad = None
        y.backward(seed)

    return run


def torch_chain(n_ops: int, rng: np.random.Generator):
    x = torch.tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True)
    c = torch.tensor(rng.uniform(0.9, 1.1, 4).astype(np.float32))
    d = torch.tensor(rng.uniform(-0.1, 0.1, 4).astype(np.float32))
    seed = torch.ones(4)

    def run():
        y = x
        for i in range(n_ops):
            y = y * c if i % 2 == 0 else y + d
        x.grad = None
        y.backward(seed)

    return run


def mlp_data(batch: int, rng: np.random.Generator):
    """Initial weights (fan_in, fan_out) and one batch, as float32 NumPy arrays."""
    weights = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        weights.append(rng.normal(0, np.sqrt(2 / fan_in), (fan_in, fan_out)).astype(np.float32))
        weights.append(np.zeros(fan_out, dtype=np.float32))
    x = rng.random((batch, SIZES[0]), dtype=np.float32)
    t = rng.integers(0, SIZES[-1], batch)
    return weights, x, t


def chainrule_mlp_step(batch: int, rng: np.random.Generator):
    weights, x_np, t_np = mlp_data(batch, rng)
    params = [cr.tensor(w, requires_grad=True) for w in weights]
    x, t = cr.tensor(x_np), cr.tensor(t_np)

    def run():
        h = x
        for i in range(0, len(params) - 2, 2):
            h = F.relu(F.matmul(h, params[i]) + params[i + 1])
        logits = F.matmul(h, params[-2]) + params[-1]
        loss = F.cross_entropy(logits, t)
        loss.backward()
        with cr.no_grad():
            for p in params:
                p.data -= LEARNING_RATE * p.grad.data
                p.grad = None

    return run


def torch_mlp_step(batch: int, rng: np.random.Generator):
    weights, x_np, t_np = mlp_data(batch, rng)
    params = [torch.tensor(w, requires_grad=True) for w in weights]
    x, t = torch.from_numpy(x_np), torch.from_numpy(t_np)

    def run():
        h = x
        for i in range(0, len(params) - 2, 2):
            h = torch.relu(h @ params[i] + params[i + 1])
        logits = h @ params[-2] + params[-1]
        loss = torch.nn.functional.cross_entropy(logits, t)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LEARNING_RATE * p.grad
                p.grad = None

    return run


def measure(runners: dict, repeats: int, warmup: int) -> dict:
    """Median seconds per call of each runner, interleaving the runners within each repetition."""
    for run in runners.values():
        for _ in range(warmup):
            run()
    times = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed repetitions (median shown)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before timing")
    parser.add_argument("--chain-length", type=int, default=1000, help="ops in the chain workload")
    parser.add_argument("--batch", type=int, default=128, help="batch size of the MLP step")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0 or args.chain_length < 1 or args.batch < 1:
        parser.error("--repeats, --chain-length and --batch must be >= 1 and --warmup >= 0")
    return args


def _fmt(value, spec=".3f"):
    return "n/a" if value is None else format(value, spec)


def main(argv=None) -> list[dict]:
    """Run both workloads and print the table; returns its rows (times in ms)."""
    args = parse_args(argv)
    workloads = {
        "chain": (chainrule_chain, torch_chain, args.chain_length),
        "mlp_step": (chainrule_mlp_step, torch_mlp_step, args.batch),
    }
    rows = []
    for name, (ours, theirs, size) in workloads.items():
        runners = {"chainrule": ours(size, np.random.default_rng(args.seed))}
        if torch is not None:
            runners["torch"] = theirs(size, np.random.default_rng(args.seed))
        medians = measure(runners, args.repeats, args.warmup)
        ms = medians["chainrule"] * 1e3
        torch_ms = medians["torch"] * 1e3 if "torch" in medians else None
        rows.append({
            "workload": name,
            "chainrule_ms": ms,
            "torch_ms": torch_ms,
            "ratio": None if torch_ms is None else ms / torch_ms,
        })

    torch_info = "not installed" if torch is None else (
        f"{torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch_info}")
    print(f"median of {args.repeats} interleaved repetitions after {args.warmup} warm-up runs\n")
    labels = {
        "chain": f"chain of {args.chain_length} ops on (4,), fwd+bwd",
        "mlp_step": f"MLP {'-'.join(map(str, SIZES))} step, batch {args.batch}",
    }
    print(f"{'workload':<44} {'chainrule ms':>12} {'torch ms':>10} {'ratio':>7}")
    for row in rows:
        print(f"{labels[row['workload']]:<44} {row['chainrule_ms']:>12.3f} "
              f"{_fmt(row['torch_ms']):>10} {_fmt(row['ratio'], '.2f'):>7}")
    chain = rows[0]
    n = args.chain_length
    per_op = chain["chainrule_ms"] * 1e3 / n
    torch_per_op = None if chain["torch_ms"] is None else chain["torch_ms"] * 1e3 / n
    print(f"\nper op of the chain: chainrule {per_op:.2f} us, torch {_fmt(torch_per_op, '.2f')} us")
    return rows


if __name__ == "__main__":
    main()
