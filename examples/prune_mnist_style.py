"""Magnitude pruning with ``nn.utils.prune``, as PyTorch's pruning tutorial does it, on the 8x8
digits: train a small CNN, prune it step by step (one global L1 ranking over every weight layer),
fine-tune after each step, make the pruning permanent and save the sparse weights.

Each step prunes a share of the weights still left: ``global_unstructured`` with
``L1Unstructured`` keeps the masks already there (a pruned weight stays pruned) and ranks the
surviving weights of all the layers together, so layers with many small weights lose more.

Run: python examples/prune_mnist_style.py [--epochs 8] [--steps 3] [--amount 0.5]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.data.datasets import digits
from chainrule.nn.utils import prune


def build(seed: int) -> nn.Module:
    g = np.random.default_rng(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, rng=g), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 4 * 4, 32, rng=g), nn.ReLU(),
                         nn.Linear(32, 10, rng=g))


def train(model, x, y, epochs: int, lr: float, seed: int) -> None:
    """Plain minibatch Adam on cross-entropy; the optimizer is made here, after any pruning, so
    it holds ``weight_orig`` (the pruned entries get zero gradient through the mask)."""
    optimizer = cr.optim.Adam(model.parameters(), lr=lr)
    order = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        for batch in np.array_split(order.permutation(len(x)), max(len(x) // 64, 1)):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(cr.tensor(x[batch])), cr.tensor(y[batch]))
            loss.backward()
            optimizer.step()


def accuracy(model, x, y) -> float:
    model.eval()
    with cr.no_grad():
        return float((model(cr.tensor(x)).numpy().argmax(1) == y).mean())


def sparsity(layers) -> float:
    zeros = sum(int((m.weight.numpy() == 0).sum()) for m, _ in layers)
    return zeros / sum(m.weight.numel() for m, _ in layers)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8, help="epochs of the first training")
    parser.add_argument("--fine-tune", type=int, default=2, help="epochs after each step")
    parser.add_argument("--steps", type=int, default=3, help="pruning steps")
    parser.add_argument("--amount", type=float, default=0.5,
                        help="share of the remaining weights each step prunes")
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="where to save the pruned state dict")
    args = parser.parse_args(argv)
    if args.steps < 1 or not 0 < args.amount < 1:
        parser.error("--steps must be at least 1 and --amount in (0, 1)")
    (x, y), (xt, yt) = digits(seed=args.seed)
    x, xt = x[:, None][:args.train_size], xt[:, None]
    y = y[:args.train_size]
    model = build(args.seed)
    train(model, x, y, args.epochs, 3e-3, args.seed)
    layers = [(model[0], "weight"), (model[4], "weight"), (model[6], "weight")]
    curve = [{"sparsity": 0.0, "test_accuracy": accuracy(model, xt, yt)}]
    print(f"trained: test accuracy {curve[0]['test_accuracy']:.3f}")
    for step in range(args.steps):
        prune.global_unstructured(layers, pruning_method=prune.L1Unstructured,
                                  amount=args.amount)
        pruned = accuracy(model, xt, yt)
        train(model, x, y, args.fine_tune, 1e-3, args.seed + step + 1)
        curve.append({"sparsity": sparsity(layers), "pruned_accuracy": pruned,
                      "test_accuracy": accuracy(model, xt, yt)})
        print(f"step {step + 1}: {curve[-1]['sparsity']:.1%} of the weights pruned, test "
              f"accuracy {pruned:.3f} right after pruning, {curve[-1]['test_accuracy']:.3f} "
              "after fine-tuning")
    for module, name in layers:
        prune.remove(module, name)
    state = model.state_dict()
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        cr.save(state, args.out)
        print(f"saved the pruned weights to {args.out}")
    fast = cr.trace(model.eval(), cr.tensor(xt[:1]))
    agree = bool((fast(cr.tensor(xt)).numpy().argmax(1) == model(cr.tensor(xt)).numpy()
                  .argmax(1)).all())
    return {"curve": curve, "keys": list(state), "final_sparsity": sparsity(layers),
            "traced_agrees": agree, "pruned": prune.is_pruned(model)}


if __name__ == "__main__":
    main()
