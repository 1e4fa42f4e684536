"""Against overfitting: weight decay, dropout, early stopping and model averaging, side by side.

A 64-256-256-10 ReLU network has far more weights (about 85,000) than a small training set of
digits has examples (100 by default, 10 per class), so plain training fits the training set
perfectly and generalizes less well. Each remedy below is trained from the same initial weights on
the same data, and all are compared by their accuracy on the 359 test images (averaged over a few
training subsets and initializations, since one test image is worth 0.28%):

* weight decay: an L2 penalty ``lambda/2 |w|^2`` on the parameters, i.e. ``weight_decay=lambda``
  in ``optim.SGD`` (it adds ``lambda w`` to every gradient);
* dropout: ``nn.Dropout`` after each hidden layer (``MLP(..., dropout=p)``); ``model.eval()``
  switches it off for testing;
* early stopping: ``train.EarlyStopping`` watches the loss on a validation set (split off the
  training data, never the test set) and restores the weights of its best epoch;
* model averaging of the weights along one run: an exponential moving average
  (``optim.EMA``, updated after every step) and stochastic weight averaging
  (``optim.AveragedModel``, an equal-weight mean of the weights after each epoch of the second
  half of training);
* model averaging of predictions: an ensemble of networks from different initial weights whose
  predicted class probabilities are averaged.

    python examples/regularization.py --train-size 100 --epochs 150 --seeds 3
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr
from chainrule import optim
from chainrule.data.datasets import digits
from chainrule.models import MLP
from chainrule.train import Callback, EarlyStopping, Trainer, accuracy


def small_split(train_size: int, val_size: int, seed: int):
    """``train_size`` training images (equally many per class), a validation set, the test set."""
    (x, y), test = digits(seed=seed)
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(y == c)) for c in range(10)]
    k = train_size // 10
    train = np.concatenate([idx[:k] for idx in per_class])
    rest = rng.permutation(np.concatenate([idx[k:] for idx in per_class]))
    return (x[train], y[train]), (x[rest[:val_size]], y[rest[:val_size]]), test


class UpdateEMA(Callback):
    """Blend the weights into an exponential moving average after every optimizer step."""

    def __init__(self, ema):
        self.ema = ema

    def on_batch_end(self, batch, logs=None):
        self.ema.update()


class UpdateSWA(Callback):
    """Add the weights to an equal-weight average at the end of each epoch from ``start`` on."""

    def __init__(self, averaged, start: int):
        self.averaged, self.start = averaged, start

    def on_epoch_end(self, epoch, logs=None):
        if epoch >= self.start:
            self.averaged.update_parameters(self.trainer.model)


def probabilities(model, x):
    """Softmax outputs of ``model`` in eval mode (dropout off), as a NumPy array."""
    logits = Trainer(model, "cross_entropy", None).predict(x, batch_size=512)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def train_one(args, data, *, seed, weight_decay=0.0, dropout=0.0, early_stopping=False,
              averaging=None) -> dict:
    """Train one network; returns its training and test accuracy (and the epochs it ran)."""
    (train, val, test) = data
    model = MLP((64, args.hidden, args.hidden, 10), dropout=dropout,
                rng=np.random.default_rng(seed))
    opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=weight_decay)
    callbacks, evaluated = [], model
    if early_stopping:
        callbacks.append(EarlyStopping(monitor="val_loss", patience=args.patience))
    if averaging == "ema":
        ema = optim.EMA(model, decay=args.ema_decay)
        callbacks.append(UpdateEMA(ema))
    if averaging == "swa":
        swa = optim.AveragedModel(model)
        callbacks.append(UpdateSWA(swa, start=args.epochs // 2))
        evaluated = swa.module
    trainer = Trainer(model, cr.F.cross_entropy, opt, callbacks=callbacks)
    history = trainer.fit(train, val if early_stopping else None, epochs=args.epochs,
                          batch_size=args.batch_size, rng=seed, verbose=0)
    if averaging == "ema":
        ema.copy_to()  # evaluate the averaged weights
    return {
        "train_accuracy": accuracy(train[1], probabilities(evaluated, train[0])),
        "test_accuracy": accuracy(test[1], probabilities(evaluated, test[0])),
        "epochs": len(history),
        "model": evaluated,
    }


def ensemble_accuracy(members, data) -> tuple[float, float]:
    """Training and test accuracy of the averaged class probabilities of several networks."""
    (train, _, test) = data
    return tuple(accuracy(y, np.mean([probabilities(m, x) for m in members], axis=0))
                 for x, y in (train, test))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=100,
                        help="training images, equally many per class")
    parser.add_argument("--val-size", type=int, default=200, help="validation images")
    parser.add_argument("--hidden", type=int, default=256, help="units per hidden layer")
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (momentum 0.9)")
    parser.add_argument("--weight-decay", type=float, default=1e-3)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--patience", type=int, default=10, help="EarlyStopping patience")
    parser.add_argument("--ema-decay", type=float, default=0.99)
    parser.add_argument("--ensemble", type=int, default=4, help="networks in the ensemble")
    parser.add_argument("--seeds", type=int, default=3,
                        help="repeat everything with this many training subsets and initial "
                             "weights, and report the mean")
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    args = parser.parse_args(argv)
    if args.train_size < 10:
        parser.error("--train-size must be at least 10 (one image per class)")
    for name in ("val_size", "hidden", "epochs", "batch_size", "ensemble", "patience", "seeds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    runs = {
        "none": {},
        f"weight decay {args.weight_decay:g}": {"weight_decay": args.weight_decay},
        f"dropout {args.dropout:g}": {"dropout": args.dropout},
        "early stopping": {"early_stopping": True},
        "weight average (EMA)": {"averaging": "ema"},
        "weight average (SWA)": {"averaging": "swa"},
        "dropout + weight decay": {"dropout": args.dropout, "weight_decay": args.weight_decay},
    }
    ensemble_name = f"ensemble of {args.ensemble}"
    rows: dict = {name: [] for name in [*runs, ensemble_name]}
    for seed in range(args.seed, args.seed + args.seeds):
        data = small_split(args.train_size, args.val_size, seed)
        for name, options in runs.items():
            result = train_one(args, data, seed=seed, **options)
            rows[name].append(result)
        # Different initial weights (seeds) on the same data; the first is the "none" network.
        members = [rows["none"][-1]["model"]] + [
            train_one(args, data, seed=1000 * (i + 1) + seed)["model"]
            for i in range(args.ensemble - 1)]
        train_acc, test_acc = ensemble_accuracy(members, data)
        rows[ensemble_name].append({"train_accuracy": train_acc, "test_accuracy": test_acc,
                                    "epochs": args.epochs})
    print(f"digits: {len(data[0][0])} training, {len(data[1][0])} validation, "
          f"{len(data[2][0])} test images; {args.epochs} epochs of SGD (lr {args.lr}, "
          f"momentum 0.9, batch {args.batch_size}); mean of {args.seeds} seed(s)")
    print(f"{'regularization':26s} {'train acc':>9s} {'test acc':>9s} {'(min - max)':>15s} "
          f"{'epochs':>7s}")
    table = {}
    for name, results in rows.items():
        tests = [r["test_accuracy"] for r in results]
        table[name] = {
            "train_accuracy": float(np.mean([r["train_accuracy"] for r in results])),
            "test_accuracy": float(np.mean(tests)),
            "test_accuracies": tests,
            "epochs": float(np.mean([r["epochs"] for r in results])),
        }
        r = table[name]
        print(f"{name:26s} {r['train_accuracy']:9.4f} {r['test_accuracy']:9.4f} "
              f"{min(tests):7.4f}-{max(tests):.4f} {r['epochs']:7.1f}")
    return table


if __name__ == "__main__":
    main()
