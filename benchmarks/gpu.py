"""chainrule on CuPy against PyTorch on CUDA: training-step time on one NVIDIA GPU.

    python benchmarks/gpu.py [--batches 128,1024] [--steps 50] [--repeats 5] [--out FILE]

Three of the lecture's workloads (the MLP 784-256-256-10, LeNet-5 and the conv autoencoder, as in
``workloads.py``) are built in both frameworks from the same weights, checked to give the same
loss, then timed: each repeat runs ``--steps`` training steps and waits for the GPU before reading
the clock. It prints (and with ``--out`` writes) a Markdown table of median ms per step and the
peak GPU memory each framework's allocator held. Needs CuPy, a GPU and PyTorch with CUDA.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np


def _chainrule_model(name, rng):
    import chainrule as cr
    from chainrule import nn

    if name == "mlp":
        return cr.models.MLP((784, 256, 256, 10), rng=rng)
    if name == "lenet":
        return cr.models.LeNet5("modern", rng=rng)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1, rng=rng), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1, rng=rng), nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1, rng=rng), nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1, rng=rng), nn.Sigmoid(),
    )


def _torch_model(name):
    from torch import nn

    class Net(nn.Module):
        """Named parts applied in order: the state-dict keys of chainrule's models."""

        def __init__(self, **parts):
            super().__init__()
            for key, part in parts.items():
                setattr(self, key, part)

        def forward(self, x):
            for part in self.children():
                x = part(x)
            return x

    if name == "mlp":
        return Net(layers=nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(),
                                        nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)))
    if name == "lenet":
        return Net(features=nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 120, 5), nn.ReLU()),
            classifier=nn.Sequential(nn.Flatten(), nn.Linear(120, 84), nn.ReLU(),
                                     nn.Linear(84, 10)))
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())


def _data(name, batch, rng):
    x = rng.uniform(0, 1, (batch, 1, 28, 28)).astype(np.float32)
    t = rng.integers(0, 10, batch)
    return x, (x if name == "conv_ae" else t)


def _training_step(model, loss_fn, x, t, opt, zero_grad):
    """One training step of either framework (they share these method names)."""
    def step():
        zero_grad()
        loss = loss_fn(model(x), t)
        loss.backward()
        opt.step()
        return loss

    return step


def _chainrule_step(name, state, x, t, seed, device):
    import chainrule as cr

    model = _chainrule_model(name, np.random.default_rng(seed))
    model.load_state_dict(state)
    model.to(device)
    xs, ts = cr.tensor(x, device=device), cr.tensor(t, device=device)
    loss_fn = cr.F.mse_loss if name == "conv_ae" else cr.F.cross_entropy
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    step = _training_step(model, loss_fn, xs, ts, opt, opt.zero_grad)
    if device == "cpu":
        return step, lambda loss: loss.item(), lambda: None, lambda: float("nan")
    import cupy

    pool = cupy.get_default_memory_pool()
    return step, lambda loss: loss.item(), cupy.cuda.Device().synchronize, pool.total_bytes


def _torch_step(name, state, x, t, device):
    import torch

    model = _torch_model(name)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})  # copies
    model.to(device)
    xs = torch.from_numpy(x).to(device)
    ts = xs if name == "conv_ae" else torch.from_numpy(t).to(device)
    loss_fn = torch.nn.functional.mse_loss if name == "conv_ae" else \
        torch.nn.functional.cross_entropy
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    step = _training_step(model, loss_fn, xs, ts, opt, lambda: opt.zero_grad(set_to_none=True))
    if device == "cpu":
        return step, lambda loss: loss.item(), lambda: None, lambda: float("nan")
    return step, lambda loss: loss.item(), torch.cuda.synchronize, torch.cuda.max_memory_allocated


def _time(step, sync, steps, repeats, warmup=20):
    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        times.append((time.perf_counter() - start) / steps * 1e3)
    return statistics.median(times)


def measure(name, batch, steps, repeats, seed=0, device="cuda"):
    """Median ms per training step and peak MiB for chainrule (CuPy) and PyTorch (CUDA).

    ``device="cpu"`` runs both on the CPU (no memory figures): a dry run of this script.
    """
    state = {k: v.numpy() for k, v in
             _chainrule_model(name, np.random.default_rng(seed)).state_dict().items()}
    x, t = _data(name, batch, np.random.default_rng(seed + 1))
    ours = _chainrule_step(name, state, x, t, seed, device)
    theirs = _torch_step(name, state, x, t, device)
    first = [read(step()) for step, read, _, _ in (ours, theirs)]
    if abs(first[0] - first[1]) > 1e-4 * max(1.0, abs(first[1])):
        raise AssertionError(f"{name}: first losses differ: chainrule {first[0]}, torch {first[1]}")
    row = {"workload": name, "batch": batch, "loss": first[1]}
    for label, (step, _, sync, peak) in (("chainrule", ours), ("torch", theirs)):
        row[label] = _time(step, sync, steps, repeats)
        row[label + "_mib"] = peak() / 2**20
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="mlp,lenet,conv_ae")
    parser.add_argument("--batches", default="128,1024")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=None)
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                        help="cpu: a dry run of the script on a machine without a GPU")
    args = parser.parse_args(argv)
    import torch

    if args.device == "cuda":
        import cupy

        where = f"GPU: {cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}; " \
            f"CuPy {cupy.__version__}"
    else:
        where = "CPU (dry run)"
    lines = [f"{where}, PyTorch {torch.__version__}, "
             f"NumPy {np.__version__}, Python {platform.python_version()}",
             f"command: python benchmarks/gpu.py --device {args.device} --workloads "
             f"{args.workloads} --batches {args.batches} --steps {args.steps} "
             f"--repeats {args.repeats}", "",
             "| workload | batch | chainrule ms | PyTorch ms | ratio | chainrule MiB | "
             "PyTorch MiB |", "|---|---|---|---|---|---|---|"]
    for name in args.workloads.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            r = measure(name, batch, args.steps, args.repeats, device=args.device)
            lines.append(f"| {name} | {batch} | {r['chainrule']:.3f} | {r['torch']:.3f} | "
                         f"{r['chainrule'] / r['torch']:.2f} | {r['chainrule_mib']:.0f} | "
                         f"{r['torch_mib']:.0f} |")
            print(lines[-1], flush=True)
    from run import publish  # this folder is on sys.path when the script runs

    publish("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
