"""Recurrent networks: an Elman RNN, an LSTM and a GRU read each 8x8 digit row by row.

Each image becomes a sequence of 8 time steps with 8 inputs each (one pixel row per step). A
recurrent layer is unrolled over the 8 steps with the same weights at every step, and a linear
layer classifies the digit from the last hidden state; backpropagation through time is the engine
walking back through the unrolled graph. The script

* checks the weight sharing: running an ``nn.RNNCell`` by hand for 8 steps with the layer's
  weights gives the layer's outputs (so the number of weights does not depend on the length);
* trains ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` (same hidden size, Adam, same data order) and
  reports the test accuracy of each cell type.

    python examples/rnn_sequences.py --epochs 10 --hidden 32
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.data.datasets import digits
from chainrule.train import Trainer

CELLS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


class SequenceClassifier(nn.Module):
    """A recurrent layer over (N, L, features) sequences, then a linear layer on the last output.

    Args:
        cell: "RNN", "LSTM" or "GRU".
        input_size: features per time step.
        hidden_size: units of the recurrent layer.
        num_classes: output units.
        rng: numpy Generator for the initial weights.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_classes: int, *, rng):
        super().__init__()
        self.rnn = CELLS[cell](input_size, hidden_size, batch_first=True, rng=rng)
        self.head = nn.Linear(hidden_size, num_classes, rng=rng)

    def forward(self, x):
        outputs, _ = self.rnn(x)          # (N, L, hidden): the hidden state after every step
        return self.head(outputs[:, -1])  # classify from the state after the last row


def check_weight_sharing(x, hidden: int, seed: int) -> float:
    """Largest gap between ``nn.RNN`` and an ``nn.RNNCell`` stepped by hand with its weights."""
    rnn = nn.RNN(8, hidden, batch_first=True, rng=np.random.default_rng(seed))
    cell = nn.RNNCell(8, hidden, rng=np.random.default_rng(seed + 1))
    # The layer's weights of layer 0 are named weight_ih_l0 ...; the cell's weight_ih ...
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in rnn.state_dict().items()})
    seq = cr.tensor(x)
    with cr.no_grad():
        outputs, _ = rnn(seq)
        h = None
        gap = 0.0
        for t in range(seq.shape[1]):  # the unrolled loop: the same cell (weights) at every step
            h = cell(seq[:, t], h)
            gap = max(gap, float(np.abs(h.numpy() - outputs[:, t].numpy()).max()))
    return gap


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    parser.add_argument("--train-size", type=int, default=None,
                        help="use only this many training images (for a quick run)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("hidden", "epochs", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    (x_train, y_train), (x_test, y_test) = digits(seed=args.seed)
    if args.train_size is not None:
        x_train, y_train = x_train[: args.train_size], y_train[: args.train_size]

    gap = check_weight_sharing(x_test[:16], args.hidden, args.seed)
    print(f"nn.RNN vs an RNNCell stepped by hand over the 8 rows: largest difference {gap:.1e}")

    results = {"unroll_max_diff": gap}
    print(f"{'cell':5s} {'weights':>8s} {'train loss':>11s} {'test acc':>9s} {'seconds':>8s}")
    for cell in args.cells:
        model = SequenceClassifier(cell, 8, args.hidden, 10, rng=np.random.default_rng(args.seed))
        trainer = Trainer(model, cr.F.cross_entropy, optim.Adam(model.parameters(), lr=args.lr),
                          metrics=["accuracy"])
        start = time.perf_counter()
        history = trainer.fit((x_train, y_train), epochs=args.epochs,
                              batch_size=args.batch_size, rng=args.seed, verbose=0)
        seconds = time.perf_counter() - start
        test_acc = trainer.evaluate((x_test, y_test))["accuracy"]
        weights = model.rnn.num_parameters()
        results[cell] = {"test_accuracy": test_acc, "train_loss": history["loss"][-1],
                         "recurrent_weights": weights, "seconds": seconds}
        print(f"{cell:5s} {weights:8d} {history['loss'][-1]:11.4f} {test_acc:9.4f} "
              f"{seconds:8.1f}")
    return results


if __name__ == "__main__":
    main()
