"""Streaming data: an IterableDataset generated on the fly, sharded over loader workers, trained on.

1. ``Moons`` makes two-moons samples as it is iterated (no array of them is ever built); each
   loader worker makes its own share (``get_worker_info``), so 0 or 2 workers see the same
   samples, only batched in another order.
2. ``Trainer.fit`` reads a loader over the stream: it has no length, so an epoch ends when the
   stream does and the progress line counts batches without a total.
3. ``a + b`` chains two streams (``ChainDataset``); ``StackDataset`` zips map-style datasets;
   ``DistributedSampler`` gives each of several processes its share of a map-style dataset.

    python examples/streaming_data.py --samples 2000 --workers 2 --epochs 5
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.train import Trainer
from chainrule.utils.data import (
    DataLoader,
    DistributedSampler,
    IterableDataset,
    StackDataset,
    get_worker_info,
)


class Moons(IterableDataset):
    """``samples`` two-moons points ``(x, label)``, sample ``i`` drawn from its own seed."""

    def __init__(self, samples: int, seed: int = 0, noise: float = 0.15):
        self.samples, self.seed, self.noise = samples, seed, noise

    def __iter__(self):
        info = get_worker_info()  # None when the loader has no workers
        first, step = (0, 1) if info is None else (info.id, info.num_workers)
        for i in range(first, self.samples, step):  # worker w makes samples w, w + k, ...
            rng = np.random.default_rng([self.seed, i])
            label = int(rng.integers(2))
            angle = rng.uniform(0, np.pi)
            point = (np.array([np.cos(angle), np.sin(angle)]) if label == 0
                     else np.array([1 - np.cos(angle), 0.5 - np.sin(angle)]))
            yield (point + rng.normal(0, self.noise, 2)).astype(np.float32), label


def model(seed: int = 0) -> nn.Module:
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(2, 32, rng=rng), nn.Tanh(), nn.Linear(32, 2, rng=rng))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000, help="training samples per epoch")
    parser.add_argument("--workers", type=int, default=2, help="loader worker threads")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)

    sets = {k: sorted(float(x[0]) for b in DataLoader(Moons(50), batch_size=8, num_workers=k)
                      for x in b[0].numpy()) for k in (0, 2)}
    print(f"0 and 2 workers make the same samples: {sets[0] == sets[2]}")

    net = model()
    trainer = Trainer(net, "cross_entropy", cr.optim.Adam(net.parameters(), lr=0.01),
                      metrics=["accuracy"])
    train = DataLoader(Moons(args.samples, seed=1), batch_size=args.batch,
                       num_workers=args.workers)
    history = trainer.fit(train, epochs=args.epochs, verbose=2)
    test = trainer.evaluate(Moons(500, seed=2), batch_size=100)
    print(f"test accuracy {test['accuracy']:.3f} (steps per epoch known in advance: "
          f"{trainer.params['steps']})")

    chained = Moons(3, seed=1) + Moons(2, seed=2)
    print(f"chained streams: {len(list(chained))} samples")
    pairs = StackDataset([0, 1, 2, 3], "abcd")
    print("stacked:", [pairs[i] for i in range(2)])
    shares = [list(DistributedSampler(range(10), num_replicas=3, rank=r, shuffle=False))
              for r in range(3)]
    print("shares of 10 samples over 3 ranks:", shares)
    return {"same_samples": sets[0] == sets[2], "loss": history.history["loss"],
            "test_accuracy": test["accuracy"], "steps": trainer.params["steps"],
            "shares": shares}


if __name__ == "__main__":
    main()
