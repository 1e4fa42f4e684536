"""What ``DataLoader(num_workers=k)`` buys: one pass of a CIFAR-shaped dataset with torchvision's
augmentation pipeline, alone and beside a small CNN's training steps, for several ``k``, with
worker threads (the default) and worker processes (``multiprocessing_context="fork"``).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        python benchmarks/loader_workers.py --samples 2048 --workers 0,1,2,4 --rounds 3

Each configuration runs ``--rounds`` times, interleaved; the table gives the median wall time and
the median CPU time of the process (``time.process_time``, all its threads, not the worker
processes' own) per pass, and checks
that every ``k`` gives the batches of ``k = 0`` (their sum). Wall time is what workers can save:
they overlap sample preparation with the training step and with each other wherever NumPy
releases the GIL; CPU time shows what that costs. On a shared machine both are noisy: label them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.data import DataLoader, Dataset
from chainrule.vision import transforms


class SyntheticCIFAR(Dataset):
    """Random (32, 32, 3) uint8 images with labels, read one at a time like datasets.CIFAR10."""

    def __init__(self, n: int, transform):
        rng = np.random.default_rng(0)
        self.data = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        self.targets = rng.integers(0, 10, n).tolist()
        self.transform = transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return self.transform(self.data[i]), self.targets[i]


def pipeline():
    return transforms.Compose([
        transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
        transforms.ToTensor(), transforms.Normalize((0.49, 0.48, 0.45), (0.25, 0.24, 0.26))])


def model():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * 8 * 8, 10))


def one_pass(samples: int, workers: int, batch: int, train: bool, context=None):
    """(wall seconds, CPU seconds, checksum of the batches) of one pass."""
    cr.manual_seed(0)
    loader = DataLoader(SyntheticCIFAR(samples, pipeline()), batch_size=batch, shuffle=True,
                        num_workers=workers, multiprocessing_context=context)
    net = model()
    opt = cr.optim.SGD(net.parameters(), lr=0.01)
    total = 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    for x, y in loader:
        total += float(x.sum())
        if train:
            opt.zero_grad()
            cr.F.cross_entropy(net(x), y).backward()
            opt.step()
    return time.perf_counter() - wall, time.process_time() - cpu, total


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--workers", default="0,1,2,4")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    workers = [int(k) for k in args.workers.split(",")]
    configs = [(k, None) for k in workers] + [(k, "fork") for k in workers if k]
    times: dict = {}
    sums: dict = {}
    for _ in range(args.rounds):
        for train in (False, True):
            for k, context in configs:
                wall, cpu, total = one_pass(args.samples, k, args.batch, train, context)
                times.setdefault((train, k, context), []).append((wall, cpu))
                sums[(train, k, context)] = total
    lines = ["| work per batch | num_workers | workers | wall s/pass | CPU s/pass (main process) "
             "| same batches as 0 |", "| --- | ---: | --- | ---: | ---: | --- |"]
    for train in (False, True):
        for k, context in configs:
            walls, cpus = zip(*times[(train, k, context)], strict=True)
            kind = "-" if not k else "processes" if context else "threads"
            lines.append(f"| {'load + train step' if train else 'load only'} | {k} | {kind} | "
                         f"{statistics.median(walls):.2f} | {statistics.median(cpus):.2f} | "
                         f"{sums[(train, k, context)] == sums[(train, workers[0], None)]} |")
    table = "\n".join(lines)
    print(table)
    return table


if __name__ == "__main__":
    sys.exit(main() and 0)
