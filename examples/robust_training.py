"""Adversarial training on the 8x8 digits: plain, fast FGSM (Wong et al. 2020) and PGD (Madry
et al. 2017), each attacked with PGD over a range of epsilons.

Robust accuracy of an honestly defended model falls steadily as epsilon grows and reaches chance
(or zero) at large epsilon; a flat curve would mean the defence only hides its gradients.

    python examples/robust_training.py --eps 0.1 --epochs 15
"""

from __future__ import annotations

import argparse

import numpy as np

from chainrule import nn, optim, robust
from chainrule.data.datasets import digits
from chainrule.train import Trainer


def _model(seed: int):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128, rng=rng), nn.ReLU(),
                         nn.Linear(128, 10, rng=rng))


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--eps", type=float, default=0.1, help="training and attack budget")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.epochs < 1 or not 0 < args.eps < 1:
        p.error(f"--epochs must be >= 1 and 0 < --eps < 1, got {args.epochs} and {args.eps}")
    (xtr, ytr), (xte, yte) = digits()
    xtr, xte = xtr[:, None], xte[:, None]
    grid = [0.0, args.eps / 2, args.eps, 2 * args.eps, 4 * args.eps]
    results = {}
    for name in ("plain", "fgsm", "pgd"):
        perturb = None if name == "plain" else robust.AdversarialTraining(
            name, eps=args.eps, steps=5, rng=args.seed)
        model = _model(args.seed)
        Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=3e-3),
                perturb=perturb).fit((xtr, ytr), epochs=args.epochs, batch_size=32,
                                     rng=args.seed, verbose=0)
        model.eval()
        curve = robust.accuracy_curve(model, (xte, yte), grid, "pgd", steps=20, restarts=2,
                                      rng=args.seed)
        results[name] = [c["robust_accuracy"] for c in curve]
        print(f"{name:6s} " + "  ".join(f"eps {e:.3g}: {a:.3f}" for e, a in
                                        zip(grid, results[name])))
    results["eps"] = grid
    return results


if __name__ == "__main__":
    main()
