"""Fast inference: the same outputs as the layers, without their Python per layer.

A model's layers walk Python at every call (module calls, argument checks, shape arithmetic, one
graph node per op). For one image at a time that walk costs more than the arithmetic.
``cr.trace(model, x)`` runs the model once, records the ops it ran and generates a straight-line
Python function that calls only their kernels; ``traced.code`` shows it. Nothing else replays
recorded ops: calling the model always runs its layers, and tracing is this explicit call.

This script:

1. trains a small CNN on the bundled 8x8 digits for a few epochs (or builds LeNet-5 for 28x28
   images with ``--model lenet5``, untrained: only the speed is of interest there);
2. fuses each convolution with its ReLU (``nn.fuse``), traces the model on one image and checks,
   bit for bit, that the trace and the fused model give the unfused layers' outputs on every test
   image, one at a time;
3. times the layers, the fused layers and the trace, one image per call (median of several
   repetitions), and prints the generated code.

    python examples/fast_inference.py
    python examples/fast_inference.py --model lenet5 --repeats 7
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import numpy as np

import chainrule as cr
from chainrule import F, optim
from chainrule.data.datasets import digits


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _per_call_us(fn, x, calls: int, repeats: int) -> float:
    """Median over ``repeats`` of the mean time of ``calls`` calls, in microseconds."""
    for _ in range(min(calls, 50)):
        fn(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn(x)
        times.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(times)


def _small_cnn(epochs: int, seed: int):
    rng = np.random.default_rng(seed)
    (x_train, y_train), (x_test, _) = digits(seed=seed)
    model = cr.models.SmallCNN(input_size=8, rng=rng)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    x, t = cr.tensor(x_train[:, None]), cr.tensor(y_train)  # (N, 1, 8, 8): one channel
    for _ in range(epochs):
        order = rng.permutation(len(y_train))
        for start in range(0, len(order), 32):
            batch = order[start:start + 32]
            opt.zero_grad()
            F.cross_entropy(model(x[batch]), t[batch]).backward()
            opt.step()
    return model.eval(), x_test[:, None]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=("small_cnn", "lenet5"), default="small_cnn")
    parser.add_argument("--epochs", type=_positive, default=3, help="small_cnn training epochs")
    parser.add_argument("--calls", type=_positive, default=500, help="calls per timing")
    parser.add_argument("--repeats", type=_positive, default=5, help="timings (median)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.model == "small_cnn":
        model, images = _small_cnn(args.epochs, args.seed)
    else:
        model = cr.models.LeNet5("modern", rng=np.random.default_rng(args.seed)).eval()
        images = np.random.default_rng(args.seed + 1).random((100, 1, 28, 28), dtype=np.float32)

    one = cr.tensor(images[:1])
    fused = cr.nn.fuse(copy.deepcopy(model))
    traced = cr.trace(fused, one)

    def layers(x):
        with cr.no_grad():
            return model(x)

    def eager(x):
        with cr.no_grad():
            return fused(x)

    mismatches = 0
    for i in range(len(images)):
        x = cr.tensor(images[i:i + 1])
        want = layers(x).numpy()
        mismatches += not np.array_equal(traced(x).numpy(), want)
        mismatches += not np.array_equal(eager(x).numpy(), want)
    print(f"{len(images)} test images, one at a time: the trace and the fused model differ from "
          f"the layers on {mismatches}")

    layers_us = _per_call_us(layers, one, args.calls, args.repeats)
    eager_us = _per_call_us(eager, one, args.calls, args.repeats)
    traced_us = _per_call_us(traced, one, args.calls, args.repeats)
    print(f"one image per call: layers {layers_us:.1f} us, fused layers {eager_us:.1f} us, "
          f"traced {traced_us:.1f} us "
          f"({layers_us / traced_us:.2f}x faster than the layers)")
    print("the generated code (traced.code):")
    print(traced.code)
    return {"mismatches": mismatches, "images": len(images), "layers_us": layers_us,
            "eager_us": eager_us, "traced_us": traced_us, "code": traced.code}


if __name__ == "__main__":
    main()
