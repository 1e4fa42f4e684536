"""Training a multi-layer perceptron on the 8x8 digits with the Trainer, end to end.

Four parts, each a lecture topic:

1. Trainer, metrics and callbacks. A 64-64-10 ReLU network is trained with SGD + momentum while
   ``EarlyStopping`` watches the validation loss (a validation set split off the training set; the
   test set is only used at the end), ``ModelCheckpoint`` keeps the best weights and a resumable
   last state, and ``CSVLogger`` writes one row per epoch. The best weights are then rebuilt from
   their file alone (the architecture config rides in the file), and a new Trainer resumes the run
   from the checkpoint folder for a few more epochs.
2. Input normalization: the same network and learning rate on 8-bit pixels 0..255, on inputs
   scaled to [0, 1] (``transforms.scale``) and on standardized inputs (zero mean, unit variance).
3. Output coding: one output unit per class, trained with softmax + cross-entropy on the labels and
   with squared error on one-hot targets (``transforms.one_hot``).
4. Full-batch, minibatch and stochastic (batch size 1) gradient descent: same epochs, same
   learning rate, very different numbers of weight updates.

    python examples/train_digits_mlp.py --epochs 60 --compare-epochs 10 --out runs/digits_mlp
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import optim
from chainrule.data import transforms
from chainrule.data.datasets import digits
from chainrule.io import load_weights, read_config
from chainrule.models import build, build_from_config
from chainrule.train import CSVLogger, EarlyStopping, ModelCheckpoint, Trainer, accuracy


def load_data(train_size: int | None, seed: int, val_fraction: float = 0.2):
    """Digits (N, 8, 8) in [0, 1]: a training set, a validation set split off it, a test set."""
    (x, y), test = digits(seed=seed)
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = int(round(val_fraction * (len(x) if train_size is None else train_size)))
    val, train = order[:n_val], order[n_val:]
    if train_size is not None:
        train = train[:train_size]
    return (x[train], y[train]), (x[val], y[val]), test


def mlp(hidden: int, seed: int, activation: str = "relu"):
    """A 64-hidden-10 network from the model registry (it remembers its config for checkpoints)."""
    return build("mlp", sizes=[64, hidden, 10], activation=activation,
                 rng=np.random.default_rng(seed))


def part_callbacks(args, train, val, test) -> dict:
    """Train with EarlyStopping, two ModelCheckpoints and a CSVLogger; reload; resume."""
    out = Path(args.out)
    model = mlp(args.hidden, args.seed)
    early = EarlyStopping(monitor="val_loss", patience=args.patience)
    trainer = Trainer(
        model, cr.F.cross_entropy, optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        metrics=["accuracy", "top_2_accuracy"],
        callbacks=[
            early,
            ModelCheckpoint(out / "best", monitor="val_accuracy", config=model.config),
            ModelCheckpoint(out / "last", save_best_only=False, config=model.config),
            CSVLogger(out / "log.csv"),
        ],
    )
    history = trainer.fit(train, val, epochs=args.epochs, batch_size=32, rng=args.seed,
                          verbose=args.verbose)
    # EarlyStopping restored the weights of the epoch with the lowest validation loss.
    test_scores = trainer.evaluate(test)
    test_acc = test_scores["accuracy"]

    # The best-accuracy weights, rebuilt from the file alone: config -> model, then weights.
    best_file = out / "best" / "best.safetensors"
    best = build_from_config(read_config(best_file))
    load_weights(best, best_file)
    best_acc = Trainer(best, "cross_entropy", None, metrics=["accuracy"]).evaluate(test)["accuracy"]

    # Resume: a fresh model and optimizer continue the run saved in out/last, with its data and
    # seed (a resume with others is refused); without EarlyStopping, to train on past its stop.
    model2 = mlp(args.hidden, args.seed + 1)
    resumed = Trainer(model2, cr.F.cross_entropy,
                      optim.SGD(model2.parameters(), lr=0.05, momentum=0.9),
                      metrics=["accuracy"], callbacks=[CSVLogger(out / "log.csv", append=True)])
    last_epoch = history.epoch[-1]
    resumed.fit(train, val, epochs=last_epoch + 1 + args.extra_epochs, batch_size=32,
                rng=args.seed, resume_from=out / "last", verbose=args.verbose)
    csv_rows = len((out / "log.csv").read_text().splitlines()) - 1
    result = {
        "epochs_run": len(history),
        "stopped_early": early.stopped_epoch is not None,
        "best_val_loss_epoch": early.best_epoch,
        "test_accuracy": test_acc,
        "test_top_2_accuracy": test_scores["top_2_accuracy"],
        "best_val_accuracy_checkpoint_test_accuracy": best_acc,
        "resumed_epochs": len(resumed.history),
        "resumed_test_accuracy": resumed.evaluate(test)["accuracy"],
        "csv_rows": csv_rows,
    }
    print(f"1. callbacks: {result['epochs_run']} epochs"
          f"{' (stopped early)' if result['stopped_early'] else ''}, lowest validation loss "
          f"at epoch {early.best_epoch}")
    print(f"   test accuracy {test_acc:.4f} (top-2 {result['test_top_2_accuracy']:.4f}) with the "
          f"restored best-val-loss weights, {best_acc:.4f} with the best-val-accuracy checkpoint")
    print(f"   resumed from {out / 'last'} to {result['resumed_epochs']} epochs: test accuracy "
          f"{result['resumed_test_accuracy']:.4f}; {csv_rows} rows in {out / 'log.csv'}")
    return result


def fit_and_test(model, loss, opt, train, test, *, epochs, batch_size, seed,
                 metric="accuracy") -> tuple[float, float, float]:
    """Train, then return (final training loss, test accuracy, seconds)."""
    trainer = Trainer(model, loss, opt, metrics=[metric])
    start = time.perf_counter()
    history = trainer.fit(train, epochs=epochs, batch_size=batch_size, rng=seed, verbose=0)
    seconds = time.perf_counter() - start
    return history["loss"][-1], trainer.evaluate(test)["accuracy"], seconds


def squared_error(y, t):
    """The lecture's R = 1/2 sum_k (y_k - t_k)^2 per example, averaged over the batch."""
    return 0.5 * ((y - t) ** 2).sum(axis=1).mean()


