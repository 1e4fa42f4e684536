"""Adversarial examples: five attacks on one classifier, and a check for gradient masking.

Trains a small CNN on scikit-learn's 8x8 digits (a few seconds; or loads a run folder from
`chainrule train` with --run), then attacks its test images with FGSM, PGD, APGD-CE, DeepFool and
Carlini-Wagner, and prints each attack's success and perturbation size. With --surrogate (a second
run folder) it also attacks the surrogate with PGD and shows the adversarial images to the model:
a transfer (black-box) attack, which must not beat the white-box attack by much if the model's
robustness is real rather than hidden gradients.

    python examples/robust_attacks.py
    python examples/robust_attacks.py --run runs/lenet5-fgsm-0.3 --surrogate runs/lenet5-mnist \
        --data-dir ../shared/data --eps 0.3 --n 1000
"""

from __future__ import annotations

import argparse

import numpy as np

from chainrule import Tensor, nn, optim, robust
from chainrule.data.datasets import digits
from chainrule.experiments import load_image_dataset, load_model
from chainrule.train import Trainer


def _digits_model(seed: int):
    (xtr, ytr), (xte, yte) = digits()
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16 * 16, 64, rng=rng), nn.ReLU(),
                          nn.Linear(64, 10, rng=rng))
    Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=3e-3)).fit(
        (xtr[:, None], ytr), epochs=15, batch_size=32, rng=seed, verbose=0)
    return model.eval(), xte[:, None], yte


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", default=None, help="a classifier's run folder (default: train a "
                   "small CNN on the 8x8 digits)")
    p.add_argument("--surrogate", default=None, help="another run folder on the same data: "
                   "the source of a transfer attack")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--eps", type=float, default=0.1, help="L-infinity budget")
    p.add_argument("--n", type=int, default=200, help="test images to attack")
    p.add_argument("--steps", type=int, default=40, help="PGD and APGD steps")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.n < 1 or not args.eps > 0:
        p.error(f"--n must be >= 1 and --eps > 0, got {args.n} and {args.eps}")
    if args.run is None:
        model, x, y = _digits_model(args.seed)
    else:
        model, config = load_model(args.run)
        data = load_image_dataset(config["dataset"], args.data_dir, download=False)
        x, y = data.x_test, data.y_test
    x, y = x[:args.n], y[:args.n]
    attacks = {
        "fgsm": {"eps": args.eps},
        "pgd": {"eps": args.eps, "steps": args.steps, "restarts": 1, "rng": args.seed},
        "apgd": {"eps": args.eps, "steps": args.steps, "rng": args.seed},
        "deepfool": {},
        "cw": {"steps": 100},
    }
    results = {}
    print(f"{'attack':9s} {'robust acc':>10s} {'success':>8s} {'median norm':>12s}")
    for name, kwargs in attacks.items():
        res = results[name] = robust.robust_accuracy(model, (x, y), name, verbose=0, **kwargs)
        norm = "L2" if name in ("deepfool", "cw") else "Linf"
        print(f"{name:9s} {res['robust_accuracy']:10.3f} {res['success_rate']:8.3f} "
              f"{res['median_norm']:8.3f} {norm:>3s}")
    if args.surrogate is not None:
        source, _ = load_model(args.surrogate)
        moved = robust.pgd(source, x, y, eps=args.eps, steps=args.steps, rng=args.seed)
        transfer = float((model(Tensor(moved.adversarial)).numpy().argmax(1) == y).mean())
        results["transfer"] = {"robust_accuracy": transfer}
        print(f"transfer (PGD on the surrogate, shown to the model): accuracy {transfer:.3f} "
              f"(white-box PGD: {results['pgd']['robust_accuracy']:.3f})")
    return results


if __name__ == "__main__":
    main()
