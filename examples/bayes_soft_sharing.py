"""Soft weight sharing (Nowlan & Hinton 1992) compresses a digits MLP to a few distinct weights.

A 64-100-10 MLP is trained on the digits as usual, then retrained with a learned mixture-of-
Gaussians prior on its weights (``bayes.MixturePrior``: ``--components`` centres spread over the
weights' range, one fixed at zero, as Ullrich et al. 2017 do for compression). The weights
gather around the centres; ``quantize`` then replaces each weight by its centre, leaving at most
``--components`` distinct values. Prints the test accuracy before and after quantizing, and draws
the weight histogram before and after with the centres.

    python examples/bayes_soft_sharing.py --out docs/figures
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from chainrule import optim
from chainrule.bayes import MixturePrior, shared_weights, sharing_loss
from chainrule.bayes.figures import _pyplot
from chainrule.data.datasets import digits
from chainrule.models import MLP
from chainrule.ops import cross_entropy
from chainrule.train import Trainer, accuracy
from chainrule.viz import save_figure


def test_accuracy(model, test):
    return accuracy(test[1], Trainer(model, "cross_entropy", None).predict(test[0]))


def weights_of(model):
    return shared_weights(model)  # the Linear layers' weights, as sharing_loss's default


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="ordinary training epochs")
    parser.add_argument("--sharing-epochs", type=int, default=30, help="epochs with the prior")
    parser.add_argument("--components", type=int, default=9)
    parser.add_argument("--strength", type=float, default=1.0,
                        help="weight of the prior's penalty against the data term")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/bayes", help="folder for the histogram")
    args = parser.parse_args(argv)
    if min(args.epochs, args.sharing_epochs) < 1 or args.components < 2:
        parser.error("--epochs and --sharing-epochs must be at least 1, --components at least 2")
    train, test = digits(seed=0)
    model = MLP((64, 100, 10), rng=np.random.default_rng(args.seed))
    Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=1e-3)).fit(
        train, epochs=args.epochs, rng=args.seed, verbose=0)
    before = np.concatenate([w.numpy().ravel() for w in weights_of(model)])
    acc_before = test_accuracy(model, test)
    span = float(np.abs(before).max())
    # zero, then the other centres evenly over [-span, span] without zero
    others = np.linspace(-span, span, args.components)
    centres = [0.0, *others[np.abs(others) > 1e-9][: args.components - 1]]
    prior = MixturePrior(centres, sigma=span / args.components, fixed_zero=True)
    loss = sharing_loss(model, prior, len(train[1]), loss=cross_entropy, strength=args.strength)
    opt = optim.Adam([{"params": list(model.parameters()), "lr": 1e-3},
                      {"params": list(prior.parameters()), "lr": 3e-3}])
    Trainer(model, loss, opt).fit(train, epochs=args.sharing_epochs, rng=args.seed, verbose=0)
    acc_shared = test_accuracy(model, test)
    after = np.concatenate([w.numpy().ravel() for w in weights_of(model)])
    prior.quantize(*weights_of(model))
    quantized = np.concatenate([w.numpy().ravel() for w in weights_of(model)])
    acc_quantized = test_accuracy(model, test)
    result = {"accuracy": acc_before, "accuracy_shared": acc_shared,
              "accuracy_quantized": acc_quantized, "distinct": int(len(np.unique(quantized))),
              "values": [float(v) for v in np.unique(quantized)],
              "near_zero": float((np.abs(quantized) < 1e-2).mean()), "weights": int(quantized.size)}
    print(f"test accuracy: trained {acc_before:.4f}, after soft sharing {acc_shared:.4f}, "
          f"quantized {acc_quantized:.4f}")
    print(f"{result['weights']} weights -> {result['distinct']} distinct values "
          f"({', '.join(f'{v:.4f}' for v in result['values'])}), "
          f"{100 * result['near_zero']:.1f}% of them within 0.01 of zero")
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharex=True)
    bins = np.linspace(-1.1 * span, 1.1 * span, 121)
    axes[0].hist(before, bins=bins, color="0.4")
    axes[0].set_title(f"after ordinary training (acc {acc_before:.3f})")
    axes[1].hist(after, bins=bins, color="tab:blue")
    m = prior.means.numpy().copy()
    m[0] = 0.0
    for c in m:
        axes[1].axvline(c, color="tab:red", lw=0.6, ls=":")
    axes[1].set_title(f"after soft sharing (red: centres; quantized acc {acc_quantized:.3f})")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_ylim(0.8, 1e4)
        ax.set_xlabel("weight")
    save_figure(fig, Path(args.out) / "bayes-soft-sharing.png")
    return result


if __name__ == "__main__":
    main()
