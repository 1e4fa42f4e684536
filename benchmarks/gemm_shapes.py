"""The GAN step's matrix products run alone: NumPy (OpenBLAS) against PyTorch and ``jax.jit``.

    python benchmarks/gemm_shapes.py                  # every framework installed, 2 threads
    python benchmarks/gemm_shapes.py --frameworks numpy --repeats 5

The GAN workload's step (``workloads.py``, batch 128) is nearly all products: is a peer faster
there because its products are, or because nothing runs between them? This times each product
shape of the step by itself, in one process, the frameworks one after another on the same
operands (float32, row-major), and prints the median microseconds per shape and their sums.
Set the thread count before the frameworks load: this script sets ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` and PyTorch's ``set_num_threads``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

B = 128
# name -> (m, k, n) of an (m, k) @ (k, n) product: forward (x @ W.T), filter gradient (g.T @ x)
# and input gradient (g @ W) of the discriminator's and the generator's two big layers.
SHAPES = {
    "D 784->512 forward": (B, 784, 512), "D 784->512 filter gradient": (512, B, 784),
    "D 784->512 input gradient": (B, 512, 784),
    "D 512->256 forward": (B, 512, 256), "D 512->256 filter gradient": (256, B, 512),
    "D 512->256 input gradient": (B, 256, 512),
    "G 512->784 forward": (B, 512, 784), "G 512->784 filter gradient": (784, B, 512),
    "G 512->784 input gradient": (B, 784, 512),
    "G 256->512 forward": (B, 256, 512), "G 256->512 filter gradient": (512, B, 256),
}


def _median_us(fn, repeats):
    fn()
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def _products(framework, a, b):
    """A function computing ``a @ b`` in ``framework`` (operands converted once), or None."""
    if framework == "numpy":
        return lambda: a @ b
    if framework == "torch":
        try:
            import torch
        except ImportError:
            return None
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        return lambda: ta @ tb
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    dot, ja, jb = jax.jit(jnp.dot), jnp.asarray(a), jnp.asarray(b)
    return lambda: dot(ja, jb).block_until_ready()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", default="numpy,torch,jax")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--shapes", type=int, default=len(SHAPES), help="the first N shapes")
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np

    frameworks = args.frameworks.split(",")
    if "torch" in frameworks:
        try:
            import torch

            torch.set_num_threads(args.threads)
        except ImportError:
            pass
    rng = np.random.default_rng(0)
    totals = {f: 0.0 for f in frameworks}
    print("| product (m, k, n) | " + " | ".join(f"{f} µs" for f in frameworks) + " |")
    print("|---|" + "--:|" * len(frameworks))
    for name, (m, k, n) in list(SHAPES.items())[:args.shapes]:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        cells = []
        for f in frameworks:
            fn = _products(f, a, b)
            if fn is None:
                totals[f] = float("nan")
                cells.append("n/a")
                continue
            us = _median_us(fn, args.repeats)
            totals[f] += us
            cells.append(f"{us:.0f}")
        print(f"| {name} ({m}, {k}, {n}) | " + " | ".join(cells) + " |")
    print("| sum | " + " | ".join(f"{totals[f]:.0f}" for f in frameworks) + " |")
    return totals


if __name__ == "__main__":
    main()
