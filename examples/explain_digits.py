"""Explaining a small CNN on the bundled 8x8 digits: attributions, features and pruning.

Trains SmallCNN for a few epochs, then
1. explains test digits with saliency, gradient x input, SmoothGrad, integrated gradients (and
   checks their completeness), occlusion and guided backpropagation (one figure);
2. visualizes the first layer's filters and, by activation maximization, what the second
   convolution's channels respond to;
3. prunes the trained network one-shot and iteratively (with fine-tuning) and prints test
   accuracy against sparsity.

Run: python examples/explain_digits.py [--epochs 15] [--out runs/explain-digits]
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import explain, optim
from chainrule.data.datasets import digits
from chainrule.explain import figures
from chainrule.models import SmallCNN
from chainrule.train import Trainer


def train(x, y, epochs: int, seed: int):
    model = SmallCNN(input_size=8, rng=np.random.default_rng(seed))
    trainer = Trainer(model, cr.F.cross_entropy, optim.Adam(model.parameters(), lr=3e-3),
                      metrics=["accuracy"])
    trainer.fit((x, y), epochs=epochs, batch_size=32, rng=seed, verbose=0)
    return model


def accuracy(model, x, y) -> float:
    with cr.no_grad():
        return float((model.eval()(cr.tensor(x)).numpy().argmax(axis=1) == y).mean())


def pruning_curves(model, data, sparsities, finetune_epochs: int, seed: int) -> dict:
    """Test accuracy at each sparsity: one-shot (no retraining) and iterative (fine-tuned)."""
    (x, y), (xt, yt) = data
    curves = {"one-shot": [(0.0, accuracy(model, xt, yt))]}
    oneshot = copy.deepcopy(model)
    for s in sparsities:
        explain.prune_magnitude(oneshot, s)
        curves["one-shot"].append((s, accuracy(oneshot, xt, yt)))
    curves["iterative"] = [(0.0, curves["one-shot"][0][1])]
    net = copy.deepcopy(model)
    trainer = Trainer(net, cr.F.cross_entropy, optim.Adam(net.parameters(), lr=1e-3),
                      callbacks=[explain.KeepPruned()])
    for i, s in enumerate(sparsities):
        explain.prune_magnitude(net, s)
        trainer.fit((x, y), epochs=(i + 1) * finetune_epochs, batch_size=32, rng=seed,
                    verbose=0)
        assert explain.sparsity(net)["global"] >= s - 1e-3  # the masks held through training
        curves["iterative"].append((s, accuracy(net, xt, yt)))
    return curves


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--images", type=int, default=6, help="test digits to explain")
    parser.add_argument("--ig-steps", type=int, default=50)
    parser.add_argument("--maximize-steps", type=int, default=100)
    parser.add_argument("--finetune-epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/explain-digits")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.images < 1:
        parser.error(f"--epochs and --images must be at least 1, got {args.epochs} and "
                     f"{args.images}")
    out = Path(args.out)
    (x, y), (xt, yt) = digits()
    x, xt = x[:, None], xt[:, None]
    model = train(x, y, args.epochs, args.seed)
    result = {"test_accuracy": accuracy(model, xt, yt)}
    print(f"SmallCNN, {args.epochs} epochs: test accuracy {result['test_accuracy']:.4f}")

    batch = xt[:args.images]
    ig = explain.integrated_gradients(model, batch, steps=args.ig_steps)
    maps = {"saliency": explain.saliency(model, batch),
            "grad x input": explain.gradient_x_input(model, batch),
            "SmoothGrad": explain.smoothgrad(model, batch, rng=args.seed),
            "integrated gradients": ig.attributions,
            "occlusion": explain.occlusion(model, batch, window=2, stride=1),
            "guided backprop": explain.guided_backprop(model, batch)}
    gap = np.abs(ig.scores - ig.baseline_scores)
    result["ig_relative_error"] = float((np.abs(ig.delta) / gap).max())
    print(f"integrated gradients ({args.ig_steps} steps): attributions sum to f(x) - f(0) "
          f"within {result['ig_relative_error']:.2e} (relative)")
    figures.plot_attributions(batch, maps, out / "attributions.png",
                              titles=[f"{yt[i]}" for i in range(len(batch))])

    figures.plot_filters(explain.first_layer_filters(model), out / "filters.png",
                         suptitle="SmallCNN first-layer filters")
    traces, images = {}, []
    for c in range(4):
        res = explain.activation_maximization(model, "net.3", c, (1, 8, 8), jitter=1,
                                              steps=args.maximize_steps, rng=args.seed + c)
        traces[f"channel {c}"] = res["activations"]
        images.append(res["image"])
    result["maximization"] = {c: (float(t[0]), float(t[-1])) for c, t in traces.items()}
    for c, (a, b) in result["maximization"].items():
        print(f"activation maximization net.3 {c}: {a:.3f} -> {b:.3f}")
    figures.plot_traces(traces, out / "maximization.png", ylabel="mean activation of net.3")

    curves = pruning_curves(model, ((x, y), (xt, yt)), [0.5, 0.75, 0.9, 0.95],
                            args.finetune_epochs, args.seed)
    result["pruning"] = curves
    print("sparsity  one-shot  iterative")
    for (s, a), (_, b) in zip(curves["one-shot"], curves["iterative"]):
        print(f"{s:8.2f}  {a:8.4f}  {b:9.4f}")
    figures.plot_sparsity_curves(curves, out / "sparsity.png", title="SmallCNN on digits")
    print(f"figures in {out}")
    return result


if __name__ == "__main__":
    main()
