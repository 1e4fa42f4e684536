"""Restricted Boltzmann machines on the 8x8 digits, and a DBN's greedy pre-training of an MLP.

Three parts, on scikit-learn's digits binarised at 0.5 (1,438 training, 359 test images):

1. An RBM with 64 visible and 16 hidden units trained by CD-1, CD-10 and PCD-1 (learning rate
   0.05, batches of 20, momentum 0.5 then 0.9, weight decay 1e-4; PCD: momentum 0.5): its
   reconstruction error per epoch, and the exact mean log-likelihood of the test digits (log Z by
   summing over the 2^16 hidden states), against the 64 independent pixels' -44.4 nats of a fair
   coin and the per-pixel means' log-likelihood.
2. A stack of RBMs 64-48 and 48-24 pre-trains the hidden layers of a sigmoid MLP 64-48-24-10.
3. The MLP is fine-tuned with backpropagation (Adam) on the first ``--labels`` training labels,
   from the RBM stack and from the same random start without it; both test accuracies are printed.

    python examples/rbm_pretraining.py
    python examples/rbm_pretraining.py --labels 300 --finetune-epochs 50
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import chainrule as cr
from chainrule.data.datasets import digits
from chainrule.generative import RBM, pretrain_rbm_stack, train_rbm
from chainrule.models import MLP


def binary_digits():
    (x, y), (xt, yt) = digits()
    return ((x.reshape(len(x), -1) > 0.5).astype(np.float32), y,
            (xt.reshape(len(xt), -1) > 0.5).astype(np.float32), yt)


def likelihood_table(x, xt, epochs, seed) -> dict:
    p = np.clip(x.mean(0), 1e-3, 1 - 1e-3)
    independent = float((xt * np.log(p) + (1 - xt) * np.log(1 - p)).sum(1).mean())
    print(f"test log-likelihood, nats per digit: fair coin {64 * math.log(0.5):.1f}, "
          f"independent pixels {independent:.1f}")
    # PCD's chains run as true Gibbs chains (sampled visible units) and with less momentum: with
    # CD's 0.9 they cannot follow the fast-changing weights
    settings = (("CD-1", {}), ("CD-10", {"k": 10}),
                ("PCD-1", {"persistent": True, "sample_visible": True, "momentum": 0.5}))
    table = {"independent": independent}
    for name, options in settings:
        rbm = RBM(64, 16, rng=np.random.default_rng(seed), dtype="float64")
        errors = train_rbm(rbm, x, epochs=epochs, lr=0.05, rng=seed + 1, **options)
        print(f"RBM 64-16 {name:5s}: reconstruction error {errors[0]:.4f} (epoch 1) -> "
              f"{errors[-1]:.4f} (epoch {epochs}), test log-likelihood "
              f"{rbm.log_likelihood(xt):.1f}")
        table[name] = {"errors": errors, "test_log_likelihood": rbm.log_likelihood(xt)}
    return table


def finetune(mlp, x, y, xt, yt, epochs, seed):
    trainer = cr.train.Trainer(mlp, cr.functional.cross_entropy,
                               cr.optim.Adam(mlp.parameters(), lr=3e-3), metrics=["accuracy"])
    trainer.fit((x, y), epochs=epochs, batch_size=32, rng=seed, verbose=0)
    return trainer.evaluate((xt, yt), batch_size=1000)["accuracy"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs per RBM")
    parser.add_argument("--labels", type=int, default=100, help="labelled digits for fine-tuning")
    parser.add_argument("--finetune-epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    x, y, xt, yt = binary_digits()
    table = likelihood_table(x, xt, args.epochs, args.seed)

    sizes = (64, 48, 24, 10)
    mlp = MLP(sizes, activation="sigmoid", rng=np.random.default_rng(args.seed))
    rbms = pretrain_rbm_stack(mlp, x, epochs=args.epochs, rng=args.seed)
    for i, rbm in enumerate(rbms, 1):
        print(f"RBM {i} ({rbm.n_visible}-{rbm.n_hidden}): reconstruction error of its data "
              f"{rbm.reconstruction_error(x if i == 1 else rbms[0].hidden_probabilities(x)):.4f}")
    n = args.labels
    pretrained = finetune(mlp, x[:n], y[:n], xt, yt, args.finetune_epochs, args.seed)
    baseline = finetune(MLP(sizes, activation="sigmoid", rng=np.random.default_rng(args.seed)),
                        x[:n], y[:n], xt, yt, args.finetune_epochs, args.seed)
    print(f"MLP {'-'.join(map(str, sizes))}, {n} labels, {args.finetune_epochs} epochs: test "
          f"accuracy {baseline:.4f} from random weights, {pretrained:.4f} after RBM pre-training")
    return {"rbm_64_16": table, "random_init_accuracy": baseline,
            "pretrained_accuracy": pretrained}


if __name__ == "__main__":
    main()
