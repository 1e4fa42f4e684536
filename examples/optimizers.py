"""Optimizers compared: SGD, momentum, Nesterov, Adam, RMSprop, Adagrad and a step schedule.

Every optimizer trains the same 64-64-10 ReLU network on the 8x8 digits from the same initial
weights, over the same minibatches in the same order; only the update rule differs. The training
loss and test accuracy after each epoch are recorded (and drawn into a PNG when matplotlib is
installed). The last run is SGD with momentum whose learning rate is halved every 3 epochs by
``optim.StepLR(opt, step_size=3, gamma=0.5)``, stepped once per epoch by the Trainer.

    python examples/optimizers.py --epochs 12 --plot runs/optimizers.png
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr
from chainrule import optim
from chainrule.data.datasets import digits
from chainrule.models import MLP
from chainrule.train import Callback, Trainer

# name -> (optimizer class, its settings, whether to halve the learning rate every 3 epochs)
RUNS = {
    "SGD": (optim.SGD, {"lr": 0.05}, False),
    "SGD + momentum": (optim.SGD, {"lr": 0.05, "momentum": 0.9}, False),
    "Nesterov": (optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}, False),
    "Adam": (optim.Adam, {"lr": 1e-3}, False),
    "RMSprop": (optim.RMSprop, {"lr": 1e-3}, False),
    "Adagrad": (optim.Adagrad, {"lr": 1e-2}, False),
    "SGD + momentum, StepLR": (optim.SGD, {"lr": 0.05, "momentum": 0.9}, True),
}


class RecordLR(Callback):
    """Remember the learning rate each epoch was trained with."""

    def __init__(self):
        self.lrs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.lrs.append(self.trainer.optimizer.param_groups[0]["lr"])


def plot_curves(curves: dict, path: str) -> str | None:
    """Training loss and test accuracy per epoch, one line per optimizer (None: no matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from chainrule.viz import save_figure

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name, c in curves.items():
        epochs = np.arange(1, len(c["loss"]) + 1)
        style = "--" if "StepLR" in name else "-"
        left.plot(epochs, c["loss"], style, marker="o", markersize=3, label=name)
        right.plot(epochs, c["test_accuracy"], style, marker="o", markersize=3, label=name)
    left.set(xlabel="epoch", ylabel="training loss (cross-entropy)", yscale="log")
    right.set(xlabel="epoch", ylabel="test accuracy")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    right.legend(fontsize=8)
    fig.suptitle("optimizers on the 8x8 digits, 64-64-10 MLP, batch 32")
    return save_figure(fig, path)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS),
                        metavar="NAME", help=f"which runs (default all): {', '.join(RUNS)}")
    parser.add_argument("--train-size", type=int, default=None,
                        help="use only this many training images (for a quick run)")
    parser.add_argument("--plot", default="runs/optimizers.png",
                        help="PNG to write ('' for none)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "hidden"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    (x_train, y_train), test = digits(seed=args.seed)
    if args.train_size is not None:
        x_train, y_train = x_train[: args.train_size], y_train[: args.train_size]

    curves = {}
    print(f"{'optimizer':24s} {'final loss':>10s} {'test acc':>9s}   learning rates")
    for name in args.runs:
        cls, settings, halve = RUNS[name]
        model = MLP((64, args.hidden, 10), rng=np.random.default_rng(args.seed))
        opt = cls(model.parameters(), **settings)
        record = RecordLR()
        trainer = Trainer(model, cr.F.cross_entropy, opt, metrics=["accuracy"],
                          callbacks=[record],
                          scheduler=optim.StepLR(opt, step_size=3, gamma=0.5) if halve else None)
        history = trainer.fit((x_train, y_train), test, epochs=args.epochs,
                              batch_size=args.batch_size, rng=args.seed, verbose=0)
        curves[name] = {"loss": history["loss"], "test_accuracy": history["val_accuracy"],
                        "lr": record.lrs}
        lrs = sorted(set(record.lrs), reverse=True)
        shown = ", ".join(f"{lr:g}" for lr in lrs[:4]) + (", ..." if len(lrs) > 4 else "")
        print(f"{name:24s} {history['loss'][-1]:10.4f} {history['val_accuracy'][-1]:9.4f}   "
              f"{shown}")
    result = {"curves": curves, "plot": plot_curves(curves, args.plot) if args.plot else None}
    if result["plot"]:
        print(f"curves drawn in {result['plot']}")
    return result


if __name__ == "__main__":
    main()
