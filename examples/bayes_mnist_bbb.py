"""Bayes by Backprop on MNIST: Blundell et al.'s 784-400-400-10 net with the scale-mixture prior.

Blundell et al. (2015, table 1) report 1.36% test error for this architecture with a scale-mixture
prior (pi 1/4, sigma1 1, sigma2 exp(-6)) after long training on the 60,000 training images (they
preprocess by dividing the pixels by 126). This script trains it for ``--epochs`` epochs (Adam,
batch 128, KL spread uniformly over the minibatches, local reparameterization for lower-variance
gradients) and reports the test error of the mean weights and of the averaged prediction of
``--samples`` weight draws, with NLL and ECE.

    python examples/bayes_mnist_bbb.py --data-dir ../shared/data --epochs 5
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from chainrule import optim
from chainrule.bayes import (
    bayesian_mlp,
    elbo_loss,
    expected_calibration_error,
    nll,
    sample_predict,
    softmax_probs,
)
from chainrule.data.datasets import mnist
from chainrule.train import Trainer


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder holding mnist/")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=400)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if min(args.epochs, args.hidden, args.samples, args.train_size) < 1:
        parser.error("--epochs, --hidden, --samples and --train-size must be at least 1")
    (x, y), (xt, yt) = mnist(args.data_dir, download=False)
    x = (x[:args.train_size].reshape(-1, 784) / np.float32(126)).astype(np.float32)
    y = y[:args.train_size]
    xt = (xt.reshape(-1, 784) / np.float32(126)).astype(np.float32)
    model = bayesian_mlp((784, args.hidden, args.hidden, 10),
                         prior_mixture=(0.25, 1.0, math.exp(-6)), init_rho=-5.0,
                         local_reparameterization=True, rng=np.random.default_rng(args.seed))
    start = time.perf_counter()
    history = Trainer(model, elbo_loss(model, len(y)), optim.Adam(model.parameters(),
                                                                  lr=args.lr)).fit(
        (x, y), epochs=args.epochs, batch_size=128, rng=args.seed, verbose=0)
    seconds = time.perf_counter() - start
    mean_probs = softmax_probs(Trainer(model, "cross_entropy", None).predict(xt, batch_size=1000))
    probs = sample_predict(model, xt, samples=args.samples, batch_size=1000).mean(0)
    result = {"epochs": args.epochs, "train_seconds": seconds,
              "final_loss": history["loss"][-1],
              "error_mean_weights": float((mean_probs.argmax(1) != yt).mean()),
              "error_sampled": float((probs.argmax(1) != yt).mean()),
              "nll_sampled": nll(probs, yt), "ece_sampled": expected_calibration_error(probs, yt)}
    print(f"{args.epochs} epochs ({seconds:.0f} s): negative ELBO per example "
          f"{result['final_loss']:.4f}; test error {100 * result['error_mean_weights']:.2f}% "
          f"(mean weights), {100 * result['error_sampled']:.2f}% ({args.samples} samples; NLL "
          f"{result['nll_sampled']:.4f}, ECE {100 * result['ece_sampled']:.2f}%)")
    return result


if __name__ == "__main__":
    main()