def part_normalization(args, train, test) -> dict:
    """The same sigmoid net and learning rate on 8-bit pixels 0..255, on [0, 1] and standardized.

    With a step size that suits inputs in [0, 1], inputs of size 255 drive the sigmoid units into
    saturation, where their gradient vanishes; standardizing (zero mean, unit variance) also centres
    the inputs, which helps gradient descent further.
    """
    raw_train = np.rint(train[0] * 255).astype(np.uint8)  # as an 8-bit image file stores them
    raw_test = np.rint(test[0] * 255).astype(np.uint8)
    std_train, mean, std = transforms.standardize(raw_train)
    inputs = {
        "raw pixels 0..255": (raw_train.astype(np.float32), raw_test.astype(np.float32)),
        "scaled to [0, 1]": (transforms.scale(raw_train), transforms.scale(raw_test)),
        "standardized": (std_train, transforms.standardize(raw_test, mean, std)[0]),
    }
    result = {}
    print("2. input normalization (sigmoid hidden units, SGD lr 0.5, batch 32):")
    for name, (xtr, xte) in inputs.items():
        model = mlp(args.hidden, args.seed, activation="sigmoid")
        loss, acc, _ = fit_and_test(model, cr.F.cross_entropy,
                                    optim.SGD(model.parameters(), lr=0.5), (xtr, train[1]),
                                    (xte, test[1]), epochs=args.compare_epochs, batch_size=32,
                                    seed=args.seed)
        result[name] = {"train_loss": loss, "test_accuracy": acc}
        print(f"   {name:18s} training loss {loss:.4f}  test accuracy {acc:.4f}")
    return result


def part_output_coding(args, train, test) -> dict:
    """One output unit per class: cross-entropy on labels vs squared error on one-hot targets."""
    # The metric sees one-hot targets here: compare their argmax with the largest output.
    onehot_acc = ("accuracy", lambda t, y: accuracy(t.argmax(axis=-1), y))
    runs = {
        "softmax + cross-entropy": (cr.F.cross_entropy, train, test, "accuracy"),
        "linear + squared error": (squared_error, (train[0], transforms.one_hot(train[1], 10)),
                                   (test[0], transforms.one_hot(test[1], 10)), onehot_acc),
    }
    result = {}
    print("3. output coding (10 output units, one per class; SGD lr 0.1, batch 32):")
    for name, (loss_fn, tr, te, metric) in runs.items():
        model = mlp(args.hidden, args.seed)
        loss, acc, _ = fit_and_test(model, loss_fn, optim.SGD(model.parameters(), lr=0.1), tr, te,
                                    epochs=args.compare_epochs, batch_size=32, seed=args.seed,
                                    metric=metric)
        result[name] = {"train_loss": loss, "test_accuracy": acc}
        print(f"   {name:24s} training loss {loss:.4f}  test accuracy {acc:.4f}")
    return result


def part_batch_modes(args, train, test) -> dict:
    """Full batch (one update per epoch), minibatches of 32, and single examples (batch size 1)."""
    result = {}
    print(f"4. gradient descent modes ({args.compare_epochs} epochs, SGD lr {args.batch_lr}):")
    for name, batch_size in (("full batch", None), ("minibatch 32", 32), ("stochastic", 1)):
        model = mlp(args.hidden, args.seed)
        loss, acc, seconds = fit_and_test(
            model, cr.F.cross_entropy, optim.SGD(model.parameters(), lr=args.batch_lr), train,
            test, epochs=args.compare_epochs, batch_size=batch_size, seed=args.seed)
        steps = -(-len(train[0]) // (batch_size or len(train[0])))
        result[name] = {"updates": steps * args.compare_epochs, "train_loss": loss,
                        "test_accuracy": acc, "seconds": seconds}
        print(f"   {name:13s} {steps * args.compare_epochs:6d} updates  training loss {loss:.4f}  "
              f"test accuracy {acc:.4f}  ({seconds:.1f} s)")
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60, help="most epochs of part 1")
    parser.add_argument("--patience", type=int, default=5, help="EarlyStopping patience")
    parser.add_argument("--extra-epochs", type=int, default=3, help="epochs added on resume")
    parser.add_argument("--compare-epochs", type=int, default=10, help="epochs of parts 2-4")
    parser.add_argument("--batch-lr", type=float, default=0.05, help="learning rate of part 4")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--train-size", type=int, default=None,
                        help="use only this many training images (for a quick run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/train_digits_mlp", help="folder for checkpoints")
    parser.add_argument("--verbose", type=int, default=0, choices=[0, 1, 2])
    args = parser.parse_args(argv)
    for name in ("epochs", "compare_epochs", "hidden", "patience"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.train_size is not None and args.train_size < 10:
        parser.error("--train-size must be at least 10")
    train, val, test = load_data(args.train_size, args.seed)
    print(f"digits: {len(train[0])} training, {len(val[0])} validation, {len(test[0])} test images")
    return {
        "callbacks": part_callbacks(args, train, val, test),
        "normalization": part_normalization(args, train, test),
        "output_coding": part_output_coding(args, train, test),
        "batch_modes": part_batch_modes(args, train, test),
    }


if __name__ == "__main__":
    main()
