"""Hogwild training: several processes step one shared model in place, without locks.

Recht et al. (2011) showed that SGD workers may update shared weights without synchronizing
when each update touches few of them; PyTorch's mnist_hogwild example does it with
``model.share_memory()`` and ``torch.multiprocessing``. The same program on chainrule:

1. a 64-32-10 MLP for the 8x8 digits is built in the parent and ``share_memory()`` moves its
   parameters into memory that processes forked afterwards share;
2. each worker (``chainrule.multiprocessing``, the ``fork`` start method) trains on its own
   shard of the training set with its own SGD optimizer, whose steps write into that memory;
3. the parent, which never trained, evaluates the model its workers changed.

    python examples/hogwild_digits.py --workers 2 --epochs 5
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr
import chainrule.multiprocessing as mp
from chainrule.data.datasets import digits


def train(rank: int, model, x, y, epochs: int, seed: int) -> None:
    """One worker: SGD over its shard, in minibatches of 32, stepping the shared weights."""
    opt = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(seed + rank)
    for _ in range(epochs):
        for batch in np.array_split(rng.permutation(len(x)), max(1, len(x) // 32)):
            opt.zero_grad()
            cr.F.cross_entropy(model(cr.tensor(x[batch])), cr.tensor(y[batch])).backward()
            opt.step()


def accuracy(model, x, y) -> float:
    with cr.no_grad():
        return float((model(cr.tensor(x)).argmax(1).numpy() == y).mean())


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if "fork" not in mp.get_all_start_methods():
        raise SystemExit("hogwild_digits: needs the fork start method (Linux or macOS)")
    (x, y), (x_test, y_test) = digits(seed=args.seed)
    x, x_test = x.reshape(len(x), -1), x_test.reshape(len(x_test), -1)
    cr.manual_seed(args.seed)
    model = cr.nn.Sequential(cr.nn.Linear(64, 32), cr.nn.ReLU(), cr.nn.Linear(32, 10))
    model.share_memory()
    before = accuracy(model, x_test, y_test)
    ctx = mp.get_context("fork")
    shards = np.array_split(np.arange(len(x)), args.workers)
    workers = [ctx.Process(target=train, args=(r, model, x[s], y[s], args.epochs, args.seed))
               for r, s in enumerate(shards)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if any(w.exitcode != 0 for w in workers):
        raise SystemExit(f"hogwild_digits: a worker failed (exit codes "
                         f"{[w.exitcode for w in workers]})")
    after = accuracy(model, x_test, y_test)
    print(f"{args.workers} workers, {args.epochs} epochs each on its shard: test accuracy "
          f"{before:.3f} before, {after:.3f} after (the parent never stepped)")
    return {"before": before, "after": after}


if __name__ == "__main__":
    main()
